/**
 * Rollback and the release guards, end to end: the real index.ts under the mock runtime, reading a
 * real registry (docker-registry on loopback) seeded with released versions, and the floating-tag
 * provider applied to that registry to show where the tags end up.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BUILD_INPUTS_LABEL } from "../../src/plan/release-guards";
import {
  assertRefused,
  floatingTagsOf,
  imagesOf,
  indexesOf,
  makeContext,
  namespacedRegistry,
  type ProgramRun,
  runProgram,
} from "../support/program";
import { freePort } from "../support/registry";
import { tempDir } from "../support/temp";

const SHA = "4f2a9c0e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39";
const ENV = { RELEASE_VERSION: "1.4.0", GITHUB_SHA: SHA, SOURCE_DATE_EPOCH: "1795168800" };

const variables = (run: ProgramRun) =>
  Object.fromEntries(
    run.registered
      .filter((r) => r.type === "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
      .map((r) => [r.inputs.variableName, r.inputs.value]),
  );

/** The labels this checkout's build of 1.4.0 would carry, read from a run on an empty registry. */
async function labelsOfThisBuild(stack: string): Promise<Record<string, string>> {
  const run = await runProgram({ stack, env: ENV, config: (await namespacedRegistry("rollback")).config });
  return imagesOf(run)[0].inputs.labels as Record<string, string>;
}

describe("rollback: finsight:pin", () => {
  it("points latest, v1 and v1.3 at the pinned release's digest, and the GitHub variables too; nothing is built", async () => {
    const registry = await namespacedRegistry("rollback");
    const good = await registry.seed("v1.3.2");
    const bad = await registry.seed("v1.4.0");
    for (const tag of ["latest", "v1", "v1.4"]) await registry.seed(tag); // the bad release's tags
    const run = await runProgram({ stack: "prod", env: ENV, config: { ...registry.config, "finsight:pin": "v1.3.2" } });
    assert.equal(run.error, undefined);
    assert.deepEqual(imagesOf(run), [], "no Image: nothing is built");
    assert.deepEqual(floatingTagsOf(run), {
      "v1.3": good,
      v1: good,
      latest: good,
      "v1.4": await registry.digestOf("v1.4"), // held where it is: 1.3.2 is not on the 1.4 line
    });
    assert.equal(run.outputs.imageRef, `${registry.repository}:v1.3.2@${good}`);
    assert.equal(run.outputs.digest, good);
    assert.equal(run.outputs.pinnedVersion, "1.3.2");
    assert.deepEqual(variables(run), {
      FINSIGHT_BACKEND_IMAGE: `${registry.repository}:v1.3.2@${good}`,
      FINSIGHT_VERSION: "1.3.2",
      FINSIGHT_VARIANT: "full",
    });

    await registry.apply(run);
    for (const tag of ["latest", "v1", "v1.3"]) assert.equal(await registry.digestOf(tag), good, tag);
    assert.equal(await registry.digestOf("v1.4.0"), bad, "the bad release itself is untouched");
  });

  it("demo: the demo tag points at the pinned demo release", async () => {
    const registry = await namespacedRegistry("rollback");
    const good = await registry.seed("demo-v1.3.2");
    await registry.seed("demo-v1.4.0");
    const run = await runProgram({ stack: "demo", env: ENV, config: { ...registry.config, "finsight:pin": "1.3.2" } });
    assert.equal(run.error, undefined);
    assert.deepEqual(floatingTagsOf(run), { demo: good });
    assert.deepEqual(imagesOf(run), []);
    await registry.apply(run);
    assert.equal(await registry.digestOf("demo"), good);
  });

  it("a pin that was never released is refused before anything is registered, listing the closest", async () => {
    const registry = await namespacedRegistry("rollback");
    for (const tag of ["v1.2.0", "v1.3.1", "v1.3.2", "v1.4.0"]) await registry.seed(tag);
    const run = await runProgram({ stack: "prod", env: ENV, config: { ...registry.config, "finsight:pin": "1.3.3" } });
    assertRefused(
      run,
      new RegExp(
        `^finsight:pin must be a version released in ${registry.repository.replace(/\./g, "\\.")}, got "1\\.3\\.3": there is no tag v1\\.3\\.3\\. Closest released versions: 1\\.3\\.2, 1\\.3\\.1, 1\\.4\\.0, 1\\.2\\.0$`,
      ),
    );
  });

  it("removing the pin rolls forward: the stack's own release is served from the registry, only pointers move", async () => {
    const registry = await namespacedRegistry("rollback");
    const labels = await labelsOfThisBuild("prod");
    const good = await registry.seed("v1.3.2");
    const own = await registry.seed("v1.4.0", labels); // what this checkout built as 1.4.0

    const pinned = await runProgram({
      stack: "prod",
      env: ENV,
      config: { ...registry.config, "finsight:pin": "1.3.2" },
    });
    const forward = await runProgram({ stack: "prod", env: ENV, config: registry.config });
    assert.equal(pinned.error, undefined);
    assert.equal(forward.error, undefined);
    // v1.4.0 is in the registry, so neither run declares an Image: nothing can rebuild or re-push it.
    assert.deepEqual(imagesOf(pinned), []);
    assert.deepEqual(imagesOf(forward), []);
    assert.equal(floatingTagsOf(pinned).latest, good);
    assert.equal(forward.outputs.digest, own);
    assert.equal(forward.outputs.imageRef, `${registry.repository}:v1.4.0@${own}`);
    assert.deepEqual(floatingTagsOf(forward), { "v1.4": own, v1: own, latest: own });
  });
});

