/**
 * Exact tags are immutable, end to end: the real index.ts under the mock runtime, reading a real
 * registry (docker-registry on loopback). A release already in the registry with the same
 * build-inputs label is served by its digest and never built again, wherever the checkout lives;
 * one with another label is refused; a pushing build must be exactly its commit.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { planForStack } from "../../src/cli/plan";
import {
  assertRefused,
  FLOATING_TAG_TYPE,
  floatingTagsOf,
  GIT_ENV,
  gitFacts,
  imagesOf,
  indexesOf,
  makeContext,
  namespacedRegistry,
  PROJECT_DIR,
  type ProgramRun,
  runProgram,
  testRegistry,
} from "../support/program";

const ENV = { RELEASE_VERSION: "1.4.0", SOURCE_DATE_EPOCH: "1795168800" };
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const scratch: string[] = [];
after(() => {
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
});
const git = (dir: string, ...args: string[]) =>
  execFileSync("git", ["-C", dir, ...args], { env: { ...process.env, ...GIT_ENV }, encoding: "utf8" }).trim();
/** `git clone` of a context into a directory of its own, as another machine's checkout would be. */
function freshClone(context: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "finsight-clone-"));
  scratch.push(dir);
  execFileSync("git", ["clone", "-q", context, dir], { stdio: "ignore" });
  return dir;
}

/** Tags the run's docker-build resources push: an Image's own tags when it pushes, and every pushing Index's tag. */
const pushedTagsOf = (run: ProgramRun) => [
  ...imagesOf(run).flatMap((image) => (image.inputs.push === true ? (image.inputs.tags as string[]) : [])),
  ...indexesOf(run).flatMap((index) => (index.inputs.push === true ? [index.inputs.tag as string] : [])),
];

