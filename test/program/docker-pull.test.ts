/**
 * The rollback as a user verifies it, with a real Docker engine (Debian's docker.io): the stand-in
 * backend (examples/finsight-backend, on a busybox base built FROM scratch, nothing pulled) built
 * and pushed by `docker` as two releases, the stack pinned to the older one, its floating tags
 * applied to the registry, and `docker pull` of the floating tag answering with the pinned digest.
 * `.ci/run` starts the engine; elsewhere, without a Docker engine, the test is skipped and the
 * runner's summary counts it as skipped.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { floatingTagProvider } from "../../src/resources/floating-tag";
import { dockerSkip } from "../support/docker-engine";
import { FLOATING_TAG_TYPE, PROJECT_DIR, runProgram, testRegistry } from "../support/program";
import { REGISTRY_PASSWORD, REGISTRY_USER, tagDigest, writeDockerLogin } from "../support/registry";

const STAND_IN = path.join(PROJECT_DIR, "examples", "finsight-backend");
const skip = dockerSkip();
const engineUp = skip === false;

describe("docker pull after a rollback", () => {
  let host = "";
  let work = "";
  const namespace = `docker${process.pid}`;
  const base = `finsight-offline-base:${namespace}`;
  const built: string[] = [];
  const docker = (...args: string[]) =>
    execFileSync("docker", ["--config", work, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, DOCKER_BUILDKIT: "0" }, // the classic builder: FROM scratch needs no buildx
      timeout: 120_000,
    });

  before(async () => {
    if (!engineUp) return;
    host = (await testRegistry()).registry.host;
    work = writeDockerLogin(fs.mkdtempSync(path.join(os.tmpdir(), "finsight-docker-")), host);
    execFileSync("sh", [path.join(STAND_IN, "offline-base", "build.sh"), base], { stdio: "pipe", timeout: 120_000 });
  });
  after(() => {
    if (!engineUp) return;
    spawnSync("docker", ["image", "rm", "--force", ...built, `${host}/${namespace}/finsight-backend:latest`, base]);
    fs.rmSync(work, { recursive: true, force: true });
  });

  /**
   * Builds the stand-in's full image for a version and pushes it with docker; returns the pushed digest.
   * The labels make each image this run's own: an engine shared with other runs would otherwise hold
   * the very same image under their tags too, and list their registries in its RepoDigests.
   */
  function release(version: string): string {
    const ref = `${host}/${namespace}/finsight-backend:v${version}`;
    const deps = `${ref}-deps`;
    const common = ["--file", path.join(STAND_IN, "Dockerfile.backend"), "--build-arg", `BASE_IMAGE=${base}`];
    // The deps stage is tagged too, so the clean-up leaves no untagged stage behind.
    docker("build", "--quiet", ...common, "--target", "deps", "--tag", deps, STAND_IN);
    built.push(deps, ref);
    docker(
      "build",
      "--quiet",
      ...common,
      "--label",
      `org.opencontainers.image.version=${version}`,
      "--label",
      `finsight.test.registry=${host}/${namespace}`,
      "--tag",
      ref,
      STAND_IN,
    );
    const pushed = docker("push", ref);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
    assert.ok(digest, pushed);
    return digest;
  }

  it("latest pulls as the pinned release's digest, and the release pulls by that digest", { skip }, async () => {
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
