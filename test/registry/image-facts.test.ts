/**
 * What the view tells the promises about an image, read from a real registry: the platforms it holds
 * (promise 2) and the release it is, confirmed by that release's own tag (promises 3 and 4).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readRegistryView } from "../../src/registry/view";
import { pushImage, putManifest, REGISTRY_PASSWORD, REGISTRY_USER, registryForSuite } from "../support/registry";

const credentials = { username: REGISTRY_USER, password: REGISTRY_PASSWORD };
const VERSION = "org.opencontainers.image.version";

describe("registry view: the images behind the tags a run may serve, pin or float", () => {
  const registry = registryForSuite();
  const child = (digest: string, architecture: string) => ({
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest,
    size: 1, // the registry checks that children exist, not their size
    platform: { os: architecture === "unknown" ? "unknown" : "linux", architecture },
  });

  it("an index a failed arm64 build left holds linux/amd64 only; attestations are no platform", async () => {
    const repository = "facts/finsight-multi";
    const labels = { [VERSION]: "2.1.0" };
    const amd64 = await pushImage(registry.host, repository, "v2.1.0-linux-amd64", { labels });
    const attestation = await pushImage(registry.host, repository, "attestation", { content: "provenance" });
    const index = await putManifest(registry.host, repository, "v2.1.0", {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [child(amd64, "amd64"), child(attestation, "unknown")],
    });
    const view = await readRegistryView(
      { host: registry.host, repository, credentials },
      { releaseTag: "v2.1.0", digestsOf: [], imagesOf: ["v2.1.0"], releaseTagFor: (version) => `v${version}` },
    );
    assert.equal(view.status, "read");
    if (view.status !== "read") return;
    assert.deepEqual(view.images?.[index], {
      platforms: ["linux/amd64"],
      release: { version: "2.1.0", tag: "v2.1.0" },
    });
  });

  it("latest is named by its release when that release's own tag confirms the label; a forged label is not", async () => {
    const repository = "facts/finsight-backend";
    const v150 = await pushImage(registry.host, repository, "v1.5.0", {
      labels: { [VERSION]: "1.5.0" },
      architecture: "arm64",
      content: "1.5.0",
    });
    await pushImage(registry.host, repository, "latest", {
      labels: { [VERSION]: "1.5.0" },
      architecture: "arm64",
      content: "1.5.0",
    });
    // Someone pushes an image claiming 9.9.0 under v1: no v9.9.0 tag has its digest.
    const forged = await pushImage(registry.host, repository, "v1", { labels: { [VERSION]: "9.9.0" } });
    await pushImage(registry.host, repository, "v9.9.0", { labels: { [VERSION]: "9.9.0" }, content: "other" });
    const view = await readRegistryView(
      { host: registry.host, repository, credentials },
      {
        releaseTag: "v1.6.0",
        digestsOf: ["latest", "v1"],
        imagesOf: ["v1.6.0", "latest", "v1"],
        releaseTagFor: (version) => `v${version}`,
      },
    );
    assert.equal(view.status, "read");
    if (view.status !== "read") return;
    assert.equal(view.digests.latest, v150, "latest is a copy of v1.5.0's manifest");
    assert.deepEqual(view.images?.[v150], { platforms: ["linux/arm64"], release: { version: "1.5.0", tag: "v1.5.0" } });
    assert.deepEqual(view.images?.[forged], { platforms: ["linux/amd64"] });
  });
});
