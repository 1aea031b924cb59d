import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_TAG_TEMPLATES, parseTagTemplates } from "../../src/model/tag-template";
import { planTags, type TagFacts } from "../../src/plan/tags";
import { resolveVersion } from "../../src/plan/version";

const facts = (version: string, extra: Partial<TagFacts> = {}): TagFacts => ({
  version: resolveVersion({ configured: { text: version, from: "config" }, env: {} }),
  ...extra,
});

describe("planTags with the shipped defaults", () => {
  const cases: { name: string; variant: "demo" | "full"; version: string; exact: string[]; floating: string[] }[] = [
    { name: "stable full", variant: "full", version: "1.4.0", exact: ["v1.4.0"], floating: ["v1.4", "v1", "latest"] },
    { name: "v prefix", variant: "full", version: "v1.4.0", exact: ["v1.4.0"], floating: ["v1.4", "v1", "latest"] },
    { name: "stable demo", variant: "demo", version: "1.4.0", exact: ["demo-v1.4.0"], floating: ["demo"] },
    {
      name: "prerelease gets its exact tag only",
      variant: "full",
      version: "1.5.0-rc.1",
      exact: ["v1.5.0-rc.1"],
      floating: [],
    },
    {
      name: "demo prerelease leaves demo alone",
      variant: "demo",
      version: "1.5.0-rc.1",
      exact: ["demo-v1.5.0-rc.1"],
      floating: [],
    },
    {
      name: "build metadata becomes _",
      variant: "full",
      version: "1.4.0+build.7",
      exact: ["v1.4.0_build.7"],
      floating: ["v1.4", "v1", "latest"],
    },
    {
      name: "prerelease with build metadata",
      variant: "full",
      version: "2.0.0-beta.2+exp.sha.5114f85",
      exact: ["v2.0.0-beta.2_exp.sha.5114f85"],
      floating: [],
    },
    { name: "0.x has no v0", variant: "full", version: "0.4.2", exact: ["v0.4.2"], floating: ["v0.4", "latest"] },
    {
      name: "0.0.x has no minor line either",
      variant: "full",
      version: "0.0.3",
      exact: ["v0.0.3"],
      floating: ["latest"],
    },
    { name: "major release", variant: "full", version: "2.0.0", exact: ["v2.0.0"], floating: ["v2.0", "v2", "latest"] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planTags(parseTagTemplates(DEFAULT_TAG_TEMPLATES[c.variant]), facts(c.version));
      assert.deepEqual(plan.exact, c.exact);
      assert.deepEqual(plan.floating, c.floating);
      assert.equal(plan.changesEveryRun, false);
    });
  }

  it("says why a prerelease skips floating tags", () => {
    const plan = planTags(parseTagTemplates(DEFAULT_TAG_TEMPLATES.full), facts("1.5.0-rc.1"));
    assert.deepEqual(
      plan.skipped.map((s) => s.template),
      ["v{{major}}.{{minor}}", "v{{major}}", "latest"],
    );
    assert.match(plan.skipped[0].reason, /prerelease/);
  });
});

describe("planTags with templates", () => {
  const sha = "4f2a9c0e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39";
  const cases: {
    name: string;
    templates: string[];
    extra?: Partial<TagFacts>;
    exact: string[];
    floating: string[];
    everyRun?: boolean;
  }[] = [
    {
      name: "sha tag is exact",
      templates: ["v{{version}}", "sha-{{sha}}"],
      extra: { revision: sha },
      exact: ["v1.4.0", "sha-4f2a9c0"],
      floating: [],
    },
    {
      name: "guide's demo-<run id>",
      templates: ["demo-{{runId}}", "demo"],
      extra: { runId: "8812345" },
      exact: ["demo-8812345"],
      floating: ["demo"],
      everyRun: true,
    },
    { name: "whitespace in braces", templates: ["{{ version }}", "{{ major }}"], exact: ["1.4.0"], floating: ["1"] },
    {
      name: "plain text and patch",
      templates: ["stable-{{major}}.{{minor}}.{{patch}}", "stable"],
      exact: ["stable-1.4.0"],
      floating: ["stable"],
    },
    {
      name: "duplicates collapse",
      templates: ["v{{version}}", "v{{version}}", "latest", "latest"],
      exact: ["v1.4.0"],
      floating: ["latest"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planTags(parseTagTemplates(c.templates), facts("1.4.0", c.extra));
      assert.deepEqual(plan.exact, c.exact);
      assert.deepEqual(plan.floating, c.floating);
      assert.equal(plan.changesEveryRun, c.everyRun ?? false);
    });
  }

  const bad: { name: string; templates: string[]; extra?: Partial<TagFacts>; message: RegExp }[] = [
    {
      name: "unknown placeholder",
      templates: ["v{{semver}}"],
      message: /^finsight:tags must be templates using only \{\{version\}\}.*got "v\{\{semver\}\}"$/,
    },
    {
      name: "leading dash",
      templates: ["-{{version}}"],
      message: /finsight:tags must be templates that yield a Docker tag.*yields "-1\.4\.0"/,
    },
    { name: "slash", templates: ["release/{{version}}"], message: /yields "release\/1\.4\.0"/ },
    { name: "too long", templates: [`${"x".repeat(125)}{{version}}`], message: /at most 128 characters/ },
    {
      name: "no exact tag",
      templates: ["latest"],
      message: /finsight:tags must be a list with at least one template naming the release/,
    },
    {
      name: "runId outside CI",
      templates: ["demo-{{runId}}"],
      message: /uses \{\{runId\}\}, which needs GITHUB_RUN_ID, got none/,
    },
    { name: "sha without a revision", templates: ["sha-{{sha}}"], message: /uses \{\{sha\}\}, which needs GITHUB_SHA/ },
  ];
  for (const c of bad) {
    it(`refuses: ${c.name}`, () =>
      assert.throws(() => planTags(parseTagTemplates(c.templates), facts("1.4.0", c.extra)), {
        name: "ReleaseConfigError",
        message: c.message,
      }));
  }
});
