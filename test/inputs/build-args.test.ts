import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PLAN_BUILD_ARGS, parseBuildArgs } from "../../src/inputs/build-args";
import { parseSettings } from "../../src/inputs/settings";
import { ReleaseConfigError } from "../../src/model/errors";
import { planImageInputs } from "../../src/plan/image-inputs";
import { BUILD_INPUTS_LABEL } from "../../src/plan/release-guards";
import { resolveVersion } from "../../src/plan/version";
import { CLEAN_SOURCE, settingsOf, stackConfig } from "../support/plan-fixtures";

function problemsOf(text: string): readonly string[] {
  try {
    parseBuildArgs(text);
  } catch (error) {
    assert.ok(error instanceof ReleaseConfigError, `a ReleaseConfigError, got ${error}`);
    return error.problems;
  }
  assert.fail(`expected ${text} to be refused`);
}

describe("finsight:buildArgs: accepted", () => {
  const cases: { name: string; text: string | undefined; expected: Record<string, string> }[] = [
    { name: "unset", text: undefined, expected: {} },
    { name: "empty text", text: "", expected: {} },
    { name: "an empty map", text: "{}", expected: {} },
    {
      name: "the stand-in's offline base",
      text: '{"BASE_IMAGE":"localhost:5000/finsight-offline-base"}',
      expected: { BASE_IMAGE: "localhost:5000/finsight-offline-base" },
    },
    {
      name: "several, sorted by name; an empty value is a value",
      text: '{"PIP_INDEX_URL":"https://pypi.example/simple","APP_FLAVOUR":""}',
      expected: { APP_FLAVOUR: "", PIP_INDEX_URL: "https://pypi.example/simple" },
    },
    { name: "lower case and _ names", text: '{"_pip_extra":"x"}', expected: { _pip_extra: "x" } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(parseBuildArgs(c.text), c.expected));

  it("keeps the order stable: names sorted whatever the stack file's order", () => {
    assert.deepEqual(Object.keys(parseBuildArgs('{"B":"1","A":"2"}')), ["A", "B"]);
  });
});

describe("finsight:buildArgs: refused, every entry named", () => {
  const cases: { name: string; text: string; problems: RegExp[] }[] = [
    { name: "a list", text: '["BASE_IMAGE=x"]', problems: [/^finsight:buildArgs must be a map of build arg names/] },
    { name: "plain text", text: "BASE_IMAGE=x", problems: [/^finsight:buildArgs must be a map .*got "BASE_IMAGE=x"$/] },
    {
      name: "a name the plan sets (the variant's USE_LIGHT)",
      text: '{"USE_LIGHT":"1"}',
      problems: [/^finsight:buildArgs\.USE_LIGHT must be a name the release does not set itself .*got "USE_LIGHT"$/],
    },
    {
      name: "SOURCE_DATE_EPOCH, which the plan takes from the commit",
      text: '{"SOURCE_DATE_EPOCH":"0"}',
      problems: [/^finsight:buildArgs\.SOURCE_DATE_EPOCH must be a name the release does not set itself/],
    },
    {
      name: "a platform arg BuildKit sets",
      text: '{"TARGETARCH":"arm64"}',
      problems: [/^finsight:buildArgs\.TARGETARCH must be a name BuildKit does not set itself/],
    },
    {
      name: "a BUILDKIT_ switch",
      text: '{"BUILDKIT_SYNTAX":"docker/dockerfile:1"}',
      problems: [/^finsight:buildArgs\.BUILDKIT_SYNTAX must be a name outside BUILDKIT_\*/],
    },
    {
      name: "a proxy (machine-specific, it would change the label per machine)",
      text: '{"https_proxy":"http://proxy:3128"}',
      problems: [/^finsight:buildArgs\.https_proxy must be a name other than a proxy variable/],
    },
    {
      name: "a credential-looking name, its value not shown",
      text: '{"NPM_TOKEN":"npm_s3cr3t-value"}',
      problems: [/^finsight:buildArgs\.NPM_TOKEN must be a name that is not a credential: .*got "NPM_TOKEN"$/],
    },
    {
      name: "a name with a dash, and one starting with a digit",
      text: '{"BASE-IMAGE":"x","1ST":"y"}',
      problems: [
        /^finsight:buildArgs\.1ST must be a build arg name/,
        /^finsight:buildArgs\.BASE-IMAGE must be a build arg name/,
      ],
    },
    {
      name: "a number and a boolean (YAML without quotes)",
      text: '{"PY_VERSION":3.12,"DEBUG":true}',
      problems: [
        /^finsight:buildArgs\.DEBUG must be a string .*got true$/,
        /^finsight:buildArgs\.PY_VERSION must be a string .*got 3\.12$/,
      ],
    },
    {
      name: "a value over two lines",
      text: '{"BASE_IMAGE":"busybox\\nRUN rm -rf /"}',
      problems: [/^finsight:buildArgs\.BASE_IMAGE must be one line of text without control characters/],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const problems = problemsOf(c.text);
      assert.equal(problems.length, c.problems.length, problems.join("\n"));
      for (const [index, problem] of c.problems.entries()) assert.match(problems[index], problem);
      assert.doesNotMatch(problems.join("\n"), /s3cr3t/);
    });
  }

  it("is reported with the run's other problems", () => {
    assert.throws(
      () =>
        parseSettings(
          stackConfig("prod", { "finsight:buildArgs": '{"SKIP_ML":"0"}', "finsight:variant": "ful" }),
          "prod",
        ),
      (error: unknown) =>
        error instanceof ReleaseConfigError &&
        error.problems.length === 2 &&
        error.problems.some((line) => line.startsWith("finsight:variant")) &&
        error.problems.some((line) => line.startsWith("finsight:buildArgs.SKIP_ML")),
    );
  });
});

describe("finsight:buildArgs in the image's inputs", () => {
  const v140 = resolveVersion({ configured: { text: "1.4.0", from: "config" }, env: {} });
  const imageOf = (buildArgs?: string) =>
    planImageInputs(
      settingsOf("prod", buildArgs === undefined ? {} : { "finsight:buildArgs": buildArgs }),
      v140,
      CLEAN_SOURCE,
    );

  it("adds to the variant's build args, after them", () => {
    assert.deepEqual(imageOf('{"BASE_IMAGE":"finsight-offline-base"}').buildArgs, {
      USE_LIGHT: "0",
      SOURCE_DATE_EPOCH: "1700000000",
      BASE_IMAGE: "finsight-offline-base",
    });
  });

  it("changes the build-inputs label with its value; none (or an empty map) leaves the label as it was", () => {
    const label = (text?: string) => imageOf(text).labels[BUILD_INPUTS_LABEL];
    assert.equal(label("{}"), label());
    assert.notEqual(label('{"BASE_IMAGE":"a"}'), label());
    assert.notEqual(label('{"BASE_IMAGE":"a"}'), label('{"BASE_IMAGE":"b"}'));
  });

  it("the names the plan reserves are exactly the ones it sets for some variant", () => {
    const set = new Set<string>();
    for (const stack of ["prod", "demo"] as const) {
      for (const name of Object.keys(planImageInputs(settingsOf(stack), v140, CLEAN_SOURCE).buildArgs)) set.add(name);
    }
    assert.deepEqual([...set].sort(), [...PLAN_BUILD_ARGS].sort());
  });
});
