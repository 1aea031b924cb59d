/**
 * An in-memory model of an OCI registry (the distribution spec's tag list, manifest GET/HEAD/PUT and
 * blob GET), for the generated release histories of test/props: thousands of runs a minute, each
 * answered in-process. It speaks HTTP semantics (status codes, Docker-Content-Digest, Content-Type,
 * Link pagination), so the registry client, the view and the floating-tag provider run as shipped:
 * either through `fetch` (a WHATWG Request in, a Response out, no socket) or over loopback HTTP
 * (`serve`), the same handler both ways. It checks what distribution checks on a manifest PUT (the
 * JSON, the blobs and children it names) and nothing about authentication.
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export interface StoredManifest {
  bytes: Buffer;
  mediaType: string;
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer;
}

const json = (status: number, value: unknown, headers: Record<string, string> = {}): Answer => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: Buffer.from(JSON.stringify(value)),
});
const error = (status: number, code: string, message: string) => json(status, { errors: [{ code, message }] });

/** One repository's content, keyed as distribution keys it. */
class Repository {
  readonly tags = new Map<string, string>();
  readonly manifests = new Map<string, StoredManifest>();
  readonly blobs = new Map<string, Buffer>();
}

export class RegistryModel {
  private readonly repositories = new Map<string, Repository>();
  /** Every request answered, for the figures a test prints. */
  requests = 0;

  private repository(name: string): Repository {
    let found = this.repositories.get(name);
    if (!found) {
      found = new Repository();
      this.repositories.set(name, found);
    }
    return found;
  }

  /** A deep copy: the same tags, manifests and blobs (bytes are never mutated, so they are shared). */
  clone(): RegistryModel {
    const copy = new RegistryModel();
    for (const [name, repository] of this.repositories) {
      const target = copy.repository(name);
      for (const [tag, digest] of repository.tags) target.tags.set(tag, digest);
      for (const [digest, manifest] of repository.manifests) target.manifests.set(digest, manifest);
      for (const [digest, blob] of repository.blobs) target.blobs.set(digest, blob);
    }
    return copy;
  }

  // -- the store a test writes through directly (what a build, or someone else, pushes) --------

  putBlob(name: string, bytes: Buffer): string {
    const digest = sha256(bytes);
    this.repository(name).blobs.set(digest, bytes);
    return digest;
  }

  /** Stores a manifest under a tag (or by digest alone), as a PUT would; throws what distribution would refuse. */
  putManifest(name: string, reference: string | undefined, manifest: StoredManifest): string {
    const answer = this.storeManifest(name, reference, manifest);
    if (answer.status !== 201) throw new Error(`manifest PUT refused: ${answer.body?.toString()}`);
    return sha256(manifest.bytes);
  }

  /** Removes a tag as a registry's tag deletion does: the manifest and its other tags stay. */
  deleteTag(name: string, tag: string): void {
    this.repository(name).tags.delete(tag);
  }

  digestOf(name: string, tag: string): string | undefined {
    return this.repository(name).tags.get(tag);
  }

  manifest(name: string, digest: string): StoredManifest | undefined {
    return this.repository(name).manifests.get(digest);
  }

  blob(name: string, digest: string): Buffer | undefined {
    return this.repository(name).blobs.get(digest);
  }

  tagList(name: string): string[] {
    return [...this.repository(name).tags.keys()].sort();
  }

  // -- the HTTP API ---------------------------------------------------------------------------

  /** Answers one request of the distribution API. */
  handle(method: string, url: URL, contentType: string | undefined, body: Buffer | undefined): Answer {
    this.requests++;
    if (url.pathname === "/v2/" || url.pathname === "/v2") return json(200, {});
    // Monolithic blob upload (POST, then PUT with the digest), as the tests' own seeding uses it.
    const upload = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(url.pathname);
    if (upload) {
      const [, name, session] = upload;
      if (method === "POST" && session === "") {
        return { status: 202, headers: { location: `/v2/${name}/blobs/uploads/${this.requests}` } };
      }
      const digest = url.searchParams.get("digest") ?? "";
      if (method !== "PUT" || !body || sha256(body) !== digest) return error(400, "DIGEST_INVALID", digest);
      this.repository(name).blobs.set(digest, body);
      return { status: 201, headers: { "docker-content-digest": digest } };
    }
    const route = /^\/v2\/(.+)\/(tags\/list|manifests\/([^/]+)|blobs\/([^/]+))$/.exec(url.pathname);
    if (!route) return error(404, "NOT_FOUND", `no route ${url.pathname}`);
    const [, name, , manifestRef, blobRef] = route;
    const repository = this.repositories.get(name);
    if (route[2] === "tags/list") {
      if (method !== "GET") return error(405, "UNSUPPORTED", method);
      if (!repository) return error(404, "NAME_UNKNOWN", `repository ${name} not known`);
      return this.tagPage(name, repository, url);
    }
    if (blobRef !== undefined) {
      if (method !== "GET" && method !== "HEAD") return error(405, "UNSUPPORTED", method);
      const blob = repository?.blobs.get(blobRef);
      if (!blob) return error(404, "BLOB_UNKNOWN", `blob ${blobRef} unknown`);
      return {
        status: 200,
        headers: { "content-type": "application/octet-stream", "docker-content-digest": blobRef },
        ...(method === "GET" ? { body: blob } : {}),
      };
    }
    if (method === "PUT") {
      if (!contentType) return error(400, "MANIFEST_INVALID", "no Content-Type");
      return this.storeManifest(name, manifestRef, { bytes: body ?? Buffer.alloc(0), mediaType: contentType });
    }
    if (method !== "GET" && method !== "HEAD") return error(405, "UNSUPPORTED", method);
    const digest = DIGEST.test(manifestRef) ? manifestRef : repository?.tags.get(manifestRef);
    const manifest = digest ? repository?.manifests.get(digest) : undefined;
    if (!digest || !manifest) return error(404, "MANIFEST_UNKNOWN", `manifest ${manifestRef} unknown`);
    return {
      status: 200,
      headers: { "content-type": manifest.mediaType, "docker-content-digest": digest },
      ...(method === "GET" ? { body: manifest.bytes } : {}),
    };
  }

