/**
 * The rollback as a user verifies it, with a real Docker engine (Debian's docker.io): images built
 * and pushed by `docker`, the stack pinned to the older one, its floating tags applied to the
 * registry, and `docker pull` of the floating tag answering with the pinned release's digest.
 * `.ci/run` starts the engine; elsewhere, without a Docker engine, this file is skipped and says why.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { floatingTagProvider } from "../../src/resources/floating-tag";
import { FLOATING_TAG_TYPE, runProgram, testRegistry } from "../support/program";
import { REGISTRY_PASSWORD, REGISTRY_USER, tagDigest, writeDockerLogin } from "../support/registry";

const engine = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { encoding: "utf8", timeout: 20_000 });
const engineUp = engine.status === 0;
// In CI the engine is part of the set-up, so its absence is a failure there, never a skip.
if (!engineUp && process.env.CI === "true") {
  throw new Error(`CI=true but no Docker engine answers (docker info: ${engine.stderr || engine.error})`);
}

describe("docker pull after a rollback", { skip: engineUp ? false : "no Docker engine answers `docker info`" }, () => {
  let host = "";
  let work = "";
  const namespace = `docker${process.pid}`;
  const docker = (...args: string[]) =>
    execFileSync("docker", ["--config", work, ...args], {
      encoding: "utf8",
      env: { ...process.env, DOCKER_BUILDKIT: "0" }, // the classic builder: FROM scratch needs no buildx
      timeout: 120_000,
    });

  before(async () => {
    host = (await testRegistry()).registry.host;
    work = writeDockerLogin(fs.mkdtempSync(path.join(os.tmpdir(), "finsight-docker-")), host);
  });
  after(() => {
    spawnSync("docker", [
      "image",
      "rm",
      "--force",
      ...["v1.3.2", "v1.4.0", "latest"].map((t) => `${host}/${namespace}/finsight-backend:${t}`),
    ]);
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** Builds a tiny FROM scratch image for a version and pushes it with docker; returns the pushed digest. */
  function release(version: string): string {
    const context = fs.mkdtempSync(path.join(work, "context-"));
    fs.writeFileSync(path.join(context, "Dockerfile"), "FROM scratch\nCOPY VERSION /VERSION\n");
    fs.writeFileSync(path.join(context, "VERSION"), `${version}\n`);
    const ref = `${host}/${namespace}/finsight-backend:v${version}`;
    docker("build", "--quiet", "--tag", ref, context);
    const pushed = docker("push", ref);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
    assert.ok(digest, pushed);
    return digest;
  }

  it("latest pulls as the pinned release's digest, and the release pulls by that digest", async () => {
    const good = release("1.3.2");
    const bad = release("1.4.0");
    assert.notEqual(good, bad);
    const repositoryPath = `${namespace}/finsight-backend`;

    const run = await runProgram({
      stack: "prod",
      env: { RELEASE_VERSION: "1.4.0" },
      config: { "finsight:registry": `${host}/${namespace}`, "finsight:pin": "1.3.2" },
    });
    assert.equal(run.error, undefined);
    for (const tag of run.registered.filter((r) => r.type === FLOATING_TAG_TYPE)) {
      const { __provider, ...inputs } = tag.inputs;
      await floatingTagProvider.create({ ...inputs, username: REGISTRY_USER, password: REGISTRY_PASSWORD });
    }
    assert.equal(await tagDigest(host, repositoryPath, "latest"), good);

    // What docs/ROLLBACK.md tells users to run.
    docker("image", "rm", "--force", `${host}/${repositoryPath}:v1.3.2`);
    const pulled = docker("pull", `${host}/${repositoryPath}:latest`);
    assert.match(pulled, new RegExp(`Digest: ${good}`));
    const byDigest = docker("pull", String(run.outputs.imageRef));
    assert.match(byDigest, new RegExp(`Digest: ${good}`));
    const repoDigests = docker(
      "image",
      "inspect",
      "--format",
      "{{json .RepoDigests}}",
      `${host}/${repositoryPath}:latest`,
    );
    assert.deepEqual(JSON.parse(repoDigests), [`${host}/${repositoryPath}@${good}`]);
  });
});