describe("a release tag in the registry is never built or pushed again", () => {
  it("first release, then the same commit from a fresh clone elsewhere: 1 build and 1 push, then none", async () => {
    const registry = await namespacedRegistry("immutable");
    const context = makeContext({ "Dockerfile.backend": "FROM scratch\n", "app.py": "print('finsight')\n" });
    const first = await runProgram({
      stack: "prod",
      env: ENV,
      config: { ...registry.config, "finsight:context": context },
    });
    assert.equal(first.error, undefined);
    assert.equal(imagesOf(first).length, 1, "first release: one build");
    assert.deepEqual(indexesOf(first), []);
    assert.deepEqual(pushedTagsOf(first), [`${registry.repository}:v1.4.0`], "first release: one pushed tag");
    const built = String(first.outputs.digest);
    assert.deepEqual(floatingTagsOf(first), { "v1.4": built, v1: built, latest: built });
    const labels = imagesOf(first)[0].inputs.labels as Record<string, string>;
    assert.equal(labels["finsight.release.source-tree"], gitFacts(context).tree);

    // What run 1 pushed, with exactly the labels it registered; then a clone of the same commit elsewhere.
    const released = await registry.seed("v1.4.0", labels);
    const clone = freshClone(context);
    assert.notEqual(clone, context);
    assert.deepEqual(gitFacts(clone), gitFacts(context));
    const again = await runProgram({
      stack: "prod",
      env: ENV,
      config: { ...registry.config, "finsight:context": clone },
    });
    assert.equal(again.error, undefined);
    assert.deepEqual(imagesOf(again), [], "re-run: no build");
    assert.deepEqual(indexesOf(again), []);
    assert.deepEqual(pushedTagsOf(again), [], "re-run: no push");
    assert.equal(again.outputs.phase, "promote");
    assert.equal(again.outputs.digest, released);
    assert.equal(again.outputs.imageRef, `${registry.repository}:v1.4.0@${released}`);
    assert.equal(again.outputs.candidateRef, `${registry.repository}:v1.4.0@${released}`);
    assert.deepEqual(floatingTagsOf(again), { "v1.4": released, v1: released, latest: released });
    const variable = again.registered.find(
      (r) =>
        r.type === "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable" &&
        r.name.endsWith("FINSIGHT_BACKEND_IMAGE"),
    );
    assert.equal(variable?.inputs.value, `${registry.repository}:v1.4.0@${released}`);
  });

  it("a new commit that changes the tree is refused, naming the tag, its digest and both source trees", async () => {
    const registry = await namespacedRegistry("immutable");
    const context = makeContext({ "Dockerfile.backend": "FROM scratch\n", "app.py": "print('finsight')\n" });
    const first = await runProgram({
      stack: "prod",
      env: ENV,
      config: { ...registry.config, "finsight:context": context },
    });
    const labels = imagesOf(first)[0].inputs.labels as Record<string, string>;
    const released = await registry.seed("v1.4.0", labels);

    const changed = freshClone(context);
    fs.writeFileSync(path.join(changed, "app.py"), "print('finsight, changed')\n");
    git(changed, "commit", "-q", "-am", "change the app");
    const earlier = gitFacts(context);
    const now = gitFacts(changed);
    assert.notEqual(now.tree, earlier.tree);
    const run = await runProgram({
      stack: "prod",
      env: ENV,
      config: { ...registry.config, "finsight:context": changed },
    });
    assertRefused(
      run,
      new RegExp(
        `^finsight:version: ${literal(`${registry.repository}:v1.4.0 (${released})`)} is already released, built from other inputs: ` +
          `org\\.opencontainers\\.image\\.revision ${earlier.revision} there, ${now.revision} here; ` +
          `finsight\\.release\\.source-tree ${earlier.tree} there, ${now.tree} here, and a released version tag is never overwritten\\.`,
      ),
    );
  });

  it("retainOnDelete on every Image, Index and FloatingTag a multi-platform release registers", async () => {
    const registry = await namespacedRegistry("immutable");
    const run = await runProgram({
      stack: "prod",
      env: ENV,
      config: { ...registry.config, "finsight:platforms": '["linux/amd64","linux/arm64"]' },
    });
    assert.equal(run.error, undefined);
    const kept = run.registered.filter((r) =>
      ["docker-build:index:Image", "docker-build:index:Index", FLOATING_TAG_TYPE].includes(r.type),
    );
    assert.deepEqual(
      kept.map((r) => [r.type, r.name, r.retainOnDelete]),
      [
        ["docker-build:index:Image", "finsight-backend-full-linux-amd64", true],
        ["docker-build:index:Image", "finsight-backend-full-linux-arm64", true],
        ["docker-build:index:Index", "finsight-backend-full-index-v1.4.0", true],
        [FLOATING_TAG_TYPE, "finsight-backend-full-tag-v1.4", true],
        [FLOATING_TAG_TYPE, "finsight-backend-full-tag-v1", true],
        [FLOATING_TAG_TYPE, "finsight-backend-full-tag-latest", true],
      ],
    );
    assert.deepEqual(pushedTagsOf(run), [
      `${registry.repository}:v1.4.0-linux-amd64`,
      `${registry.repository}:v1.4.0-linux-arm64`,
      `${registry.repository}:v1.4.0`,
    ]);
  });
});