  private tagPage(name: string, repository: Repository, url: URL): Answer {
    const all = [...repository.tags.keys()].sort();
    const size = Number(url.searchParams.get("n") ?? "1000");
    const last = url.searchParams.get("last");
    const from = last === null ? 0 : all.findIndex((tag) => tag > last);
    const page = from < 0 ? [] : all.slice(from, from + size);
    const more = from >= 0 && from + size < all.length;
    return json(
      200,
      { name, tags: page },
      more ? { link: `</v2/${name}/tags/list?last=${page.at(-1)}&n=${size}>; rel="next"` } : {},
    );
  }

  /** What distribution checks on a manifest PUT: JSON, schema 2, the media type, every blob and child it names. */
  private storeManifest(name: string, reference: string | undefined, manifest: StoredManifest): Answer {
    const repository = this.repository(name);
    const digest = sha256(manifest.bytes);
    if (reference !== undefined && DIGEST.test(reference) && reference !== digest) {
      return error(400, "DIGEST_INVALID", `bytes are ${digest}, not ${reference}`);
    }
    if (reference !== undefined && !DIGEST.test(reference) && !TAG.test(reference)) {
      return error(400, "TAG_INVALID", reference);
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(manifest.bytes.toString("utf8"));
    } catch {
      return error(400, "MANIFEST_INVALID", "not JSON");
    }
    if (parsed.schemaVersion !== 2) return error(400, "MANIFEST_INVALID", "not schema 2");
    if (parsed.mediaType !== undefined && parsed.mediaType !== manifest.mediaType) {
      return error(400, "MANIFEST_INVALID", "mediaType differs from Content-Type");
    }
    const children = Array.isArray(parsed.manifests) ? (parsed.manifests as { digest?: string }[]) : undefined;
    if (children) {
      if (children.some((child) => !child.digest || !repository.manifests.has(child.digest))) {
        return error(400, "MANIFEST_UNKNOWN", "an index names a manifest the repository does not have");
      }
    } else {
      const config = parsed.config as { digest?: string } | undefined;
      const layers = (parsed.layers as { digest?: string }[] | undefined) ?? [];
      for (const blob of [config, ...layers]) {
        if (!blob?.digest || !repository.blobs.has(blob.digest)) {
          return error(400, "MANIFEST_BLOB_UNKNOWN", `blob ${blob?.digest} unknown`);
        }
      }
    }
    repository.manifests.set(digest, manifest);
    if (reference !== undefined && !DIGEST.test(reference)) repository.tags.set(reference, digest);
    return {
      status: 201,
      headers: { "docker-content-digest": digest, location: `/v2/${name}/manifests/${digest}` },
    };
  }

  /** `fetch` answered by this model, in-process: the registry client's requests and Responses, no socket. */
  readonly fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    const headers = new Headers(init.headers);
    const body = init.body ? Buffer.from(init.body as Uint8Array) : undefined;
    const answer = this.handle(init.method ?? "GET", url, headers.get("content-type") ?? undefined, body);
    return new Response(answer.body ? new Uint8Array(answer.body) : null, {
      status: answer.status,
      headers: answer.headers ?? {},
    });
  };

  /** The same model over real loopback HTTP, for the histories that exercise the client's sockets too. */
  async serve(): Promise<{ host: string; close(): Promise<void> }> {
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const url = new URL(request.url ?? "/", "http://model");
        const answer = this.handle(
          request.method ?? "GET",
          url,
          request.headers["content-type"],
          chunks.length ? Buffer.concat(chunks) : undefined,
        );
        response.writeHead(answer.status, answer.headers ?? {});
        response.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
      host: `127.0.0.1:${port}`,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }
}
