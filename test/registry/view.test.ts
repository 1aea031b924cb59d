import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readRegistryView } from "../../src/registry/view";
import { freePort, pushImage, putManifest, REGISTRY_CREDENTIALS, registryForSuite } from "../support/registry";

const credentials = REGISTRY_CREDENTIALS;

describe("registry view: one read shared by every decision of a run", () => {
  const registry = registryForSuite();

  it("one tag list, one manifest GET (hashed) per asked tag, and only the tags the list names in the view", async () => {
    const repository = "view/finsight-backend";
    const latest = await pushImage(registry.host, repository, "latest", { content: "1.4.0" });
    const v1 = await pushImage(registry.host, repository, "v1", { content: "1.4.0" });
    for (const tag of ["v1.3.2", "v1.4.0", "buildcache-full"]) await pushImage(registry.host, repository, tag);
    const view = await readRegistryView(
      { host: registry.host, repository, credentials },
      { releaseTag: "v1.5.0", digestsOf: ["v1.5", "v1", "latest", "v1"] },
    );
    assert.equal(view.status, "read");
    if (view.status !== "read") return;
    assert.deepEqual([...view.tags].sort(), ["buildcache-full", "latest", "v1", "v1.3.2", "v1.4.0"]);
    assert.deepEqual(view.digests, { v1, latest });
    assert.equal(view.releaseLabels, undefined, "v1.5.0 is not released");
    // The tag list, a GET for the release tag whatever the list says (a 404 here: a stale or lying list
    // must not decide that an exact tag is free), and one GET each for v1.5, v1 and latest, sent with
    // the list rather than after it (v1.5's 404 costs a request, not a round trip; the list does not
    // name it, so the view leaves it out). The credentials go with the first requests: no 401 first.
    assert.equal(view.requests, 5);
  });

  it("reads the labels of an existing release tag, through an index to its first platform image", async () => {
    const repository = "view/finsight-multi";
    const labels = { "finsight.release.build-inputs": "sha256:abc", "org.opencontainers.image.version": "2.0.0" };
    const amd64 = await pushImage(registry.host, repository, "v2.0.0-linux-amd64", { labels });
    const arm64 = await pushImage(registry.host, repository, "v2.0.0-linux-arm64", { labels, architecture: "arm64" });
    const child = (digest: string, architecture: string) => ({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest,
      size: 1,
      platform: { os: "linux", architecture },
    });
    await putManifest(registry.host, repository, "v2.0.0", {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [child(amd64, "amd64"), child(arm64, "arm64")],
    });
    const view = await readRegistryView(
      { host: registry.host, repository, credentials },
      { releaseTag: "v2.0.0", digestsOf: [] },
    );
    assert.equal(view.status, "read");
    if (view.status === "read") assert.deepEqual(view.releaseLabels, labels);
  });

  it("an unreachable registry is a view of its own, with the reason, never an exception", async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const view = await readRegistryView(
      { host, repository: "a/b", timeoutMs: 2000 },
      { releaseTag: "v1.0.0", digestsOf: ["latest"] },
    );
    assert.deepEqual(view, {
      status: "unavailable",
      reason: `registry ${host} (repository a/b): GET /v2/a/b/tags/list?n=1000: could not be reached at http://${host}: ECONNREFUSED`,
    });
  });
});