describe("a pushing build must be exactly its commit", () => {
  const DOCKERIGNORE = {
    "Dockerfile.backend": "FROM scratch\n",
    "app.py": "print('finsight')\n",
    ".dockerignore": "*.log\n",
  };

  it("a modified tracked file is refused in pulumi up, naming it; nothing is registered", async () => {
    const registry = await namespacedRegistry("immutable");
    const context = makeContext(DOCKERIGNORE);
    fs.writeFileSync(path.join(context, "app.py"), "print('not committed')\n");
    const run = await runProgram({
      stack: "prod",
      env: ENV,
      config: { ...registry.config, "finsight:context": context },
    });
    assertRefused(
      run,
      new RegExp(
        `^finsight:context ${literal(JSON.stringify(context))} has uncommitted changes the build would include \\(app\\.py\\): commit or stash them`,
      ),
    );
  });

  it("an untracked file the .dockerignore excludes is allowed; one it does not exclude is refused", async () => {
    const registry = await namespacedRegistry("immutable");
    const context = makeContext(DOCKERIGNORE);
    const config = { ...registry.config, "finsight:context": context };
    fs.writeFileSync(path.join(context, "debug.log"), "local noise\n");
    const allowed = await runProgram({ stack: "prod", env: ENV, config });
    assert.equal(allowed.error, undefined);
    assert.deepEqual(allowed.warnings, []);
    assert.equal(imagesOf(allowed).length, 1);

    fs.writeFileSync(path.join(context, "notes.txt"), "would be built into the image\n");
    assertRefused(
      await runProgram({ stack: "prod", env: ENV, config }),
      /has uncommitted changes the build would include \(notes\.txt\): /,
    );
  });

  it("Dockerfile.backend.dockerignore, when present, is the one that counts (as BuildKit applies it)", async () => {
    const registry = await namespacedRegistry("immutable");
    const context = makeContext({
      ...DOCKERIGNORE,
      "Dockerfile.backend.dockerignore": "scratch/\n",
    });
    const config = { ...registry.config, "finsight:context": context };
    fs.mkdirSync(path.join(context, "scratch"));
    fs.writeFileSync(path.join(context, "scratch", "tmp.txt"), "excluded by the per-Dockerfile file\n");
    const allowed = await runProgram({ stack: "prod", env: ENV, config });
    assert.equal(allowed.error, undefined);
    assert.equal(imagesOf(allowed).length, 1);
    // .dockerignore's *.log no longer applies: BuildKit reads only the per-Dockerfile file.
    fs.writeFileSync(path.join(context, "debug.log"), "local noise\n");
    assertRefused(await runProgram({ stack: "prod", env: ENV, config }), /would include \(debug\.log\)/);
  });

  it("a preview of a dirty context warns that pulumi up will refuse it, and still shows the build", async () => {
    const registry = await namespacedRegistry("immutable");
    const context = makeContext(DOCKERIGNORE);
    fs.writeFileSync(path.join(context, "app.py"), "print('not committed')\n");
    fs.writeFileSync(path.join(context, "notes.txt"), "untracked\n");
    const run = await runProgram({
      stack: "prod",
      env: ENV,
      config: { ...registry.config, "finsight:context": context },
      preview: true,
    });
    assert.equal(run.error, undefined);
    assert.equal(imagesOf(run).length, 1);
    assert.equal(run.warnings.length, 1);
    assert.match(
      run.warnings[0],
      /^finsight:context ".*" has uncommitted changes the build would include \(app\.py, notes\.txt\): .*; pulumi up will refuse this$/,
    );
  });

  it("push=false builds a dirty context, with a note instead of a refusal", async () => {
    const registry = await namespacedRegistry("immutable");
    const context = makeContext(DOCKERIGNORE);
    fs.writeFileSync(path.join(context, "app.py"), "print('not committed')\n");
    // finsight:github needs a pushed digest, so a local build runs without it.
    const config = {
      ...registry.config,
      "finsight:context": context,
      "finsight:push": "false",
      "finsight:github": undefined,
    };
    const run = await runProgram({ stack: "prod", env: ENV, config });
    assert.equal(run.error, undefined);
    assert.deepEqual(run.warnings, []);
    assert.equal(imagesOf(run).length, 1);
    assert.equal(imagesOf(run)[0].inputs.push, false);
    assert.deepEqual(pushedTagsOf(run), []);
    assert.deepEqual(floatingTagsOf(run), {}, "nothing pushed, so no floating tag can point at it");
    // The program logs only warnings; the note is in the plan, as `npm run plan` prints it.
    const { dockerConfig } = await testRegistry();
    const plan = await planForStack(
      PROJECT_DIR,
      "prod",
      { ...ENV, DOCKER_CONFIG: dockerConfig },
      {
        config: { registry: config["finsight:registry"], context, push: "false", github: "" },
        readRegistry: true,
      },
    );
    assert.ok(
      plan.notes.includes("building from uncommitted changes (1 files); allowed because nothing is pushed"),
      plan.notes.join("\n"),
    );
  });

  it("a context that is not a git checkout is refused when pushing", async () => {
    const registry = await namespacedRegistry("immutable");
    const context = fs.mkdtempSync(path.join(os.tmpdir(), "finsight-not-git-"));
    scratch.push(context);
    fs.writeFileSync(path.join(context, "Dockerfile.backend"), "FROM scratch\n");
    assertRefused(
      await runProgram({ stack: "prod", env: ENV, config: { ...registry.config, "finsight:context": context } }),
      new RegExp(
        `^finsight:context ${literal(JSON.stringify(context))} is not a git checkout with a commit, so a pushed release could not name its source`,
      ),
    );
  });
});
