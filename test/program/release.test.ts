import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { BUILD_INPUTS_LABEL } from "../../src/plan/release-guards";
import { assertNoLeaks } from "../support/leak-scanner";
import {
  defaultContext,
  FLOATING_TAG_TYPE,
  floatingTagsOf,
  gitFacts,
  imagesOf,
  indexesOf,
  runProgram,
  testRegistryLocation,
} from "../support/program";
import { REGISTRY_PASSWORD, REGISTRY_USER } from "../support/registry";

// The shipped stacks' ghcr.io/acme, moved onto the test registry (see support/program.ts).
let REPO = "";
before(async () => {
  REPO = `${await testRegistryLocation()}/finsight-backend`;
});
const SHA = "4f2a9c0e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39";
// 2026-11-20T10:00:00Z: the commit time, which becomes the created label.
const CI_ENV = { GITHUB_REF_TYPE: "tag", GITHUB_REF_NAME: "v1.4.0", GITHUB_SHA: SHA, SOURCE_DATE_EPOCH: "1795168800" };

describe("Pulumi.demo.yaml", () => {
  it("builds the light image with its build args, tags, cache and labels", async () => {
    const run = await runProgram({ stack: "demo", env: CI_ENV });
    assert.equal(run.error, undefined);
    const [image, ...others] = imagesOf(run);
    assert.equal(others.length, 0);
    assert.equal(image.name, "finsight-backend-demo");
    assert.deepEqual(image.inputs.buildArgs, { USE_LIGHT: "1", SKIP_ML: "1", SOURCE_DATE_EPOCH: "1795168800" });
    // The build pushes the immutable tag only; the floating tag is moved to its digest separately.
    assert.deepEqual(image.inputs.tags, [`${REPO}:demo-v1.4.0`]);
    assert.deepEqual(floatingTagsOf(run), { demo: run.outputs.digest });
    assert.equal(image.inputs.push, true);
    assert.deepEqual(image.inputs.platforms, ["linux/amd64"]);
    assert.deepEqual(image.inputs.context, { location: defaultContext() });
    assert.deepEqual(image.inputs.dockerfile, { location: `${defaultContext()}/Dockerfile.backend` });
    assert.equal(image.inputs.buildOnPreview, true);
    assert.deepEqual(image.inputs.cacheFrom, [
      { registry: { ref: `${REPO}:buildcache-demo` } },
      { registry: { ref: `${REPO}:buildcache-full` } },
    ]);
    assert.deepEqual(image.inputs.cacheTo, [
      {
        registry: {
          ref: `${REPO}:buildcache-demo`,
          mode: "max",
          ignoreError: true,
          imageManifest: true,
          ociMediaTypes: true,
        },
      },
    ]);
    const { [BUILD_INPUTS_LABEL]: buildInputs, ...labels } = image.inputs.labels as Record<string, string>;
    assert.match(buildInputs, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(labels, {
      "org.opencontainers.image.title": "finsight-backend",
      "org.opencontainers.image.description":
        "FinSight backend, light demo build (requirements.light.txt, ML disabled)",
      "org.opencontainers.image.version": "1.4.0",
      // The context's own commit and tree, not GITHUB_SHA (the workflow's commit).
      "org.opencontainers.image.revision": gitFacts(defaultContext()).revision,
      "finsight.release.source-tree": gitFacts(defaultContext()).tree,
      "org.opencontainers.image.created": "2026-11-20T10:00:00Z",
      "org.opencontainers.image.source": "https://github.com/acme/finsight",
      "finsight.release.variant": "demo",
    });
    assert.equal(image.retainOnDelete, true, "a destroy must not delete pushed tags");
    assert.equal(indexesOf(run).length, 0);
  });

  it("exports the digest-pinned ref, the tags and where the version came from", async () => {
    const run = await runProgram({ stack: "demo", env: CI_ENV });
    const { imageRef, digest, tags, version, versionSource, variant } = run.outputs as Record<string, string>;
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(imageRef, `${REPO}:demo-v1.4.0@${digest}`);
    assert.deepEqual(tags, [`${REPO}:demo-v1.4.0`, `${REPO}:demo`]);
    assert.deepEqual(run.outputs.floatingTags, { demo: digest });
    assert.equal(version, "1.4.0");
    assert.equal(versionSource, "git tag");
    assert.equal(variant, "demo");
  });
});

describe("Pulumi.prod.yaml", () => {
  it("builds the full image with every stable tag and its own cache", async () => {
    const run = await runProgram({ stack: "prod", env: CI_ENV });
    assert.equal(run.error, undefined);
    const [image] = imagesOf(run);
    assert.equal(image.name, "finsight-backend-full");
    assert.deepEqual(image.inputs.buildArgs, { USE_LIGHT: "0", SOURCE_DATE_EPOCH: "1795168800" });
    assert.deepEqual(image.inputs.tags, [`${REPO}:v1.4.0`]);
    const digest = run.outputs.digest;
    assert.deepEqual(floatingTagsOf(run), { "v1.4": digest, v1: digest, latest: digest });
    assert.equal(image.inputs.buildOnPreview, false);
    assert.deepEqual(image.inputs.cacheFrom, [
      { registry: { ref: `${REPO}:buildcache-full` } },
      { registry: { ref: `${REPO}:buildcache-demo` } },
    ]);
    assert.equal((image.inputs.labels as Record<string, string>)["finsight.release.variant"], "full");
    assert.equal(image.retainOnDelete, true);
    assert.equal(run.outputs.imageRef, `${REPO}:v1.4.0@${run.outputs.digest}`);
  });

  it("a release candidate gets its exact tag only: never latest, v1.5 or v1", async () => {
    const run = await runProgram({ stack: "prod", env: { RELEASE_VERSION: "1.5.0-rc.1" } });
    assert.deepEqual(imagesOf(run)[0].inputs.tags, [`${REPO}:v1.5.0-rc.1`]);
    assert.deepEqual(floatingTagsOf(run), {});
  });

  it("stack config version wins over the environment", async () => {
    const run = await runProgram({ stack: "prod", env: CI_ENV, config: { "finsight:version": "v1.3.2" } });
    assert.equal(run.outputs.version, "1.3.2");
    assert.equal(run.outputs.versionSource, "config");
  });

  it("registry credentials reach docker-build and the floating tags as secrets, keyed by the registry host", async () => {
    const run = await runProgram({
      stack: "prod",
      env: CI_ENV,
      config: { "finsight:registryUsername": REGISTRY_USER },
      secrets: { "finsight:registryPassword": REGISTRY_PASSWORD },
    });
    assert.equal(run.error, undefined);
    const [image] = imagesOf(run);
    assert.deepEqual(image.secretInputs, ["registries.0.password"]);
    const registries = image.inputs.registries as { address: string; username: string }[];
    assert.equal(registries[0].address, REPO.split("/")[0]);
    assert.equal(registries[0].username, REGISTRY_USER);
    const tags = run.registered.filter((r) => r.type === FLOATING_TAG_TYPE);
    assert.equal(tags.length, 3);
    for (const tag of tags) {
      assert.deepEqual(tag.secretInputs, ["password"]);
      assert.equal(tag.inputs.username, REGISTRY_USER);
    }
    assertNoLeaks({ outputs: JSON.stringify(run.outputs) }, [REGISTRY_PASSWORD]);
  });

  it("without stack credentials no password enters the state: pushes and tag moves use the docker login", async () => {
    const run = await runProgram({ stack: "prod", env: CI_ENV });
    assert.equal(imagesOf(run)[0].inputs.registries, undefined, "docker-build uses the ambient login itself");
    const [tag] = run.registered.filter((r) => r.type === FLOATING_TAG_TYPE);
    assert.equal(tag.inputs.username, undefined);
    assert.equal(tag.inputs.password, undefined);
    assert.deepEqual(tag.secretInputs, []);
  });

  it("several platforms: one cached image per platform joined by an index under the release tag", async () => {
    const run = await runProgram({
      stack: "prod",
      env: CI_ENV,
      config: { "finsight:platforms": '["linux/amd64","linux/arm64"]' },
    });
    assert.equal(run.error, undefined);
    const images = imagesOf(run);
    assert.deepEqual(
      images.map((i) => [i.name, i.inputs.platforms, i.inputs.tags]),
      [
        ["finsight-backend-full-linux-amd64", ["linux/amd64"], [`${REPO}:v1.4.0-linux-amd64`]],
        ["finsight-backend-full-linux-arm64", ["linux/arm64"], [`${REPO}:v1.4.0-linux-arm64`]],
      ],
    );
    assert.deepEqual(images[1].inputs.cacheTo, [
      {
        registry: {
          ref: `${REPO}:buildcache-full-linux-arm64`,
          mode: "max",
          ignoreError: true,
          imageManifest: true,
          ociMediaTypes: true,
        },
      },
    ]);
    const indexes = indexesOf(run);
    assert.deepEqual(
      indexes.map((i) => i.inputs.tag),
      [`${REPO}:v1.4.0`],
    );
    const digest = String(run.outputs.digest);
    assert.deepEqual(floatingTagsOf(run), { "v1.4": digest, v1: digest, latest: digest });
    for (const index of indexes) {
      assert.equal((index.inputs.sources as string[]).length, 2);
      assert.match((index.inputs.sources as string[])[1], new RegExp(`^${REPO}:v1\\.4\\.0-linux-arm64@sha256:`));
      assert.equal(index.retainOnDelete, true, "deleting an Index would delete its tag");
    }
    assert.match(String(run.outputs.imageRef), new RegExp(`^${REPO}:v1\\.4\\.0@sha256:[0-9a-f]{64}$`));
  });

  it("gha cache: a scope per variant, so demo and full never overwrite each other", async () => {
    const demo = imagesOf(await runProgram({ stack: "demo", env: CI_ENV, config: { "finsight:cache": "gha" } }))[0];
    const full = imagesOf(await runProgram({ stack: "prod", env: CI_ENV, config: { "finsight:cache": "gha" } }))[0];
    assert.deepEqual(demo.inputs.cacheTo, [
      { gha: { scope: "finsight-backend-demo", mode: "max", ignoreError: true } },
    ]);
    assert.deepEqual(full.inputs.cacheTo, [
      { gha: { scope: "finsight-backend-full", mode: "max", ignoreError: true } },
    ]);
    assert.deepEqual(full.inputs.cacheFrom, [
      { gha: { scope: "finsight-backend-full" } },
      { gha: { scope: "finsight-backend-demo" } },
    ]);
  });

  it("builder and target pass through; cache none sends no cache", async () => {
    const run = await runProgram({
      stack: "prod",
      env: CI_ENV,
      config: { "finsight:builder": "finsight-remote", "finsight:target": "runtime", "finsight:cache": "none" },
    });
    const [image] = imagesOf(run);
    assert.deepEqual(image.inputs.builder, { name: "finsight-remote" });
    assert.equal(image.inputs.target, "runtime");
    assert.deepEqual(image.inputs.cacheFrom, []);
    assert.deepEqual(image.inputs.cacheTo, []);
  });
});

describe("idempotence", () => {
  it("two evaluations with the same inputs register identical resources", async () => {
    for (const stack of ["demo", "prod"]) {
      const first = await runProgram({ stack, env: CI_ENV });
      const second = await runProgram({ stack, env: CI_ENV });
      assert.deepEqual(second.registered, first.registered);
      assert.deepEqual(second.outputs, first.outputs);
    }
  });

  it("a CI run id does not reach the image unless a template asks for it", async () => {
    const a = await runProgram({ stack: "demo", env: { ...CI_ENV, GITHUB_RUN_ID: "101" } });
    const b = await runProgram({ stack: "demo", env: { ...CI_ENV, GITHUB_RUN_ID: "202" } });
    assert.deepEqual(imagesOf(a)[0].inputs, imagesOf(b)[0].inputs);
  });
});
