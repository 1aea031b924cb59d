/**
 * The `local` stack (Pulumi.local.yaml): docs/LOCAL-STACK.md, step by step,
 * as far as it runs without the Pulumi CLI: the real index.ts under the mock runtime against a real
 * registry on loopback (which stands where the walkthrough's localhost:5000 is), and the floating-tag
 * provider applied to that registry where `pulumi up` would apply it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { readStackConfig } from "../../src/inputs/stack-files";
import {
  floatingTagsOf,
  GIT_ENV,
  imagesOf,
  namespacedRegistry,
  PROJECT_DIR,
  type ProgramRun,
  runProgram,
} from "../support/program";
import { tempDir } from "../support/temp";

const STAND_IN = "examples/finsight-backend";
const GITHUB_TYPES = /^github:/;

/** The stand-in with its VERSION bumped and committed, as the walkthrough's step 2 leaves it (a release refuses uncommitted changes). */
function standInAt(version: string): string {
  const copy = tempDir("finsight-standin-");
  fs.cpSync(path.join(PROJECT_DIR, STAND_IN), copy, { recursive: true });
  fs.writeFileSync(path.join(copy, "VERSION"), `${version}\n`);
  // A release names its source by git commit and tree, as the walkthrough's checkout does.
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", copy, ...args], { env: { ...process.env, ...GIT_ENV }, stdio: "ignore" });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", `stand-in ${version}`);
  return copy;
}

const labelsOf = (run: ProgramRun) => imagesOf(run)[0].inputs.labels as Record<string, string>;

