import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { floatingTagProvider } from "../../src/resources/floating-tag";
import { faultProxyForSuite } from "../support/fault-proxy";
import {
  pushImage,
  putManifest,
  REGISTRY_PASSWORD,
  REGISTRY_USER,
  registryForSuite,
  tagDigest,
  tagProps,
  writeDockerLogin,
} from "../support/registry";

describe("floating tag provider against a real registry", () => {
  const registry = registryForSuite();

  const props = (repository: string, tag: string, source: string) => tagProps(registry.host, repository, tag, source);

  it("points the tag at the release's own digest, and back, remembering what it replaced", async () => {
    const repository = "acme/finsight-backend";
    const v132 = await pushImage(registry.host, repository, "v1.3.2");
    const v140 = await pushImage(registry.host, repository, "v1.4.0");
    assert.notEqual(v132, v140);

    const created = await floatingTagProvider.create(props(repository, "latest", v140));
    assert.equal(created.id, `${registry.host}/${repository}:latest`);
    assert.equal(created.outs.digest, v140);
    assert.equal(created.outs.previousDigest, "");
    assert.equal(await tagDigest(registry.host, repository, "latest"), v140);
    assert.equal(created.outs.password, undefined, "the password is never an output");

    // Roll back: the same tag, the older release's digest, byte for byte.
    const rolledBack = await floatingTagProvider.update?.(created.id, created.outs, props(repository, "latest", v132));
    assert.equal(rolledBack?.outs.digest, v132);
    assert.equal(rolledBack?.outs.previousDigest, v140);
    assert.equal(await tagDigest(registry.host, repository, "latest"), v132);
  });

  it("keeps an index's digest too (multi-platform releases)", async () => {
    const repository = "acme/finsight-multi";
    const amd64 = await pushImage(registry.host, repository, "v2.0.0-linux-amd64", { architecture: "amd64" });
    const arm64 = await pushImage(registry.host, repository, "v2.0.0-linux-arm64", { architecture: "arm64" });
    const manifest = (digest: string, architecture: string) => ({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest,
      size: 1, // the registry checks that children exist, not their size
      platform: { os: "linux", architecture },
    });
    const index = await putManifest(registry.host, repository, "v2.0.0", {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [manifest(amd64, "amd64"), manifest(arm64, "arm64")],
    });
    const created = await floatingTagProvider.create(props(repository, "v2", index));
    assert.equal(created.outs.digest, index);
    assert.equal(await tagDigest(registry.host, repository, "v2"), index);
  });

  it("refuses to point a tag at an image the registry does not have", async () => {
    const missing = `sha256:${"0".repeat(64)}`;
    await assert.rejects(
      floatingTagProvider.create(props("acme/finsight-backend", "latest", missing)),
      new RegExp(`has no image ${missing}, so tag latest cannot point at it`),
    );
  });

  it("diff: a new source updates, a new tag replaces, rotated credentials change nothing", async () => {
    const olds = { ...props("a/b", "latest", "sha256:1"), password: undefined, digest: "sha256:1", previousDigest: "" };
    const same = await floatingTagProvider.diff?.("id", olds, {
      ...props("a/b", "latest", "sha256:1"),
      password: "rotated",
    });
    assert.deepEqual(same, { changes: false, replaces: [], deleteBeforeReplace: false });
    const moved = await floatingTagProvider.diff?.("id", olds, props("a/b", "latest", "sha256:2"));
    assert.deepEqual(moved, { changes: true, replaces: [], deleteBeforeReplace: false });
    const renamed = await floatingTagProvider.diff?.("id", olds, props("a/b", "stable", "sha256:1"));
    assert.deepEqual(renamed, { changes: true, replaces: ["tag"], deleteBeforeReplace: false });
    // A refresh that found the tag deleted ("") is drift too, and so is the plan's own reading of it
    // (seenDigest, read by every run); a plan that saw the tag on its source changes nothing.
    const deleted = await floatingTagProvider.diff?.("id", { ...olds, digest: "" }, props("a/b", "latest", "sha256:1"));
    assert.deepEqual(deleted, { changes: true, replaces: [], deleteBeforeReplace: false });
    const seenGone = await floatingTagProvider.diff?.("id", olds, {
      ...props("a/b", "latest", "sha256:1"),
      seenDigest: "",
    });
    assert.deepEqual(seenGone, { changes: true, replaces: [], deleteBeforeReplace: false });
    const seenHome = await floatingTagProvider.diff?.("id", olds, {
      ...props("a/b", "latest", "sha256:1"),
      seenDigest: "sha256:1",
    });
    assert.deepEqual(seenHome, same);
  });

  it("refresh reads where the tag really points, so a tag moved by hand shows as drift", async () => {
    const repository = "acme/finsight-drift";
    const good = await pushImage(registry.host, repository, "v1.4.0");
    const other = await pushImage(registry.host, repository, "v1.3.2");
    const created = await floatingTagProvider.create(props(repository, "latest", good));
    const home = writeDockerLogin(fs.mkdtempSync(path.join(os.tmpdir(), "finsight-login-")), registry.host);
    const auth = Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString("base64");
    const savedDockerConfig = process.env.DOCKER_CONFIG;
    process.env.DOCKER_CONFIG = home; // the docker login of the machine running pulumi refresh
    try {
      const unchanged = await floatingTagProvider.read?.(created.id, created.outs);
      assert.equal(unchanged?.props?.digest, good);
      assert.equal(
        (await floatingTagProvider.diff?.(created.id, unchanged?.props, props(repository, "latest", good)))?.changes,
        false,
      );

      // Someone re-points latest by hand.
      const manifest = await fetch(`http://${registry.host}/v2/${repository}/manifests/${other}`, {
        headers: {
          authorization: `Basic ${auth}`,
          accept: "application/vnd.oci.image.manifest.v1+json",
        },
      });
      await putManifest(registry.host, repository, "latest", JSON.parse(await manifest.text()));
      const refreshed = await floatingTagProvider.read?.(created.id, created.outs);
      assert.equal(refreshed?.props?.digest, other);
      const drift = await floatingTagProvider.diff?.(created.id, refreshed?.props, props(repository, "latest", good));
      assert.deepEqual(drift, { changes: true, replaces: [], deleteBeforeReplace: false });
      // Without a login that may read the tag, refresh keeps what it knew rather than failing.
      fs.rmSync(path.join(home, "config.json"));
      const anonymous = await floatingTagProvider.read?.(created.id, created.outs);
      assert.equal(anonymous?.props?.digest, good);
    } finally {
      if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = savedDockerConfig;
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it("delete leaves the tag in the registry", async () => {
    const repository = "acme/finsight-keep";
    const digest = await pushImage(registry.host, repository, "v1.0.0");
    const created = await floatingTagProvider.create(props(repository, "latest", digest));
    await floatingTagProvider.delete?.(created.id, created.outs);
    assert.equal(await tagDigest(registry.host, repository, "latest"), digest);
  });

  it("still works once Pulumi has serialised it into plain JavaScript, as the engine runs it", async () => {
    const repository = "acme/finsight-serialised";
    const digest = await pushImage(registry.host, repository, "v1.0.0");
    const serialised = await pulumi.runtime.serializeFunction(() => floatingTagProvider, { allowSecrets: false });
    assert.equal(serialised.containsSecrets, false);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "finsight-provider-"));
    try {
      fs.writeFileSync(path.join(dir, "provider.js"), serialised.text);
      // A separate plain node process: no tsx, no project modules, only the serialised text.
      // create, then read (refresh) with the docker login that pulumi's own environment would carry.
      const script = [
        `const provider = require(${JSON.stringify(path.join(dir, "provider.js"))}).${serialised.exportName}();`,
        "(async () => {",
        "  const created = await provider.create(JSON.parse(process.env.PROPS));",
        // A stale recorded digest: only a read that really reached the registry can correct it.
        '  const read = await provider.read(created.id, { ...created.outs, digest: "sha256:stale" });',
        "  console.log(JSON.stringify({ created, read }));",
        "})();",
      ].join("\n");
      writeDockerLogin(dir, registry.host);
      const output = execFileSync(process.execPath, ["-e", script], {
        cwd: dir,
        env: { PATH: process.env.PATH, DOCKER_CONFIG: dir, PROPS: JSON.stringify(props(repository, "latest", digest)) },
        encoding: "utf8",
        timeout: 20_000,
      });
      const result = JSON.parse(output) as {
        created: { outs: { digest: string } };
        read: { props: { digest: string } };
      };
      assert.equal(result.created.outs.digest, digest);
      assert.equal(result.read.props.digest, digest);
      assert.equal(await tagDigest(registry.host, repository, "latest"), digest);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("floating tags converge, and never move behind the plan's back", () => {
  const registry = registryForSuite();
  const proxy = faultProxyForSuite(() => registry.host);
  const repository = "converge/finsight-backend";
  const digests: Record<string, string> = {};
  const props = (tag: string, source: string, extra: { seenDigest?: string; host?: string } = {}) =>
    tagProps(extra.host ?? registry.host, repository, tag, source, extra);
  /** Re-points `tag` by hand (as someone with push rights would), bypassing the provider. */
  const pointByHand = async (tag: string, digest: string) => {
    const auth = Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString("base64");
    const manifest = await fetch(`http://${registry.host}/v2/${repository}/manifests/${digest}`, {
      headers: { authorization: `Basic ${auth}`, accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    await putManifest(registry.host, repository, tag, JSON.parse(await manifest.text()));
  };
  /** Runs `body` with DOCKER_CONFIG at a directory holding (or not) a docker login for the registry. */
  const withDockerConfig = async <T>(login: boolean, body: () => Promise<T>): Promise<T> => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "finsight-login-"));
    if (login) writeDockerLogin(dir, registry.host);
    const saved = process.env.DOCKER_CONFIG;
    process.env.DOCKER_CONFIG = dir;
    try {
      return await body();
    } finally {
      if (saved === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  const ensureImages = async () => {
    if (digests.v140) return;
    digests.v131 = await pushImage(registry.host, repository, "v1.3.1");
    digests.v132 = await pushImage(registry.host, repository, "v1.3.2");
    digests.v140 = await pushImage(registry.host, repository, "v1.4.0");
  };

  it('a tag deleted by hand reads as "" on refresh, is drift, and the next update puts it back', async () => {
    await ensureImages();
    const created = await floatingTagProvider.create(props("deleted", digests.v140));
    registry.deleteTag(repository, "deleted");
    assert.equal(await tagDigest(registry.host, repository, "deleted"), undefined);
    const refreshed = await withDockerConfig(true, async () => floatingTagProvider.read?.(created.id, created.outs));
    assert.equal(refreshed?.props?.digest, "");
    const drift = await floatingTagProvider.diff?.(created.id, refreshed?.props, props("deleted", digests.v140));
    assert.deepEqual(drift, { changes: true, replaces: [], deleteBeforeReplace: false });
    // The next `pulumi up` plans again: it saw no such tag, so seenDigest is "".
    const repaired = await floatingTagProvider.update?.(
      created.id,
      refreshed?.props,
      props("deleted", digests.v140, { seenDigest: "" }),
    );
    assert.equal(repaired?.outs.digest, digests.v140);
    assert.equal(repaired?.outs.previousDigest, "");
    assert.equal(await tagDigest(registry.host, repository, "deleted"), digests.v140);
  });

  it("refuses to move a tag that no longer points where the plan saw it, naming the tag and both digests", async () => {
    await ensureImages();
    const created = await floatingTagProvider.create(props("latest", digests.v132));
    await pointByHand("latest", digests.v131); // someone rolls back by hand after the plan was made
    const move = props("latest", digests.v140, { seenDigest: digests.v132 });
    await assert.rejects(
      floatingTagProvider.update?.(created.id, created.outs, move) ?? Promise.resolve(),
      new RegExp(
        `tag latest now points at ${digests.v131}, but the plan saw ${digests.v132}; refusing to move it to ${digests.v140}`,
      ),
    );
    assert.equal(await tagDigest(registry.host, repository, "latest"), digests.v131, "left where the person put it");
    // A plan that saw no such tag does not overwrite one that appeared meanwhile.
    await assert.rejects(
      floatingTagProvider.update?.(created.id, created.outs, props("latest", digests.v140, { seenDigest: "" })) ??
        Promise.resolve(),
      /now points at sha256:[a-f0-9]{64}, but the plan saw no such tag/,
    );
    // A tag deleted after the plan saw it is not recreated behind its back either.
    registry.deleteTag(repository, "latest");
    await assert.rejects(
      floatingTagProvider.update?.(created.id, created.outs, move) ?? Promise.resolve(),
      new RegExp(`now points at no such tag \\(deleted\\), but the plan saw ${digests.v132}`),
    );
    await pointByHand("latest", digests.v131);
    // The plan that saw v1.3.1 moves it; a tag already at the target needs no expectation to hold.
    const moved = await floatingTagProvider.update?.(
      created.id,
      created.outs,
      props("latest", digests.v140, { seenDigest: digests.v131 }),
    );
    assert.equal(moved?.outs.digest, digests.v140);
    assert.equal(moved?.outs.previousDigest, digests.v131);
    const again = await floatingTagProvider.update?.(created.id, created.outs, move);
    assert.equal(again?.outs.previousDigest, digests.v140, "already there: nothing written, nothing refused");
    assert.equal(await tagDigest(registry.host, repository, "latest"), digests.v140);
  });

  it("without credential inputs it reads the docker login at run time, so the state never holds it", async () => {
    await ensureImages();
    const { username: _username, password: _password, ...anonymous } = props("ambient", digests.v132);
    const created = await withDockerConfig(true, () => floatingTagProvider.create(anonymous));
    assert.equal(created.outs.digest, digests.v132);
    assert.equal(JSON.stringify(created.outs).includes(REGISTRY_PASSWORD), false);
    assert.equal("username" in created.outs || "password" in created.outs, false);
    assert.equal(await tagDigest(registry.host, repository, "ambient"), digests.v132);
    await assert.rejects(
      withDockerConfig(false, () => floatingTagProvider.create(anonymous)),
      /HTTP 401.*finsight:registryUsername and finsight:registryPassword \(or the docker login for this host\)/,
    );
  });

  it("a lying registry cannot get its digest under a tag: digests are checked against the bytes", async () => {
    await ensureImages();
    await floatingTagProvider.create(props("lied", digests.v132));
    // HEAD claims the tag is already at the target: a client trusting it would skip the write.
    proxy.fault = { mode: "digest-lie", digest: digests.v140, headOnly: true };
    const viaProxy = props("lied", digests.v140, { host: proxy.host });
    const moved = await floatingTagProvider.create(viaProxy);
    assert.equal(moved.outs.previousDigest, digests.v132);
    assert.equal(await tagDigest(registry.host, repository, "lied"), digests.v140);
    // Every manifest answer states another digest than its bytes have: nothing is written.
    proxy.fault = { mode: "digest-lie", digest: digests.v131 };
    await assert.rejects(
      floatingTagProvider.create(props("lied", digests.v132, { host: proxy.host })),
      new RegExp(
        `GET /v2/${repository}/manifests/${digests.v132}: sent manifest bytes whose digest is ${digests.v132}, not ${digests.v131}`,
      ),
    );
    assert.equal(await tagDigest(registry.host, repository, "lied"), digests.v140);
    proxy.reset();
  });
});