describe("release guards against the registry", () => {
  it("v1.9.1 after v2.0.1 moves v1 and v1.9, and latest stays on v2.0.1", async () => {
    const registry = await namespacedRegistry("rollback");
    await registry.seed("v1.9.0");
    const newest = await registry.seed("v2.0.1");
    assert.equal(await registry.seed("latest", {}, "v2.0.1"), newest);
    const run = await runProgram({ stack: "prod", env: { ...ENV, RELEASE_VERSION: "1.9.1" }, config: registry.config });
    assert.equal(run.error, undefined);
    const digest = String(run.outputs.candidateRef).split("@")[1];
    assert.deepEqual(floatingTagsOf(run), { "v1.9": digest, v1: digest, latest: newest });
    // What is served never goes down a version without a pin: latest holds 2.0.1, so 2.0.1 stays served.
    assert.equal(run.outputs.digest, newest);
  });

  it("a version below the highest release is refused, unless allowDowngrade is set", async () => {
    const registry = await namespacedRegistry("rollback");
    await registry.seed("v1.4.0");
    const env = { ...ENV, RELEASE_VERSION: "1.3.0" };
    assertRefused(
      await runProgram({ stack: "prod", env, config: registry.config }),
      /^finsight:version 1\.3\.0 would go backwards: the highest released version is 1\.4\.0\..*finsight:allowDowngrade to true on purpose$/,
    );
    const allowed = await runProgram({
      stack: "prod",
      env,
      config: { ...registry.config, "finsight:allowDowngrade": "true" },
    });
    assert.equal(allowed.error, undefined);
    assert.deepEqual(imagesOf(allowed)[0].inputs.tags, [`${registry.repository}:v1.3.0`]);
    assert.deepEqual(
      Object.keys(floatingTagsOf(allowed)),
      ["v1.3"],
      "latest and v1 stay on 1.4.0 (not in the registry: unmanaged)",
    );
  });

  it("re-running the same release builds and pushes nothing: the release is served by its registry digest", async () => {
    const registry = await namespacedRegistry("rollback");
    const labels = await labelsOfThisBuild("prod");
    const released = await registry.seed("v1.4.0", labels);
    const run = await runProgram({ stack: "prod", env: ENV, config: registry.config });
    assert.equal(run.error, undefined);
    assert.deepEqual(imagesOf(run), []);
    assert.deepEqual(indexesOf(run), []);
    assert.equal(run.outputs.imageRef, `${registry.repository}:v1.4.0@${released}`);
    assert.equal(run.outputs.candidateRef, `${registry.repository}:v1.4.0@${released}`);
    assert.deepEqual(floatingTagsOf(run), { "v1.4": released, v1: released, latest: released });
  });

  it("a changed build under a released version tag is refused: bump the version", async () => {
    const registry = await namespacedRegistry("rollback");
    const labels = await labelsOfThisBuild("prod");
    await registry.seed("v1.4.0", {
      ...labels,
      [BUILD_INPUTS_LABEL]: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
      "org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
    });
    assertRefused(
      await runProgram({ stack: "prod", env: ENV, config: registry.config }),
      new RegExp(
        `^finsight:version: ${registry.repository.replace(/\./g, "\\.")}:v1\\.4\\.0 \\(sha256:[0-9a-f]{64}\\) is already released, built from other inputs: org\\.opencontainers\\.image\\.revision 0123456789abcdef0123456789abcdef01234567 there, [0-9a-f]{40} here, and a released version tag is never overwritten\\. Bump the version`,
      ),
    );
  });
});

