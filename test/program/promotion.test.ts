/**
 * Candidate, promotion and rollback, end to end: the real index.ts under the mock runtime against a
 * real registry (docker-registry on loopback), and the floating-tag provider applied to that registry
 * to show where `latest` ends up, byte for byte.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import {
  assertRefused,
  FLOATING_TAG_TYPE,
  floatingTagsOf,
  imagesOf,
  indexesOf,
  namespacedRegistry,
  type ProgramRun,
  runProgram,
} from "../support/program";

const ENV = { RELEASE_VERSION: "1.4.0", SOURCE_DATE_EPOCH: "1795168800" };
const VARIABLE_TYPE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable";
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A fresh namespace per test, holding a promoted 1.3.2: latest, v1 and v1.3 at its digest. */
async function registryWithPromoted132() {
  const registry = await namespacedRegistry("promotion");
  const promoted = await registry.seed("v1.3.2");
  for (const tag of ["latest", "v1", "v1.3"]) assert.equal(await registry.seed(tag, {}, "v1.3.2"), promoted);
  return { ...registry, promoted };
}

const variablesOf = (run: ProgramRun) =>
  Object.fromEntries(
    run.registered
      .filter((r) => r.type === VARIABLE_TYPE)
      .map((r) => [r.inputs.variableName, { value: r.inputs.value, ignoreChanges: r.ignoreChanges }]),
  );
const seenDigestsOf = (run: ProgramRun) =>
  Object.fromEntries(
    run.registered.filter((r) => r.type === FLOATING_TAG_TYPE).map((r) => [r.inputs.tag, r.inputs.seenDigest]),
  );
/** Tags the run's docker-build resources push. */
const pushedTagsOf = (run: ProgramRun) => [
  ...imagesOf(run).flatMap((image) => (image.inputs.push === true ? (image.inputs.tags as string[]) : [])),
  ...indexesOf(run).flatMap((index) => (index.inputs.push === true ? [index.inputs.tag as string] : [])),
];

const candidateRun = (config: Record<string, string>) =>
  runProgram({ stack: "prod", env: { ...ENV, FINSIGHT_PHASE: "candidate" }, config });

describe("FINSIGHT_PHASE=candidate: a candidate", () => {
  it("pushes v1.4.0 only; the floating tags and FINSIGHT_BACKEND_IMAGE stay on 1.3.2", async () => {
    const registry = await registryWithPromoted132();
    const run = await candidateRun(registry.config);
    assert.equal(run.error, undefined);
    assert.equal(run.outputs.phase, "candidate");
    assert.equal(imagesOf(run).length, 1);
    assert.deepEqual(imagesOf(run)[0].inputs.tags, [`${registry.repository}:v1.4.0`]);
    assert.deepEqual(pushedTagsOf(run), [`${registry.repository}:v1.4.0`]);
    // Held where the registry has them (source = current digest, so nothing moves); v1.4 does not exist: unmanaged.
    assert.deepEqual(floatingTagsOf(run), { v1: registry.promoted, latest: registry.promoted });
    assert.deepEqual(seenDigestsOf(run), { v1: registry.promoted, latest: registry.promoted });
    // Named by the release whose digest latest has, so drift and roll forward check out 1.3.2, not the candidate.
    const promotedRef = `${registry.repository}:v1.3.2@${registry.promoted}`;
    assert.equal(run.outputs.imageRef, promotedRef);
    assert.deepEqual([run.outputs.version, run.outputs.candidateVersion], ["1.3.2", "1.4.0"]);
    assert.equal(run.outputs.digest, registry.promoted);
    // The candidate is the Image's digest, which the mock derives from its inputs (support/program.ts).
    const candidate = String(run.outputs.candidateRef);
    assert.match(candidate, new RegExp(`^${literal(registry.repository)}:v1\\.4\\.0@sha256:[0-9a-f]{64}$`));
    assert.notEqual(candidate.split("@")[1], registry.promoted);
    assert.deepEqual(variablesOf(run), {
      FINSIGHT_VARIANT: { value: "full", ignoreChanges: [] },
      // Created only if absent; afterwards GitHub keeps what it holds.
      FINSIGHT_BACKEND_IMAGE: { value: promotedRef, ignoreChanges: ["value"] },
      FINSIGHT_VERSION: { value: "1.3.2", ignoreChanges: ["value"] },
    });

    await registry.apply(run);
    for (const tag of ["latest", "v1", "v1.3"]) assert.equal(await registry.digestOf(tag), registry.promoted, tag);
    assert.equal(await registry.digestOf("v1.4"), undefined);
  });

  it("with nothing promoted yet, imageRef is empty and the variable says so", async () => {
    const run = await candidateRun((await namespacedRegistry("promotion")).config);
    assert.equal(run.error, undefined);
    assert.equal(run.outputs.imageRef, "");
    assert.deepEqual(floatingTagsOf(run), {});
    assert.equal(variablesOf(run).FINSIGHT_BACKEND_IMAGE.value, "none promoted yet");
  });
});

