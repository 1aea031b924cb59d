import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveVersion, type VersionInputs } from "../../src/plan/version";

describe("resolveVersion", () => {
  const cases: { name: string; inputs: VersionInputs; text: string; source: string; prerelease: boolean }[] = [
    {
      name: "config wins",
      inputs: { configured: { text: "1.4.0", from: "config" }, env: { RELEASE_VERSION: "9.9.9" } },
      text: "1.4.0",
      source: "config",
      prerelease: false,
    },
    {
      name: "v prefix",
      inputs: { configured: { text: "v1.4.0", from: "config" }, env: {} },
      text: "1.4.0",
      source: "config",
      prerelease: false,
    },
    {
      name: "RELEASE_VERSION",
      inputs: { env: { RELEASE_VERSION: "2.0.1", GITHUB_REF_TYPE: "tag", GITHUB_REF_NAME: "v3.0.0" } },
      text: "2.0.1",
      source: "RELEASE_VERSION",
      prerelease: false,
    },
    {
      name: "CI tag ref",
      inputs: { env: { GITHUB_REF_TYPE: "tag", GITHUB_REF_NAME: "v1.4.0" } },
      text: "1.4.0",
      source: "git tag",
      prerelease: false,
    },
    {
      name: "branch ref is not a version",
      inputs: {
        env: { GITHUB_REF_TYPE: "branch", GITHUB_REF_NAME: "main" },
        versionFile: { path: "app/VERSION", content: "1.2.3\n" },
      },
      text: "1.2.3",
      source: "VERSION file",
      prerelease: false,
    },
    {
      name: "prerelease",
      inputs: { configured: { text: "1.5.0-rc.1", from: "config" }, env: {} },
      text: "1.5.0-rc.1",
      source: "config",
      prerelease: true,
    },
    {
      name: "build metadata kept",
      inputs: { configured: { text: "1.4.0+build.7", from: "config" }, env: {} },
      text: "1.4.0+build.7",
      source: "config",
      prerelease: false,
    },
    {
      name: "0.x",
      inputs: { configured: { text: "0.4.2", from: "config" }, env: {} },
      text: "0.4.2",
      source: "config",
      prerelease: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const version = resolveVersion(c.inputs);
      assert.equal(version.text, c.text);
      assert.equal(version.source, c.source);
      assert.equal(version.prerelease, c.prerelease);
    });
  }

  const bad: { name: string; inputs: VersionInputs; message: RegExp }[] = [
    {
      name: "two-part version",
      inputs: { configured: { text: "1.4", from: "config" }, env: {} },
      message: /^finsight:version must be a semantic version .*, got "1\.4"$/,
    },
    {
      name: "latest is no version",
      inputs: { configured: { text: "latest", from: "config" }, env: {} },
      message: /finsight:version .* got "latest"/,
    },
    {
      name: "bad env is not skipped",
      inputs: { env: { RELEASE_VERSION: "v1.x" }, versionFile: { path: "VERSION", content: "1.0.0" } },
      message: /^RELEASE_VERSION must be .* got "v1\.x"$/,
    },
    {
      name: "bad tag",
      inputs: { env: { GITHUB_REF_TYPE: "tag", GITHUB_REF_NAME: "release-7" } },
      message: /GITHUB_REF_NAME \(the pushed tag\) must be .* got "release-7"/,
    },
    {
      name: "bad VERSION file",
      inputs: { env: {}, versionFile: { path: "app/VERSION", content: "one\n" } },
      message: /VERSION file app\/VERSION must be .* got "one\\n"/,
    },
    { name: "no source", inputs: { env: {} }, message: /finsight:version must be .* got no version from any source/ },
  ];
  for (const c of bad) {
    it(`refuses: ${c.name}`, () =>
      assert.throws(() => resolveVersion(c.inputs), { name: "ReleaseConfigError", message: c.message }));
  }
});