describe("registry unreachable", () => {
  it("pulumi preview warns and still renders the plan", async () => {
    const config = { "finsight:registry": `127.0.0.1:${await freePort()}/acme` };
    const run = await runProgram({ stack: "prod", env: ENV, config, preview: true });
    assert.equal(run.error, undefined);
    assert.equal(imagesOf(run).length, 1);
    assert.equal(run.warnings.length, 1);
    assert.match(
      run.warnings[0],
      /^the registry could not be read \(registry 127\.0\.0\.1:\d+ \(repository acme\/finsight-backend\): GET \/v2\/acme\/finsight-backend\/tags\/list\?n=1000: could not be reached at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\), so the pin, the floating-tag rules, the downgrade check and the overwrite check were not applied; pulumi up will refuse to run until it can read it$/,
    );
  });

  it("a rollback preview without the registry still shows the tags moving to the pinned tag, with a warning", async () => {
    const config = { "finsight:registry": `127.0.0.1:${await freePort()}/acme`, "finsight:pin": "1.3.2" };
    const run = await runProgram({ stack: "prod", env: ENV, config, preview: true });
    assert.equal(run.error, undefined);
    assert.deepEqual(imagesOf(run), []);
    assert.deepEqual(floatingTagsOf(run), { "v1.3": "v1.3.2", v1: "v1.3.2", latest: "v1.3.2" });
    assert.equal(run.warnings.length, 1);
    assertRefused(
      await runProgram({ stack: "prod", env: ENV, config }),
      /^finsight:registry 127\.0\.0\.1:\d+: the registry could not be read/,
    );
  });

  it("pulumi up refuses before anything is registered", async () => {
    const config = { "finsight:registry": `127.0.0.1:${await freePort()}/acme` };
    assertRefused(
      await runProgram({ stack: "prod", env: ENV, config }),
      /^finsight:registry 127\.0\.0\.1:\d+: the registry could not be read \(.*ECONNREFUSED\).*; pulumi up needs them, so nothing was built, pushed or re-pointed$/,
    );
  });

  it("wrong credentials count as unreadable too, and the message says what to check", async () => {
    const registry = await namespacedRegistry("rollback");
    const run = await runProgram({
      stack: "prod",
      env: ENV,
      config: { ...registry.config, "finsight:registryUsername": "release-bot" },
      secrets: { "finsight:registryPassword": "not-the-password" },
    });
    assertRefused(run, /HTTP 401.*check finsight:registryUsername and finsight:registryPassword/);
    assert.doesNotMatch(run.error?.message ?? "", /not-the-password/);
  });
});

describe("a rollback's outputs are the same from a laptop and from CI", () => {
  it("whatever the checkout or RELEASE_VERSION: the same tags managed, the same outputs, and no build", async () => {
    const registry = await namespacedRegistry("rollback");
    await registry.seed("v1.3.2");
    const v140 = await registry.seed("v1.4.0");
    for (const tag of ["latest", "v1", "v1.4"]) await registry.seed(tag, {}, "v1.4.0");
    const empty = tempDir("finsight-no-checkout-");
    const other = makeContext({ "Dockerfile.backend": "FROM scratch\n", VERSION: "1.5.0-rc.1\n" });
    const runs = {
      // rollback.yml: the stack's release checked out, RELEASE_VERSION set to it.
      ci: { env: { RELEASE_VERSION: "1.4.0", GITHUB_SHA: SHA } },
      laptopWithoutCheckout: { env: {}, context: empty },
      laptopOtherCheckout: { env: {}, context: other },
      otherReleaseVersion: { env: { RELEASE_VERSION: "2.0.0", GITHUB_SHA: SHA } },
      garbageReleaseVersion: { env: { RELEASE_VERSION: "garbage" } },
    };
    const seen: Record<string, unknown> = {};
    for (const [name, run] of Object.entries(runs)) {
      const result = await runProgram({
        stack: "prod",
        env: run.env,
        config: {
          ...registry.config,
          "finsight:pin": "v1.3.2",
          ...("context" in run ? { "finsight:context": run.context } : {}),
        },
      });
      assert.equal(result.error, undefined, `${name}: ${result.error?.message}`);
      assert.deepEqual(imagesOf(result), [], `${name}: nothing is built`);
      const { githubEnvironment: _e, githubVariables: _v, githubSecrets: _s, ...outputs } = result.outputs;
      seen[name] = { outputs, floating: floatingTagsOf(result) };
    }
    for (const name of Object.keys(runs)) assert.deepEqual(seen[name], seen.ci, name);
    const { outputs, floating } = seen.ci as { outputs: Record<string, unknown>; floating: Record<string, string> };
    assert.equal(outputs.version, "1.4.0", "the stack stands on the release a roll forward returns to");
    assert.equal(outputs.rollForwardVersion, "1.4.0");
    assert.equal(outputs.servedVersion, "1.3.2");
    assert.equal(outputs.candidateRef, "");
    // v1.4 is the roll-forward release's own line: held where it is, in every run alike.
    assert.equal(floating["v1.4"], v140);
  });
});
