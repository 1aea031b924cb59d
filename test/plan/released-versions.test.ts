import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseTagTemplates, type VersionTemplate } from "../../src/model/tag-template";
import { closestReleased, releasedVersions } from "../../src/plan/released-versions";
import { tagForVersion, versionTemplateOf } from "../../src/plan/tags";

/** A template that names the version alone, parsed as the planner parses finsight:tags. */
const versionTemplate = (text: string) => versionTemplateOf(parseTagTemplates([text])) as VersionTemplate;

describe("released versions, read back from registry tags", () => {
  const tags = [
    "v1.3.1",
    "v1.4.0",
    "v1.3.2",
    "v1.5.0-rc.1",
    "v1.4.0+build.7".replace("+", "_"),
    "v1.4.0-linux-amd64", // a per-platform part of v1.4.0, not a release
    "latest",
    "v1",
    "v1.4",
    "buildcache-full",
    "v01.2.3", // not strict semver
    "vnext",
    "demo-v9.9.9", // another variant's template
  ];

  it("keeps the tags that read back as versions through the template, lowest first", () => {
    assert.deepEqual(
      releasedVersions(tags, versionTemplate("v{{version}}")).map((r) => [r.version, r.tag, r.stable]),
      [
        ["1.3.1", "v1.3.1", true],
        ["1.3.2", "v1.3.2", true],
        ["1.4.0", "v1.4.0", true],
        ["1.4.0+build.7", "v1.4.0_build.7", true],
        ["1.5.0-rc.1", "v1.5.0-rc.1", false],
      ],
    );
  });

  it("reads the demo variant's own template only", () => {
    assert.deepEqual(
      releasedVersions(tags, versionTemplate("demo-v{{version}}")).map((r) => r.version),
      ["9.9.9"],
    );
  });

  it("finds the template that names the version alone", () => {
    const cases: [string[], string | undefined][] = [
      [["v{{version}}", "v{{major}}", "latest"], "v{{version}}"],
      [["sha-{{sha}}", "demo-v{{ version }}", "demo"], "demo-v{{ version }}"],
      [["v{{version}}-{{sha}}", "latest"], undefined],
      [["sha-{{sha}}"], undefined],
    ];
    for (const [templates, expected] of cases)
      assert.equal(versionTemplateOf(parseTagTemplates(templates))?.text, expected, templates.join(" "));
  });

  it("renders a version through the template, build metadata with _", () => {
    assert.equal(tagForVersion(versionTemplate("v{{version}}"), "1.4.0+build.7"), "v1.4.0_build.7");
    assert.equal(tagForVersion(versionTemplate("demo-v{{ version }}"), "1.3.2"), "demo-v1.3.2");
  });
});

describe("closest released versions (for a pin that does not exist)", () => {
  const released = releasedVersions(
    ["1.2.0", "1.3.0", "1.3.1", "1.4.0", "2.0.0"].map((version) => `v${version}`),
    versionTemplate("v{{version}}"),
  );
  const cases: [string, string[]][] = [
    ["1.3.2", ["1.3.1", "1.3.0", "1.4.0", "1.2.0", "2.0.0"]],
    ["2.1.0", ["2.0.0", "1.4.0", "1.3.1", "1.3.0", "1.2.0"]],
    ["1.5.0", ["1.4.0", "1.3.1", "1.3.0", "1.2.0", "2.0.0"]],
    ["0.9.0", ["1.2.0", "1.3.0", "1.3.1", "1.4.0", "2.0.0"]],
  ];
  for (const [wanted, expected] of cases) {
    it(`${wanted} → ${expected.join(", ")}`, () => assert.deepEqual(closestReleased(released, wanted), expected));
  }
  it("at most the count asked for", () => assert.deepEqual(closestReleased(released, "1.3.2", 2), ["1.3.1", "1.3.0"]));
});
