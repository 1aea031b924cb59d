import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BuildPlan, planBuilds } from "../../src/plan/builds";
import { planImageInputs } from "../../src/plan/image-inputs";
import { resolveVersion } from "../../src/plan/version";
import { CLEAN_SOURCE, REPOSITORY, settingsOf } from "../support/plan-fixtures";

const v140 = resolveVersion({ configured: { text: "1.4.0", from: "config" }, env: {} });
const q = (tag: string) => `${REPOSITORY}:${tag}`;

function builds(overrides: Record<string, string>, pushedTags = ["v1.4.0", "sha-0123456"]) {
  const settings = settingsOf("prod", overrides);
  const image = planImageInputs(settings, v140, CLEAN_SOURCE);
  return { image, ...planBuilds(settings, settings.repository, "finsight-backend-full", "v1.4.0", pushedTags, image) };
}
const shape = (build: BuildPlan) => ({ name: build.name, platforms: build.platforms, tags: build.tags });

describe("planBuilds", () => {
  it("one platform: one Image pushing every exact tag, no index", () => {
    const { image, builds: planned, indexes } = builds({});
    assert.deepEqual(planned, [
      {
        name: "finsight-backend-full",
        platforms: ["linux/amd64"],
        tags: [q("v1.4.0"), q("sha-0123456")],
        buildArgs: image.buildArgs,
        labels: image.labels,
        context: { location: "finsight" },
        dockerfile: { location: "finsight/Dockerfile.backend" },
        push: true,
        buildOnPreview: false,
        cacheFrom: [{ registry: { ref: q("buildcache-full") } }, { registry: { ref: q("buildcache-demo") } }],
        cacheTo: [
          {
            registry: {
              ref: q("buildcache-full"),
              mode: "max",
              ignoreError: true,
              imageManifest: true,
              ociMediaTypes: true,
            },
          },
        ],
      },
    ]);
    assert.deepEqual(indexes, []);
  });

  it("several platforms: one Image per platform under <release tag>-<platform>, an Index per exact tag", () => {
    const { builds: planned, indexes } = builds({ "finsight:platforms": '["linux/amd64","linux/arm64"]' });
    assert.deepEqual(planned.map(shape), [
      { name: "finsight-backend-full-linux-amd64", platforms: ["linux/amd64"], tags: [q("v1.4.0-linux-amd64")] },
      { name: "finsight-backend-full-linux-arm64", platforms: ["linux/arm64"], tags: [q("v1.4.0-linux-arm64")] },
    ]);
    assert.deepEqual(
      planned.map((build) => build.cacheTo.map((to) => ("registry" in to ? to.registry.ref : ""))),
      [[q("buildcache-full-linux-amd64")], [q("buildcache-full-linux-arm64")]],
    );
    const sources = ["finsight-backend-full-linux-amd64", "finsight-backend-full-linux-arm64"];
    assert.deepEqual(indexes, [
      { name: "finsight-backend-full-index-v1.4.0", tag: q("v1.4.0"), sources, push: true },
      { name: "finsight-backend-full-index-sha-0123456", tag: q("sha-0123456"), sources, push: true },
    ]);
  });

  it("an exact tag already pushed gets no index", () => {
    const { indexes } = builds({ "finsight:platforms": '["linux/amd64","linux/arm64"]' }, ["v1.4.0"]);
    assert.deepEqual(
      indexes.map((index) => index.tag),
      [q("v1.4.0")],
    );
  });

  it("builder, target, cacheRef and push=false pass through", () => {
    const [build] = builds({
      "finsight:builder": "finsight-remote",
      "finsight:target": "runtime",
      "finsight:cacheRef": "ghcr.io/acme/caches",
      "finsight:push": "false",
    }).builds;
    assert.deepEqual(
      [build.builder, build.target, build.push, build.cacheFrom[0]],
      [{ name: "finsight-remote" }, "runtime", false, { registry: { ref: "ghcr.io/acme/caches:buildcache-full" } }],
    );
  });

  it("no builder or target: the keys are absent, not undefined", () => {
    const [build] = builds({}).builds;
    assert.deepEqual(["builder" in build, "target" in build], [false, false]);
  });
});