describe("promotion, then rollback", () => {
  it("promote moves latest, v1 and v1.4 to the candidate's digest without a build; a pin moves them back", async () => {
    const registry = await registryWithPromoted132();
    const labels = imagesOf(await candidateRun(registry.config))[0].inputs.labels as Record<string, string>;
    const candidate = await registry.seed("v1.4.0", labels); // what the candidate run pushed

    const promote = await runProgram({ stack: "prod", env: ENV, config: registry.config });
    assert.equal(promote.error, undefined);
    assert.equal(promote.outputs.phase, "promote");
    assert.deepEqual(imagesOf(promote), [], "promote: no build");
    assert.deepEqual(indexesOf(promote), []);
    assert.deepEqual(pushedTagsOf(promote), [], "promote: no push");
    assert.deepEqual(floatingTagsOf(promote), { "v1.4": candidate, v1: candidate, latest: candidate });
    assert.deepEqual(seenDigestsOf(promote), { "v1.4": "", v1: registry.promoted, latest: registry.promoted });
    const candidateRef = `${registry.repository}:v1.4.0@${candidate}`;
    assert.equal(promote.outputs.imageRef, candidateRef);
    assert.equal(promote.outputs.candidateRef, candidateRef);
    assert.deepEqual(variablesOf(promote), {
      FINSIGHT_VARIANT: { value: "full", ignoreChanges: [] },
      FINSIGHT_VERSION: { value: "1.4.0", ignoreChanges: [] },
      FINSIGHT_BACKEND_IMAGE: { value: candidateRef, ignoreChanges: [] },
    });

    await registry.apply(promote);
    const candidateBytes = await registry.manifest("v1.4.0");
    assert.equal(`sha256:${createHash("sha256").update(candidateBytes).digest("hex")}`, candidate);
    for (const tag of ["latest", "v1", "v1.4"]) {
      assert.equal(await registry.digestOf(tag), candidate, tag);
      assert.ok((await registry.manifest(tag)).equals(candidateBytes), `${tag} holds the candidate's very bytes`);
    }
    assert.equal(await registry.digestOf("v1.3"), registry.promoted, "v1.3 is not on 1.4's line");

    const rollback = await runProgram({
      stack: "prod",
      env: ENV,
      config: { ...registry.config, "finsight:pin": "1.3.2" },
    });
    assert.equal(rollback.error, undefined);
    assert.equal(rollback.outputs.phase, "rollback");
    assert.deepEqual(imagesOf(rollback), [], "rollback: no build");
    assert.deepEqual(pushedTagsOf(rollback), [], "rollback: no push");
    assert.deepEqual(floatingTagsOf(rollback), {
      "v1.3": registry.promoted,
      v1: registry.promoted,
      latest: registry.promoted,
      "v1.4": candidate, // held: 1.3.2 is not on the 1.4 line
    });
    assert.equal(rollback.outputs.imageRef, `${registry.repository}:v1.3.2@${registry.promoted}`);
    await registry.apply(rollback);
    for (const tag of ["latest", "v1"]) assert.equal(await registry.digestOf(tag), registry.promoted, tag);
    assert.equal(await registry.digestOf("v1.4.0"), candidate, "the candidate itself is untouched");
  });
});

describe("FINSIGHT_PROMOTE_DIGEST: the promotion of a verified candidate", () => {
  it("matching the release tag's digest, promotes it", async () => {
    const registry = await registryWithPromoted132();
    const labels = imagesOf(await candidateRun(registry.config))[0].inputs.labels as Record<string, string>;
    const candidate = await registry.seed("v1.4.0", labels);
    const run = await runProgram({
      stack: "prod",
      env: { ...ENV, FINSIGHT_PROMOTE_DIGEST: candidate },
      config: registry.config,
    });
    assert.equal(run.error, undefined);
    assert.deepEqual(imagesOf(run), []);
    assert.deepEqual(floatingTagsOf(run), { "v1.4": candidate, v1: candidate, latest: candidate });
  });

  it("another digest is refused, naming both", async () => {
    const registry = await registryWithPromoted132();
    const labels = imagesOf(await candidateRun(registry.config))[0].inputs.labels as Record<string, string>;
    const candidate = await registry.seed("v1.4.0", labels);
    assertRefused(
      await runProgram({
        stack: "prod",
        env: { ...ENV, FINSIGHT_PROMOTE_DIGEST: registry.promoted },
        config: registry.config,
      }),
      new RegExp(
        `^FINSIGHT_PROMOTE_DIGEST must be the digest of ${literal(registry.repository)}:v1\\.4\\.0, got ${registry.promoted}, but the registry has ${candidate}: `,
      ),
    );
  });

  it("a candidate that is not in the registry is refused, pointing at the candidate phase", async () => {
    const registry = await registryWithPromoted132();
    assertRefused(
      await runProgram({
        stack: "prod",
        env: { ...ENV, FINSIGHT_PROMOTE_DIGEST: registry.promoted },
        config: registry.config,
      }),
      new RegExp(
        `^FINSIGHT_PROMOTE_DIGEST ${registry.promoted}: the candidate ${literal(registry.repository)}:v1\\.4\\.0 is not in the registry.*FINSIGHT_PHASE=candidate`,
      ),
    );
  });
});

describe("per-run intents are never configuration", () => {
  it("finsight:promote left in a stack file is refused with the command that removes it, before anything is registered", async () => {
    const registry = await registryWithPromoted132();
    const run = await runProgram({
      stack: "prod",
      env: ENV,
      config: { ...registry.config, "finsight:promote": "false" },
    });
    assertRefused(
      run,
      /^finsight:promote is not configuration any more, got "false".*`pulumi config rm finsight:promote --stack prod`/,
    );
    assert.deepEqual(run.registered, []);
  });

  it("FINSIGHT_PHASE must be release or candidate: promote is refused, pointing at FINSIGHT_PROMOTE_DIGEST", async () => {
    const registry = await registryWithPromoted132();
    assertRefused(
      await runProgram({ stack: "prod", env: { ...ENV, FINSIGHT_PHASE: "promote" }, config: registry.config }),
      /^FINSIGHT_PHASE must be "release" .*, got "promote": a promotion is asked with FINSIGHT_PROMOTE_DIGEST=/,
    );
  });
});
