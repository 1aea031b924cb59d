/**
 * A registry reached over HTTP, as a world's backend: the real docker-registry the tests start, or the
 * in-memory model served on loopback. The world's own pushes (what docker-build or someone else
 * writes) go through the registry's upload API with basic auth, as test/support/registry.ts seeds images.
 */
import { MANIFEST_MEDIA_TYPES } from "../../src/registry/client";
import { type StoredManifest, sha256 } from "../support/registry-model";
import type { RegistryBackend } from "./release-world";

export function httpBackend(
  host: string,
  repository: string,
  credentials?: { username: string; password: string },
): RegistryBackend {
  const send = globalThis.fetch; // the real fetch: the world swaps the global one for runs only
  const authorization = credentials
    ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`
    : undefined;
  const call = (path: string, init: RequestInit = {}) =>
    send(new URL(path, `http://${host}`), {
      ...init,
      headers: { ...(init.headers as Record<string, string>), ...(authorization ? { authorization } : {}) },
    });
  const base = `/v2/${repository}`;
  return {
    host,
    repository,
    ...(credentials ? { credentials } : {}),
    fetch: send,
    async putBlob(bytes) {
      const digest = sha256(bytes);
      const start = await call(`${base}/blobs/uploads/`, { method: "POST" });
      if (start.status !== 202) throw new Error(`blob upload: HTTP ${start.status}`);
      await start.body?.cancel();
      const location = new URL(start.headers.get("location") as string, `http://${host}`);
      location.searchParams.set("digest", digest);
      const put = await call(`${location.pathname}${location.search}`, {
        method: "PUT",
        headers: { "content-type": "application/octet-stream" },
        body: new Uint8Array(bytes),
      });
      if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${await put.text()}`);
      return digest;
    },
    async putManifest(tag, manifest) {
      const digest = sha256(manifest.bytes);
      const response = await call(`${base}/manifests/${tag ?? digest}`, {
        method: "PUT",
        headers: { "content-type": manifest.mediaType },
        body: new Uint8Array(manifest.bytes),
      });
      if (response.status !== 201) throw new Error(`manifest ${tag}: HTTP ${response.status} ${await response.text()}`);
      return digest;
    },
    async digestOf(tag) {
      return (await this.read(tag))?.digest;
    },
    async manifest(digest) {
      const found = await this.read(digest);
      return found && { bytes: found.bytes, mediaType: found.mediaType };
    },
    async blob(digest) {
      const response = await call(`${base}/blobs/${digest}`);
      if (response.status !== 200) return undefined;
      return Buffer.from(await response.arrayBuffer());
    },
    async tags() {
      const response = await call(`${base}/tags/list?n=1000`);
      if (response.status === 404) return [];
      const body = (await response.json()) as { tags: string[] | null };
      return [...(body.tags ?? [])].sort();
    },
    // Every manifest kind, Docker's too: offered less, distribution 2.8 converts a Docker manifest to schema 1.
    async read(reference: string) {
      const response = await call(`${base}/manifests/${reference}`, {
        headers: { accept: MANIFEST_MEDIA_TYPES.join(", ") },
      });
      if (response.status !== 200) return undefined;
      const bytes = Buffer.from(await response.arrayBuffer());
      return { bytes, mediaType: response.headers.get("content-type") ?? "", digest: sha256(bytes) };
    },
  } as RegistryBackend & { read(reference: string): Promise<(StoredManifest & { digest: string }) | undefined> };
}
