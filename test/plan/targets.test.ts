import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ReleaseConfigError } from "../../src/model/errors";
import { releaseTargets } from "../../src/plan/targets";
import type { VersionSource } from "../../src/plan/version";
import { type InputsOptions, planInputs } from "../support/plan-fixtures";

/** The one ReleaseConfigError a call throws. */
function refusal(call: () => unknown): ReleaseConfigError {
  try {
    call();
  } catch (error) {
    assert.ok(error instanceof ReleaseConfigError, `a ReleaseConfigError, got ${error}`);
    return error;
  }
  assert.fail("expected a ReleaseConfigError");
}

describe("releaseTargets: the version and where it came from", () => {
  const cases: { name: string; options: InputsOptions; text: string; source: VersionSource }[] = [
    { name: "finsight:version", options: {}, text: "1.4.0", source: "config" },
    {
      name: "--version wins over finsight:version",
      options: { versionFlag: "v2.0.0-rc.1" },
      text: "2.0.0-rc.1",
      source: "--version",
    },
    {
      name: "RELEASE_VERSION when no config",
      options: { config: { "finsight:version": undefined }, env: { RELEASE_VERSION: "1.6.0" } },
      text: "1.6.0",
      source: "RELEASE_VERSION",
    },
    {
      name: "the VERSION file last",
      options: {
        config: { "finsight:version": undefined },
        source: { versionFile: { path: "finsight/VERSION", content: "1.7.0\n" } },
      },
      text: "1.7.0",
      source: "VERSION file",
    },
    {
      name: "a pin with no version anywhere stands in for it",
      options: { config: { "finsight:version": undefined, "finsight:pin": "v1.3.2" } },
      text: "1.3.2",
      source: "pin",
    },
    {
      name: "a rollback's version is the pin's, whatever the stack's version says (nothing is built)",
      options: { config: { "finsight:pin": "1.3.2" } },
      text: "1.3.2",
      source: "pin",
    },
    {
      name: "a rollback's version is the pin's, whatever RELEASE_VERSION says",
      options: {
        config: { "finsight:pin": "1.3.2", "finsight:version": undefined },
        env: { RELEASE_VERSION: "1.4.0" },
      },
      text: "1.3.2",
      source: "pin",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { version } = releaseTargets(planInputs(c.options));
      assert.deepEqual([version.text, version.source], [c.text, c.source]);
    });
  }

  it("a bad --version is blamed on --version, not on finsight:version", () =>
    assert.throws(() => releaseTargets(planInputs({ versionFlag: "2.0" })), {
      name: "ReleaseConfigError",
      message: /^--version must be a semantic version such as 1\.4\.0, v1\.4\.0 or 1\.5\.0-rc\.1, got "2\.0"$/,
    }));
});

