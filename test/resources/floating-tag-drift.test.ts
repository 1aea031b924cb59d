/**
 * Found by the generated histories (test/props, seed 19, history 94541 of 100,000): someone moved
 * `latest` back to an older release by hand, and the next promotion of the newest release left it
 * there. The plan had read the registry and planned `latest` -> the newest release, but the Pulumi
 * state still said the tag pointed there, so the provider's diff saw no change and never wrote it
 * (only a `pulumi refresh` would have). The plan's own reading, `seenDigest`, says where the tag is.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { floatingTagProvider } from "../../src/resources/floating-tag";
import { pushImage, putManifest, REGISTRY_CREDENTIALS, registryForSuite, tagDigest } from "../support/registry";

describe("a floating tag moved by hand is moved back by the next pulumi up, without a refresh", () => {
  const registry = registryForSuite();

  it("the plan saw latest elsewhere: the diff is a change, and the update puts it back", async () => {
    const repository = "drift/finsight-backend";
    const v150 = await pushImage(registry.host, repository, "v1.5.0");
    const v201 = await pushImage(registry.host, repository, "v2.0.1");
    const props = (seenDigest: string) => ({
      host: registry.host,
      repository,
      tag: "latest",
      source: v201,
      insecure: false,
      seenDigest,
      ...REGISTRY_CREDENTIALS,
    });
    const created = await floatingTagProvider.create(props(""));
    assert.equal(await tagDigest(registry.host, repository, "latest"), v201);

    // Someone points latest back at 1.5.0 by hand (a copy of its manifest, as crane tag does).
    const manifest = await fetch(`http://${registry.host}/v2/${repository}/manifests/v1.5.0`, {
      headers: {
        accept: "application/vnd.oci.image.manifest.v1+json",
        authorization: `Basic ${Buffer.from(`${REGISTRY_CREDENTIALS.username}:${REGISTRY_CREDENTIALS.password}`).toString("base64")}`,
      },
    });
    await putManifest(registry.host, repository, "latest", JSON.parse(await manifest.text()));
    assert.equal(await tagDigest(registry.host, repository, "latest"), v150);

    // The next run's plan read latest at 1.5.0 and wants 2.0.1; the state still says 2.0.1.
    const diff = await floatingTagProvider.diff?.(created.id, created.outs, props(v150));
    assert.equal(diff?.changes, true, "the plan saw the tag elsewhere: that is a change to make");
    const updated = await floatingTagProvider.update?.(created.id, created.outs, props(v150));
    assert.equal(updated?.outs.digest, v201);
    assert.equal(await tagDigest(registry.host, repository, "latest"), v201);

    // Where the plan saw the tag already on its source, there is nothing to do.
    const settled = await floatingTagProvider.diff?.(created.id, updated?.outs, props(v201));
    assert.equal(settled?.changes, false);
  });
});
