import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SourceFacts } from "../../src/model/source-facts";
import { planImageInputs } from "../../src/plan/image-inputs";
import { BUILD_INPUTS_LABEL } from "../../src/plan/release-guards";
import { resolveVersion } from "../../src/plan/version";
import { CLEAN_SOURCE, settingsOf } from "../support/plan-fixtures";

const v140 = resolveVersion({ configured: { text: "1.4.0", from: "config" }, env: {} });

describe("planImageInputs: build args, Dockerfile and labels", () => {
  it("full: USE_LIGHT=0 and the commit time; the Dockerfile inside the context", () => {
    const image = planImageInputs(settingsOf("prod"), v140, CLEAN_SOURCE);
    assert.deepEqual(image.buildArgs, { USE_LIGHT: "0", SOURCE_DATE_EPOCH: "1700000000" });
    assert.equal(image.dockerfile, "finsight/Dockerfile.backend");
    assert.equal(image.labels["finsight.release.source-tree"], CLEAN_SOURCE.tree);
    assert.equal(image.labels["org.opencontainers.image.source"], "https://github.com/acme/finsight");
    assert.match(image.labels[BUILD_INPUTS_LABEL], /^sha256:[0-9a-f]{64}$/);
  });

  it("demo without a commit time: USE_LIGHT=1 SKIP_ML=1 and no SOURCE_DATE_EPOCH", () => {
    const image = planImageInputs(settingsOf("demo", { "finsight:dockerfile": "docker/Dockerfile" }), v140, {
      contextExists: true,
      uncommitted: [],
    });
    assert.deepEqual(image.buildArgs, { USE_LIGHT: "1", SKIP_ML: "1" });
    assert.equal(image.dockerfile, "finsight/docker/Dockerfile");
    assert.equal("finsight.release.source-tree" in image.labels, false);
  });
});

describe("the build-inputs label: the same for the same content, different for any other", () => {
  const labelOf = (overrides: Record<string, string> = {}, source: Partial<SourceFacts> = {}, version = v140) =>
    planImageInputs(settingsOf("prod", overrides), version, { ...CLEAN_SOURCE, ...source }).labels[BUILD_INPUTS_LABEL];
  const baseline = labelOf();

  it("is stable for the same inputs", () => assert.equal(labelOf(), baseline));

  const same: { name: string; overrides?: Record<string, string>; source?: Partial<SourceFacts> }[] = [
    {
      name: "another registry (a mirror of the same release)",
      overrides: { "finsight:registry": "localhost:5000/acme" },
    },
    { name: "not pushing", overrides: { "finsight:push": "false" } },
    { name: "another cache", overrides: { "finsight:cache": "gha" } },
    { name: "uncommitted files (refused elsewhere, not a build input)", source: { uncommitted: ["notes.txt"] } },
    // Same content, same release: an unrelated commit changes neither the tree nor what is built.
    { name: "another commit of the same tree", source: { revision: "fedcba9876543210fedcba9876543210fedcba98" } },
    { name: "another commit time", source: { commitEpoch: 1700000001 } },
    { name: "the licence label (metadata, not content)", overrides: { "finsight:licenses": "MIT" } },
  ];
  for (const c of same) it(`same: ${c.name}`, () => assert.equal(labelOf(c.overrides, c.source), baseline));

  const different: { name: string; overrides?: Record<string, string>; source?: Partial<SourceFacts> }[] = [
    { name: "another source tree", source: { tree: "fedcba9876543210fedcba9876543210fedcba98" } },
    { name: "the variant", overrides: { "finsight:variant": "demo" } },
    { name: "a target stage", overrides: { "finsight:target": "runtime" } },
    { name: "the platforms", overrides: { "finsight:platforms": '["linux/amd64","linux/arm64"]' } },
    { name: "the Dockerfile", overrides: { "finsight:dockerfile": "Dockerfile" } },
  ];
  for (const c of different) {
    it(`differs: ${c.name}`, () => assert.notEqual(labelOf(c.overrides, c.source), baseline));
  }
  it("differs: the version", () =>
    assert.notEqual(
      labelOf({}, {}, resolveVersion({ configured: { text: "1.4.1", from: "config" }, env: {} })),
      baseline,
    ));
});
