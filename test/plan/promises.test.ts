/**
 * The release's promises, each shown by the fault that broke it when it was only a guard beside a
 * feature: a hostile operator's templates, a half-built index, an older re-run, a failed candidate,
 * an unrelated commit. The generated histories in test/props/ try the same promises more widely.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PlanInputs } from "../../src/model/plan-inputs";
import type { ImageFacts } from "../../src/model/registry";
import { planImageInputs } from "../../src/plan/image-inputs";
import { releaseTargets } from "../../src/plan/targets";
import { digest, floatingTargets, plan, planInputs, REPOSITORY, readView } from "../support/plan-fixtures";

const q = (tag: string) => `${REPOSITORY}:${tag}`;
const labelsOf = (inputs: PlanInputs) =>
  planImageInputs(inputs.settings, releaseTargets(inputs).version, inputs.source).labels;

describe("promise 1: no tag that names a release is ever written with other bytes, whatever the templates", () => {
  it("a floating template that renders another version's exact tag is refused at config time, naming both", () =>
    assert.throws(
      () =>
        releaseTargets(
          planInputs({
            config: {
              "finsight:version": "1.3.5",
              "finsight:tags": JSON.stringify(["v{{version}}", "v{{major}}.{{minor}}.0", "latest"]),
            },
          }),
        ),
      {
        name: "ReleaseConfigError",
        message:
          /finsight:tags template "v\{\{major\}\}\.\{\{minor\}\}\.0" is a floating tag that renders v1\.3\.0, the exact tag of release 1\.3\.0 \(template "v\{\{version\}\}"\)/,
      },
    ));

  it("a literal template that names a version is refused the same way", () =>
    assert.throws(
      () =>
        releaseTargets(
          planInputs({
            config: { "finsight:version": "1.3.5", "finsight:tags": JSON.stringify(["v{{version}}", "v1.2.0"]) },
          }),
        ),
      { message: /template "v1\.2\.0" is a floating tag that renders v1\.2\.0, the exact tag of release 1\.2\.0/ },
    ));

  it("a prerelease never renders a stable version's tag: the rc would take v1.5.0 from the real 1.5.0", () =>
    assert.throws(
      () =>
        releaseTargets(
          planInputs({
            config: {
              "finsight:version": "1.5.0-rc.1",
              "finsight:tags": JSON.stringify(["v{{version}}", "v{{major}}.{{minor}}.{{patch}}"]),
            },
          }),
        ),
      {
        message:
          /template "v\{\{major\}\}\.\{\{minor\}\}\.\{\{patch\}\}" renders v1\.5\.0 for 1\.5\.0-rc\.1, the exact tag of release 1\.5\.0/,
      },
    ));
});

describe("promise 2: every digest that is served, pinned or floated holds every platform", () => {
  const complete = digest("20");
  const amd64Only = digest("21"); // v2.1.0 as a failed arm64 build left it
  const twoPlatforms = { "finsight:platforms": JSON.stringify(["linux/amd64", "linux/arm64"]) };
  const images: Record<string, ImageFacts> = {
    [complete]: { platforms: ["linux/amd64", "linux/arm64"] },
    [amd64Only]: { platforms: ["linux/amd64"] },
  };
  const registry = { "v2.0.0": complete, "v2.0": complete, v2: complete, latest: complete, "v2.1.0": amd64Only };

  it("a promotion of an index missing linux/arm64 is refused, naming the platform", () => {
    const inputs = planInputs({
      config: { ...twoPlatforms, "finsight:version": "2.1.0" },
      env: { FINSIGHT_PROMOTE_DIGEST: amd64Only },
    });
    assert.throws(() => plan(inputs, readView(registry, { releaseLabels: labelsOf(inputs), images })), {
      name: "ReleaseConfigError",
      message: new RegExp(`${q("v2.1.0")}@${amd64Only} lacks linux/arm64 \\(finsight:platforms\\)`),
    });
  });

  it("a pin of that release is refused too", () => {
    const inputs = planInputs({ config: { ...twoPlatforms, "finsight:pin": "2.1.0" } });
    assert.throws(() => plan(inputs, readView(registry, { images })), { message: /lacks linux\/arm64/ });
  });
});

describe("promise 3: what is served never goes to a lower version except by finsight:pin", () => {
  const v140 = digest("40");
  const v150 = digest("50");

  it("re-running 1.4.0 after 1.5.0 was promoted serves 1.5.0 still, and says so", () => {
    const inputs = planInputs({ github: true });
    const planned = plan(
      inputs,
      readView(
        { "v1.4.0": v140, "v1.4": v140, "v1.5.0": v150, "v1.5": v150, v1: v150, latest: v150 },
        { releaseLabels: labelsOf(inputs) },
      ),
    );
    assert.deepEqual(planned.served, { kind: "unchanged", ref: `${q("v1.5.0")}@${v150}`, version: "1.5.0" });
    assert.equal(planned.stackVersion, "1.5.0");
    assert.deepEqual(planned.github?.kept, ["FINSIGHT_BACKEND_IMAGE", "FINSIGHT_VERSION"]);
    assert.deepEqual(floatingTargets(planned), { "v1.4": v140, v1: v150, latest: v150 });
    assert.ok(
      planned.notes.some((note) => note.includes("1.5.0 stays served: latest holds it")),
      planned.notes.join("\n"),
    );
  });
});

describe("promise 4: only promoted releases count for the floating-tag rules", () => {
  it("a 1.5.0 candidate that failed its checks does not stop the 1.4.1 hotfix moving latest, v1 and v1.4", () => {
    const v140 = digest("40");
    const failed150 = digest("5a"); // pushed by a candidate run, never promoted
    const planned = plan(
      planInputs({ config: { "finsight:version": "1.4.1" } }),
      readView({ "v1.4.0": v140, "v1.4": v140, v1: v140, latest: v140, "v1.5.0": failed150 }),
    );
    assert.deepEqual(floatingTargets(planned), { "v1.4": "release", v1: "release", latest: "release" });
    assert.deepEqual(planned.served, { kind: "candidate" });
  });
});

describe("promise 5: same content, same release", () => {
  it("after an unrelated commit the same tree is served by digest, whatever the commit and its time", () => {
    const released = planInputs();
    const afterCommit = planInputs({
      source: { revision: "fedcba9876543210fedcba9876543210fedcba98", commitEpoch: 1800000000 },
    });
    const v140 = digest("40");
    const planned = plan(afterCommit, readView({ "v1.4.0": v140 }, { releaseLabels: labelsOf(released) }));
    assert.deepEqual(planned.candidate, { source: "registry", digest: v140 });
    assert.deepEqual(planned.builds, []);
  });

  it("content that differs (another tree) is still refused", () => {
    const released = planInputs();
    const otherTree = planInputs({ source: { tree: "0000000000000000000000000000000000000001" } });
    assert.throws(() => plan(otherTree, readView({ "v1.4.0": digest("40") }, { releaseLabels: labelsOf(released) })), {
      message: /is already released, built from other inputs: .*finsight\.release\.source-tree/,
    });
  });
});

describe("promise 3, as the generated histories pinned it down", () => {
  const v140 = digest("40");
  const v150 = digest("50");

  it("a prerelease is never served: latest stays on the promoted release, and so does the environment", () => {
    const inputs = planInputs({ github: true, config: { "finsight:version": "1.6.0-rc.1" } });
    const planned = plan(inputs, readView({ "v1.5.0": v150, "v1.5": v150, v1: v150, latest: v150 }));
    assert.deepEqual(planned.served, { kind: "unchanged", ref: `${q("v1.5.0")}@${v150}`, version: "1.5.0" });
    assert.deepEqual(planned.github?.kept, ["FINSIGHT_BACKEND_IMAGE", "FINSIGHT_VERSION"]);
  });

  it("without a floating tag of every release, a version below the highest leaves what is served as it is", () => {
    // ["v{{version}}", "v{{major}}"]: v1 shows the 1.x line only, not what users run (2.0.0 may be served).
    const inputs = planInputs({
      config: { "finsight:version": "1.4.1", "finsight:tags": JSON.stringify(["v{{version}}", "v{{major}}"]) },
    });
    const planned = plan(inputs, readView({ "v1.4.0": v140, v1: v140, "v2.0.0": digest("20"), v2: digest("20") }));
    assert.deepEqual(floatingTargets(planned), { v1: "release" });
    assert.deepEqual(planned.served, { kind: "unchanged" });
    assert.ok(planned.notes.some((note) => note.startsWith("what is served stays as it is")));
  });
});

describe("promise 1 at config time: the ugly template lists", () => {
  const targetsOf = (version: string, tags: string[]) =>
    releaseTargets(
      planInputs({
        config: { "finsight:version": version, "finsight:tags": JSON.stringify(tags) },
        env: { GITHUB_RUN_ID: "42" },
      }),
    );
  const accepted: [string, string[]][] = [
    ["1.4.0", ["v{{version}}", "v{{major}}.{{minor}}", "v{{major}}", "latest"]],
    ["1.4.0", ["v{{version}}", "sha-{{sha}}", "latest"]],
    ["1.4.0", ["{{major}}.{{minor}}.{{patch}}", "latest"]],
    ["1.5.0-rc.1", ["v{{version}}", "v{{major}}.{{minor}}", "latest"]],
    ["1.4.0+build.7", ["v{{version}}", "latest"]],
  ];
  for (const [version, tags] of accepted) {
    it(`accepted: ${version} with ${tags.join(", ")}`, () => assert.doesNotThrow(() => targetsOf(version, tags)));
  }
  const refused: [string, string[], RegExp][] = [
    [
      "1.4.0",
      ["v{{version}}", "v{{patch}}"],
      /template "v\{\{patch\}\}" renders v0 for 1\.4\.0, an exact tag of template "v\{\{patch\}\}", which does not name one release/,
    ],
    [
      "1.4.0+build.7",
      ["{{major}}.{{minor}}.{{patch}}"],
      /renders 1\.4\.0 for 1\.4\.0\+build\.7, the exact tag of release 1\.4\.0/,
    ],
    [
      "1.4.0",
      ["v{{version}}", "v{{major}}.{{minor}}.{{patch}}-latest", "v1.4.0"],
      /template "v1\.4\.0" is a floating tag that renders v1\.4\.0, the exact tag of release 1\.4\.0/,
    ],
    [
      "1.4.0",
      ["v{{version}}", "run-{{runId}}", "run-7"],
      /template "run-7" is a floating tag that renders run-7, the exact tag of another build/,
    ],
  ];
  for (const [version, tags, message] of refused) {
    it(`refused: ${version} with ${tags.join(", ")}`, () =>
      assert.throws(() => targetsOf(version, tags), { name: "ReleaseConfigError", message }));
  }
});