describe("Pulumi.local.yaml", () => {
  it("as shipped: registry localhost:5000, the stand-in as context, a local build cache, no GitHub environment", () => {
    const { values, secretKeys } = readStackConfig(PROJECT_DIR, "local");
    assert.equal(values["finsight:registry"], "localhost:5000");
    assert.equal(values["finsight:context"], STAND_IN);
    assert.equal(values["finsight:variant"], "full");
    assert.equal(values["finsight:cache"], "local");
    assert.equal(values["finsight:cacheDir"], ".pulumi-local/build-cache");
    assert.equal(values["finsight:pin"], "", "a fresh clone releases; it does not start pinned");
    assert.equal(values["finsight:github"], undefined);
    assert.deepEqual([...secretKeys], [], "no secret: the stack needs no account or token");
  });

  it("pulumi up --stack local: the stand-in's VERSION released with every stable tag, cached locally", async () => {
    const registry = await namespacedRegistry("local");
    const run = await runProgram({ stack: "local", config: registry.config });
    assert.equal(run.error, undefined);
    const [image, ...others] = imagesOf(run);
    assert.equal(others.length, 0);
    assert.equal(run.outputs.version, fs.readFileSync(path.join(PROJECT_DIR, STAND_IN, "VERSION"), "utf8").trim());
    assert.equal(run.outputs.versionSource, "VERSION file");
    assert.deepEqual(image.inputs.context, { location: STAND_IN });
    assert.deepEqual(image.inputs.dockerfile, { location: `${STAND_IN}/Dockerfile.backend` });
    assert.deepEqual(image.inputs.tags, [`${registry.repository}:v1.4.0`]);
    assert.equal(image.inputs.push, true);
    assert.deepEqual((image.inputs.buildArgs as Record<string, string>).USE_LIGHT, "0");
    assert.deepEqual(image.inputs.cacheFrom, [
      { local: { src: ".pulumi-local/build-cache/full" } },
      { local: { src: ".pulumi-local/build-cache/demo" } },
    ]);
    assert.deepEqual(image.inputs.cacheTo, [
      { local: { dest: ".pulumi-local/build-cache/full", mode: "max", ignoreError: true } },
    ]);
    const digest = run.outputs.digest;
    assert.deepEqual(floatingTagsOf(run), { "v1.4": digest, v1: digest, latest: digest });
    assert.equal(run.outputs.imageRef, `${registry.repository}:v1.4.0@${digest}`);
    assert.deepEqual(
      run.registered.filter((r) => GITHUB_TYPES.test(r.type)),
      [],
      "no GitHub provider, environment or secret",
    );
    assert.equal(run.outputs.githubEnvironment, undefined);
  });

  it("the walkthrough's two phases: a candidate moves nothing users see, its promotion builds nothing", async () => {
    const registry = await namespacedRegistry("local");
    // FINSIGHT_PHASE=candidate pulumi up --stack local
    const candidate = await runProgram({
      stack: "local",
      env: { FINSIGHT_PHASE: "candidate" },
      config: registry.config,
    });
    assert.equal(candidate.error, undefined);
    assert.equal(candidate.outputs.phase, "candidate");
    assert.deepEqual(imagesOf(candidate)[0].inputs.tags, [`${registry.repository}:v1.4.0`]);
    assert.deepEqual(floatingTagsOf(candidate), {}, "nothing promoted yet: no floating tag is touched");
    assert.equal(candidate.outputs.imageRef, "", "nothing promoted yet");
    assert.match(
      String(candidate.outputs.candidateRef),
      new RegExp(`^${registry.repository}:v1\\.4\\.0@sha256:[0-9a-f]{64}$`),
    );
    // What that run pushed, then: pulumi up --stack local (nothing was saved, so this is a release run)
    const pushed = await registry.seed("v1.4.0", imagesOf(candidate)[0].inputs.labels as Record<string, string>);
    const promoted = await runProgram({ stack: "local", config: registry.config });
    assert.equal(promoted.error, undefined);
    assert.equal(promoted.outputs.phase, "promote");
    assert.deepEqual(imagesOf(promoted), [], "the candidate is in the registry: nothing is built or pushed");
    assert.deepEqual(floatingTagsOf(promoted), { "v1.4": pushed, v1: pushed, latest: pushed });
    await registry.apply(promoted);
    assert.equal(await registry.digestOf("latest"), pushed);
  });

  it("a second release moves latest; a pin moves it back to the first release's digest; removing the pin rolls forward", async () => {
    const registry = await namespacedRegistry("local");
    // Release 1.4.0, and leave the registry as its `pulumi up` does: the image, and latest, v1, v1.4 on it.
    const first = await runProgram({ stack: "local", config: registry.config });
    assert.equal(first.error, undefined);
    const good = await registry.seed("v1.4.0", labelsOf(first));
    for (const tag of ["latest", "v1", "v1.4"]) await registry.seed(tag, labelsOf(first), "v1.4.0");

    // echo 1.5.0 > …/VERSION && git commit -qm "Stand-in 1.5.0" …/VERSION && pulumi up --stack local
    const bumped = { ...registry.config, "finsight:context": standInAt("1.5.0") };
    const second = await runProgram({ stack: "local", config: bumped });
    assert.equal(second.error, undefined);
    assert.equal(second.outputs.version, "1.5.0");
    assert.equal(second.outputs.versionSource, "VERSION file");
    assert.deepEqual(imagesOf(second)[0].inputs.tags, [`${registry.repository}:v1.5.0`]);
    assert.deepEqual(floatingTagsOf(second), {
      "v1.5": second.outputs.digest,
      v1: second.outputs.digest,
      latest: second.outputs.digest,
    });
    const bad = await registry.seed("v1.5.0", labelsOf(second));
    for (const tag of ["latest", "v1", "v1.5"]) await registry.seed(tag, labelsOf(second), "v1.5.0");
    assert.equal(await registry.digestOf("latest"), bad);

    // pulumi config set finsight:pin 1.4.0 --stack local && pulumi up --stack local
    const pinned = await runProgram({ stack: "local", config: { ...bumped, "finsight:pin": "1.4.0" } });
    assert.equal(pinned.error, undefined);
    // A rollback builds nothing: no Image is declared, only the floating tags move.
    assert.deepEqual(imagesOf(pinned), []);
    assert.equal(floatingTagsOf(pinned).latest, good);
    assert.equal(floatingTagsOf(pinned).v1, good);
    assert.equal(pinned.outputs.imageRef, `${registry.repository}:v1.4.0@${good}`);
    await registry.apply(pinned);
    // docker pull localhost:5000/finsight-backend:latest now answers with this digest (test/program/docker-pull.test.ts pulls).
    assert.equal(await registry.digestOf("latest"), good);
    assert.equal(await registry.digestOf("v1.5.0"), bad, "the pinned-away release itself stays");

    // pulumi config rm finsight:pin --stack local && pulumi up --stack local
    const forward = await runProgram({ stack: "local", config: bumped });
    assert.equal(forward.error, undefined, "the released 1.5.0, from the same source, is served as it is");
    assert.deepEqual(imagesOf(forward), [], "v1.5.0 is in the registry: never built or pushed again");
    assert.equal(forward.outputs.digest, bad);
    assert.equal(floatingTagsOf(forward).latest, bad);
  });
});