describe("releaseTargets: tags and pin", () => {
  it("the pin carries its own tag and the floating tags of its lines", () => {
    const { pin, tags } = releaseTargets(planInputs({ config: { "finsight:pin": "1.3.2" } }));
    assert.deepEqual(pin && { version: pin.version, tag: pin.tag, floating: pin.tags.floating }, {
      version: "1.3.2",
      tag: "v1.3.2",
      floating: ["v1.3", "v1", "latest"],
    });
    assert.deepEqual(tags.exact, ["v1.3.2"], "a rollback's tags are the pin's, not the checkout's");
  });

  it("demo: its own version template and tags", () => {
    const targets = releaseTargets(planInputs({ stack: "demo" }));
    assert.deepEqual(
      [targets.versionTemplate?.text, targets.tags.exact, targets.tags.floating],
      ["demo-v{{version}}", ["demo-v1.4.0"], ["demo"]],
    );
  });

  const collisions: { name: string; templates: string[]; problems: RegExp[] }[] = [
    {
      name: "a floating template naming the build cache",
      templates: ["v{{version}}", "buildcache-full"],
      problems: [
        /^finsight:tags must be templates whose tags do not start with buildcache- \(the registry build cache's tags\); one yields "buildcache-full", got "buildcache-full"$/,
      ],
    },
    {
      name: "a template naming a per-platform build",
      templates: ["v{{version}}-linux-arm64", "latest"],
      problems: [
        /^finsight:tags must be templates whose tags do not end in a platform \(-linux-arm64 names the per-platform build of a multi-platform release\); one yields "v1\.4\.0-linux-arm64"/,
      ],
    },
    {
      name: "both at once, each reported",
      templates: ["buildcache-v{{version}}", "v{{major}}-linux-amd64"],
      problems: [
        /do not start with buildcache- \(the registry build cache's tags\); one yields "buildcache-v1\.4\.0"/,
        /-linux-amd64 names the per-platform/,
      ],
    },
  ];
  for (const c of collisions) {
    it(`refuses tags the stack writes itself: ${c.name}`, () => {
      const error = refusal(() =>
        releaseTargets(planInputs({ config: { "finsight:tags": JSON.stringify(c.templates) } })),
      );
      assert.equal(error.problems.length, c.problems.length);
      for (const [index, problem] of c.problems.entries()) assert.match(error.problems[index], problem);
    });
  }

  const together: { name: string; config: Record<string, string>; problems: RegExp[] }[] = [
    {
      name: "a bad version and a bad template",
      config: { "finsight:version": "1.4", "finsight:tags": '["v{{version}}","v{{mayor}}"]' },
      problems: [/^finsight:tags must be templates using only/, /^finsight:version must be a semantic version/],
    },
    {
      name: "a bad version and a pin without a version template",
      config: { "finsight:version": "latest", "finsight:pin": "1.3.2", "finsight:tags": '["sha-{{sha}}"]' },
      problems: [
        /^finsight:pin needs a tag template that names the version alone \(such as v\{\{version\}\}\) in finsight:tags, got \["sha-\{\{sha\}\}"\]$/,
        /^finsight:version must be a semantic version .* got "latest"$/,
      ],
    },
  ];
  for (const c of together) {
    it(`reports every problem in one error: ${c.name}`, () => {
      const error = refusal(() => releaseTargets(planInputs({ config: c.config })));
      assert.equal(error.problems.length, c.problems.length, error.message);
      for (const problem of c.problems)
        assert.ok(
          error.problems.some((line) => problem.test(line)),
          `${problem}`,
        );
      assert.equal(error.message, error.problems.join("\n"));
    });
  }
});

describe("releaseTargets: what the registry is asked", () => {
  it("a pushing release: its exact tags asked whatever the list says, and the listed floating tags", () => {
    const { releaseTagFor, ...questions } = releaseTargets(planInputs()).questions ?? {};
    assert.deepEqual(questions, {
      releaseTag: "v1.4.0",
      exactTags: ["v1.4.0"],
      // latest first: it shows what is served, whatever this version gets.
      digestsOf: ["latest", "v1.4", "v1", "latest"],
      imagesOf: ["v1.4.0", "latest", "v1.4", "v1", "latest"],
    });
    assert.equal(releaseTagFor?.("1.3.2"), "v1.3.2", "an image's version label is confirmed by that version's own tag");
  });

  it("a prerelease moves no floating tag, yet asks where latest points: it shows what stays served", () => {
    const questions = releaseTargets(planInputs({ config: { "finsight:version": "1.5.0-rc.1" } })).questions;
    assert.deepEqual([questions?.digestsOf, questions?.imagesOf], [["latest"], ["v1.5.0-rc.1", "latest"]]);
  });

  it("several platforms: the per-platform tags are exact tags too", () => {
    const questions = releaseTargets(
      planInputs({ config: { "finsight:platforms": '["linux/amd64","linux/arm64"]' } }),
    ).questions;
    assert.deepEqual(questions?.exactTags, ["v1.4.0", "v1.4.0-linux-amd64", "v1.4.0-linux-arm64"]);
  });

  it("the release tag is the one naming the version alone, wherever its template stands", () => {
    const targets = releaseTargets(
      planInputs({ config: { "finsight:tags": '["sha-{{sha}}","v{{version}}","latest"]' } }),
    );
    assert.equal(targets.releaseTag, "v1.4.0");
    assert.equal(targets.questions?.exactTags?.[0], "v1.4.0");
  });

  it("a candidate run also reads the latest stable releases, to name the one users are on", () => {
    const questions = releaseTargets(planInputs({ env: { FINSIGHT_PHASE: "candidate" } })).questions;
    const listed = ["v1.0.0", "v1.1.0", "v1.2.0-rc.1", "v1.2.0", "v1.3.0", "v1.3.1", "v1.3.2", "v1.4.0", "latest"];
    assert.deepEqual(questions?.digestsAfterListing?.(listed), ["v1.1.0", "v1.2.0", "v1.3.0", "v1.3.1", "v1.3.2"]);
    assert.equal(releaseTargets(planInputs()).questions?.digestsAfterListing, undefined);
  });

  it("a pin adds its own tag and its floating tags", () => {
    const questions = releaseTargets(planInputs({ config: { "finsight:pin": "1.3.2" } })).questions;
    const { digestsAfterListing, releaseTagFor: _, ...asked } = questions ?? {};
    assert.deepEqual(asked, {
      releaseTag: "v1.3.2",
      exactTags: ["v1.3.2"],
      digestsOf: ["v1.3.2", "latest", "v1.3", "v1", "latest", "v1.3", "v1", "latest"],
      imagesOf: ["v1.3.2", "v1.3.2", "latest", "v1.3", "v1", "latest", "v1.3", "v1", "latest"],
    });
    // Once the list is known: the roll-forward release (the highest stable one) and its floating tags, to hold them.
    assert.deepEqual(digestsAfterListing?.(["v1.3.2", "v1.4.0", "v1.5.0-rc.1", "v1.4", "latest"]), [
      "v1.4.0",
      "v1.4",
      "v1",
      "latest",
    ]);
  });

  it("a pin without a push still asks", () => {
    const targets = releaseTargets(planInputs({ config: { "finsight:push": "false", "finsight:pin": "1.3.2" } }));
    assert.equal(targets.questions?.releaseTag, "v1.3.2");
  });

  it("no push and no pin: nothing to ask", () => {
    const targets = releaseTargets(planInputs({ config: { "finsight:push": "false" } }));
    assert.equal("questions" in targets, false);
  });
});
