import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertRefused, runProgram } from "../support/program";

/**
 * Each bad input fails before the program registers anything, with one message naming the key,
 * the value and what is accepted.
 */
describe("bad input registers nothing", () => {
  const cases: {
    name: string;
    stack: string;
    config?: Record<string, string | undefined>;
    env?: Record<string, string>;
    secrets?: Record<string, string>;
    message: RegExp;
  }[] = [
    {
      name: "invalid semver",
      stack: "prod",
      config: { "finsight:version": "1.4" },
      message: /^finsight:version must be a semantic version such as 1\.4\.0, v1\.4\.0 or 1\.5\.0-rc\.1, got "1\.4"$/,
    },
    {
      name: "invalid semver from the tag",
      stack: "prod",
      env: { GITHUB_REF_TYPE: "tag", GITHUB_REF_NAME: "v1.4" },
      message: /^GITHUB_REF_NAME \(the pushed tag\) must be a semantic version .*, got "v1\.4"$/,
    },
    {
      name: "unknown variant",
      stack: "demo",
      config: { "finsight:variant": "ful" },
      message: /^finsight:variant must be "demo" or "full", got "ful"$/,
    },
    {
      name: "empty registry",
      stack: "prod",
      config: { "finsight:registry": "" },
      message: /^finsight:registry must be a registry host .*, got ""$/,
    },
    {
      name: "registry without a host",
      stack: "prod",
      config: { "finsight:registry": "acme" },
      message: /^finsight:registry must be a registry host .*, got "acme"$/,
    },
    {
      name: "registry with a scheme",
      stack: "prod",
      config: { "finsight:registry": "https://ghcr.io/acme" },
      message: /^finsight:registry must be .*no scheme.*, got "https:\/\/ghcr\.io\/acme"$/,
    },
    {
      name: "registry with upper case path",
      stack: "prod",
      config: { "finsight:registry": "ghcr.io/Acme" },
      message: /^finsight:registry must be .*, got "ghcr\.io\/Acme"$/,
    },
    {
      name: "unknown platform",
      stack: "prod",
      config: { "finsight:platforms": '["linux/amd64","linux/x86"]' },
      message:
        /^finsight:platforms must be a list of platforms the docker-build provider knows \(.*linux\/arm64.*\), got "linux\/x86"$/,
    },
    {
      name: "unknown cache type",
      stack: "demo",
      config: { "finsight:cache": "s3" },
      message: /^finsight:cache must be "registry", "gha", "local" or "none", got "s3"$/,
    },
    {
      name: "local cache without a directory",
      stack: "demo",
      config: { "finsight:cache": "local" },
      message: /^finsight:cacheDir must be a directory when finsight:cache is "local", got ""$/,
    },
    {
      name: "no version from any source",
      stack: "demo",
      message: /^finsight:version must be .*, got no version from any source/,
    },
    {
      name: "tag template yields an invalid Docker tag",
      stack: "prod",
      config: { "finsight:tags": '["v{{version}}","release/{{major}}"]' },
      message:
        /^finsight:tags must be templates that yield a Docker tag .*template "release\/\{\{major\}\}" yields "release\/1", got "release\/\{\{major\}\}"$/,
    },
    {
      name: "unknown template placeholder",
      stack: "prod",
      config: { "finsight:tags": '["{{tag}}"]' },
      message: /^finsight:tags must be templates using only .*, got "\{\{tag\}\}"$/,
    },
    {
      name: "push is not a boolean",
      stack: "demo",
      config: { "finsight:push": "yes" },
      message: /^finsight:push must be true or false, got "yes"$/,
    },
    {
      name: "username without password",
      stack: "prod",
      config: { "finsight:registryUsername": "release-bot" },
      message: /^finsight:registryPassword must be set as a secret when finsight:registryUsername is set/,
    },
    {
      name: "password without username",
      stack: "prod",
      secrets: { "finsight:registryPassword": "s3cret-pw" },
      message: /^finsight:registryUsername must be a user name when finsight:registryPassword is set, got ""$/,
    },
    {
      name: "bad SOURCE_DATE_EPOCH",
      stack: "demo",
      env: { SOURCE_DATE_EPOCH: "yesterday", RELEASE_VERSION: "1.4.0" },
      message: /^SOURCE_DATE_EPOCH must be whole seconds since 1970-01-01 UTC, got "yesterday"$/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const env = c.env ?? (c.name === "no version from any source" ? {} : { RELEASE_VERSION: "1.4.0" });
      // Config errors stop the run before the registry is asked anything, so no registry is started.
      const run = await runProgram({ stack: c.stack, config: c.config, env, secrets: c.secrets, offline: true });
      assertRefused(run, c.message);
    });
  }

  it("the password never appears in the message", async () => {
    const run = await runProgram({
      stack: "prod",
      env: { RELEASE_VERSION: "1.4.0" },
      secrets: { "finsight:registryPassword": "s3cret-pw" },
    });
    assert.ok(run.error);
    assert.doesNotMatch(run.error.message, /s3cret-pw/);
  });
});
