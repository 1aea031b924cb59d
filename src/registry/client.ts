import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { RegistryAccess } from "../model/registry";
import { describeShape, excerpt, KnownSecrets } from "./redaction";
import { RegistryError } from "./registry-error";
import { retryDecision } from "./retry";
import { type Action, TokenAuth } from "./token-auth";
import { type Answer, RegistryTransport, registryBaseUrl } from "./transport";

/**
 * A small client for the OCI distribution API: tag list, manifest GET/PUT, blob GET. Every read is a
 * GET, never a HEAD: a digest is the hash of bytes this client received, never a header's word.
 *
 * Written here rather than taken from @snyk/docker-registry-v2-client (evaluated, 4.0.5): that
 * library only issues GET requests (its request wrapper hard-codes the method), so it cannot PUT
 * the manifest that moves a floating tag, and its getManifest resolves an index to one platform's
 * child and computes digests from re-serialised JSON, which loses the byte-exact digest a tag copy
 * has to keep.
 *
 * The files of src/registry, one idea each: transport.ts (HTTP, time limits, redirects),
 * token-auth.ts (basic and bearer-token auth), retry.ts (when to try again), redaction.ts (what never
 * reaches a message), and this client (the API calls, checked, within one deadline). They import
 * nothing from the rest of the project, because the floating-tag provider is serialised by Pulumi
 * into the state and runs without TypeScript.
 *
 * Trust nothing the registry says. Every body is checked for its shape before use, every digest is
 * checked against the bytes it names, and every error passes through the redaction before it reaches
 * a log, a plan or a pull-request comment.
 */

export { describeShape, redactCredentials } from "./redaction";
export { RegistryError } from "./registry-error";
export { parseChallenge } from "./token-auth";
export { isLoopbackHost, registryBaseUrl } from "./transport";

export interface Manifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

/** What every manifest request accepts: OCI and Docker, single images and indexes. */
export const MANIFEST_MEDIA_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];

/** At most this many tag-list pages are read (1000 tags each); a longer walk is an error, never a partial "read". */
const MAX_TAG_PAGES = 1000;

export const sha256Digest = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** The distribution spec's tag grammar. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

interface RequestOptions {
  accept?: string;
  "content-type"?: string;
  body?: Buffer;
  offHostRedirects?: boolean;
}

/** What a read has fetched so far, for the message of a deadline that stops it. */
interface Progress {
  pages: number;
  tags: number;
  manifests: number;
  blobs: number;
}

export class RegistryClient {
  private readonly access: RegistryAccess;
  private readonly secrets: KnownSecrets;
  private readonly transport: RegistryTransport;
  private readonly auth: TokenAuth;
  private readonly deadline: AbortSignal | undefined;
  private readonly progress: Progress;
  /** Requests under way, by `GET /v2/…`: what a deadline names as still waited on. */
  private readonly inFlight: Set<string>;

  // Every field is assigned here, none by an initializer: Pulumi's closure serialiser rebuilds a
  // class from its constructor's source, and field initializers outside it would be lost.
  constructor(access: RegistryAccess) {
    this.access = access;
    this.secrets = new KnownSecrets(access.credentials);
    this.deadline = access.deadlineMs === undefined ? undefined : AbortSignal.timeout(access.deadlineMs);
    this.progress = { pages: 0, tags: 0, manifests: 0, blobs: 0 };
    this.inFlight = new Set();
    const failures = {
      error: (request: string, cause: string, status: number) => this.error(request, cause, status),
      deadline: (request: string) => this.deadlineError(request),
      shape: (value: unknown) => this.shape(value),
    };
    this.transport = new RegistryTransport(
      registryBaseUrl(access.host, access.insecure),
      access.insecure ?? false,
      access.timeoutMs ?? 15_000,
      this.deadline,
      failures,
    );
    this.auth = new TokenAuth({
      host: access.host,
      repository: access.repository,
      ...(access.credentials ? { credentials: access.credentials } : {}),
      ...(access.registryTokenHosts ? { registryTokenHosts: access.registryTokenHosts } : {}),
      transport: this.transport,
      secrets: this.secrets,
      ...failures,
      expect: (answer, status, action, request) => this.expect(answer, status, action, request),
      wait: (ms, request) => this.wait(ms, request),
    });
  }

  /** How many HTTP requests this client made (the view promises to keep them few). */
  get requests(): number {
    return this.transport.requests;
  }

  /**
   * Every tag of the repository, following the Link header through all pages. A walk that repeats a
   * page, leaves the registry's host or exceeds `maxPages` is an error: a partial list is never a read.
   */
  async listTags(pageSize = 1000, maxPages = MAX_TAG_PAGES): Promise<string[]> {
    const tags: string[] = [];
    const first = `/v2/${this.access.repository}/tags/list?n=${pageSize}`;
    const seen = new Set<string>();
    let next: string | undefined = first;
    while (next) {
      const request: string = `GET ${next}`;
      if (seen.has(next)) {
        throw this.error(request, "the Link header points back at a page already read; the tag list is not trusted");
      }
      if (seen.size >= maxPages) {
        throw this.error(request, `the tag list goes on past ${maxPages} pages; the tag list is not trusted`);
      }
      seen.add(next);
      const page: string = next;
      next = await this.tracked(request, async (): Promise<string | undefined> => {
        const answer = await this.request("GET", page, "pull");
        // No repository yet: nothing released (the distribution spec's NAME_UNKNOWN). Only on the first page.
        if (answer.status === 404 && page === first) {
          await answer.discard();
          return undefined;
        }
        await this.expect(answer, 200, "list the tags of", request);
        const body = await this.json(answer, request);
        if (!isRecord(body) || !("tags" in body)) {
          throw this.error(request, `tags/list answered ${this.shape(body)}, not a list of tags`);
        }
        // `"tags": null` is how distribution says "a repository without tags".
        if (body.tags !== null) {
          if (!Array.isArray(body.tags)) {
            throw this.error(request, `tags/list answered ${this.shape(body)}, not a list of tags`);
          }
          const listed: unknown[] = body.tags;
          const bad = listed.findIndex((tag) => typeof tag !== "string" || !TAG.test(tag));
          if (bad >= 0) {
            throw this.error(
              request,
              `tags/list page ${seen.size} lists ${this.shape(listed[bad])} (entry ${bad + 1} of ${listed.length}), which is not a valid tag`,
            );
          }
          tags.push(...(listed as string[]));
          this.progress.tags += listed.length;
        }
        this.progress.pages++;
        return this.nextPagePath(answer.header("link"), request);
      });
    }
    return tags;
  }

  /**
   * The digest a tag (or digest) resolves to, or undefined when the registry has no such manifest.
   * Read with a GET and hashed, never taken from a header.
   */
  async manifestDigest(reference: string): Promise<string | undefined> {
    return (await this.getManifest(reference))?.digest;
  }

  /** The manifest's exact bytes, verified against the digest asked for and the digest the registry states. */
  async getManifest(reference: string): Promise<Manifest | undefined> {
    const path = this.manifestPath(reference);
    const request = `GET ${path}`;
    return this.tracked(request, async () => {
      const answer = await this.request("GET", path, "pull", { accept: MANIFEST_MEDIA_TYPES.join(", ") });
      if (answer.status === 404) {
        await answer.discard();
        return undefined;
      }
      await this.expect(answer, 200, `read the manifest ${reference} of`, request);
      // The OCI spec lets registries refuse manifests above 4 MiB; nothing larger is a manifest.
      const bytes = await this.transport.readBody(answer, request, 4 * 1024 * 1024);
      this.progress.manifests++;
      const digest = sha256Digest(bytes);
      for (const stated of [answer.header("docker-content-digest"), DIGEST.test(reference) ? reference : undefined]) {
        if (stated !== undefined && stated !== digest) {
          throw this.error(
            request,
            `sent manifest bytes whose digest is ${digest}, not ${excerpt(this.redact(stated), 80)}`,
          );
        }
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(bytes.toString("utf8"));
      } catch {
        throw this.error(request, `answered ${this.shape(bytes.toString("utf8"))}, which is not a JSON manifest`);
      }
      if (
        !isRecord(parsed) ||
        parsed.schemaVersion !== 2 ||
        !["string", "undefined"].includes(typeof parsed.mediaType)
      ) {
        throw this.error(request, `answered ${this.shape(parsed)}, not a schema 2 manifest`);
      }
      const declared = answer.header("content-type")?.split(";")[0].trim() ?? "";
      const inner = parsed.mediaType as string | undefined;
      const mediaType = MANIFEST_MEDIA_TYPES.includes(declared)
        ? declared
        : (inner ?? (parsed.manifests ? MANIFEST_MEDIA_TYPES[0] : MANIFEST_MEDIA_TYPES[1]));
      if (!MANIFEST_MEDIA_TYPES.includes(mediaType) || (inner !== undefined && inner !== mediaType)) {
        throw this.error(request, `answered a manifest of type ${this.shape(inner ?? declared)}, not one it asked for`);
      }
      return { bytes, mediaType, digest };
    });
  }

  async getBlob(digest: string): Promise<Buffer> {
    const path = this.blobPath(digest);
    const request = `GET ${path}`;
    return this.tracked(request, async () => {
      const answer = await this.request("GET", path, "pull", { offHostRedirects: true });
      await this.expect(answer, 200, `read the blob ${digest} of`, request);
      const bytes = await this.transport.readBody(answer, request, 16 * 1024 * 1024);
      this.progress.blobs++;
      if (sha256Digest(bytes) !== digest) throw this.error(request, `sent a corrupt blob (${sha256Digest(bytes)})`);
      return bytes;
    });
  }

  /** Stores the manifest bytes as they are under `tag`; returns the digest the registry reports. */
  async putManifest(tag: string, manifest: Manifest): Promise<string> {
    const path = this.manifestPath(tag);
    const request = `PUT ${path}`;
    return this.tracked(request, async () => {
      const answer = await this.request("PUT", path, "pull,push", {
        "content-type": manifest.mediaType,
        body: manifest.bytes,
      });
      await this.expect(answer, 201, `write the tag ${tag} to`, request);
      await answer.discard();
      const stated = answer.header("docker-content-digest");
      return stated && DIGEST.test(stated) ? stated : manifest.digest;
    });
  }

  describe(): string {
    return `registry ${this.access.host} (repository ${this.access.repository})`;
  }

  /** An error that names this registry, the request (`GET /v2/…`) and the cause, redacted, in one line. */
  error(request: string, cause: string, status = 200): RegistryError {
    return new RegistryError(`${this.describe()}: ${request}: ${cause}`, status, this.secrets.list());
  }

  /** A short rendering of what the registry sent, with every secret this client knows removed before the cut. */
  shape(value: unknown): string {
    return describeShape(value, this.secrets.list());
  }

  /** Text redacted of every secret this client knows and anything credential-like. */
  redact(text: string): string {
    return this.secrets.redact(text);
  }

  /** A value from the registry (a label) with every form of this client's secrets removed, otherwise as it is. */
  redactValue(text: string): string {
    return this.secrets.redactValue(text);
  }

  manifestPath(reference: string): string {
    return `/v2/${this.access.repository}/manifests/${reference}`;
  }

  blobPath(digest: string): string {
    return `/v2/${this.access.repository}/blobs/${digest}`;
  }

  /** Runs one API call, known as under way while it runs (a deadline names it). */
  private async tracked<T>(request: string, call: () => Promise<T>): Promise<T> {
    this.inFlight.add(request);
    try {
      return await call();
    } finally {
      this.inFlight.delete(request);
    }
  }

  private deadlineError(request: string): RegistryError {
    const { pages, tags, manifests, blobs } = this.progress;
    const waiting = [...this.inFlight].filter((name) => name !== request);
    return this.error(
      request,
      `the registry read did not finish within ${(this.access.deadlineMs ?? 0) / 1000} s (finsight:registryDeadline); read so far: ${pages} tag-list pages (${tags} tags), ${manifests} manifests, ${blobs} blobs; still waiting on ${[request, ...waiting].join(", ")}`,
      0,
    );
  }

  /** Waits before a retry; a wait that would outlast the deadline fails now, naming it. */
  private async wait(ms: number, request: string): Promise<void> {
    if (this.deadline?.aborted) throw this.deadlineError(request);
    try {
      await sleep(ms, undefined, this.deadline ? { signal: this.deadline } : {});
    } catch {
      throw this.deadlineError(request);
    }
  }

  /** The next tag-list page, only on this registry's host and only another page of this repository's tag list. */
  private nextPagePath(link: string | undefined, request: string): string | undefined {
    const target = link?.match(/<([^>]+)>\s*;\s*rel="?next"?/)?.[1];
    if (target === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(target, this.transport.base);
    } catch {
      throw this.error(request, `the Link header names ${this.shape(target)}, which is not a URL`);
    }
    if (url.origin !== this.transport.base.origin) {
      throw this.error(request, `the Link header points at ${url.origin}, another host; it is not followed`);
    }
    if (url.pathname !== `/v2/${this.access.repository}/tags/list`) {
      throw this.error(
        request,
        `the Link header points at ${this.shape(url.pathname)}, not this repository's tag list`,
      );
    }
    return `${url.pathname}${url.search}`;
  }

  private async json(answer: Answer, request: string): Promise<unknown> {
    const text = (await this.transport.readBody(answer, request, 16 * 1024 * 1024)).toString("utf8");
    try {
      return JSON.parse(text);
    } catch {
      throw this.error(request, `answered ${this.shape(text)}, which is not JSON`);
    }
  }

  /** Fails unless the answer has `status`, quoting its body: redacted whole first, then cut. */
  private async expect(answer: Answer, status: number, action: string, request: string): Promise<void> {
    if (answer.status === status) return;
    const body = await answer.read(64 * 1024).catch(() => Buffer.alloc(0));
    const detail = excerpt(this.secrets.redact(body.toString("utf8")).trim(), 300);
    const hint =
      answer.status === 401 || answer.status === 403
        ? ": check finsight:registryUsername and finsight:registryPassword (or the docker login for this host)"
        : "";
    throw new RegistryError(
      `could not ${action} ${this.describe()}: ${request}: HTTP ${answer.status}${detail ? ` ${detail}` : ""}${answer.note ? `; the registry ${answer.note}` : ""}${hint}`,
      answer.status,
      this.secrets.list(),
    );
  }

  /** One attempt after another while the answer is a rate limit or a brief outage (retry.ts). */
  private async send(method: string, path: string, options: RequestOptions, authorization?: string): Promise<Answer> {
    const { body, offHostRedirects, ...headers } = options;
    for (let attempt = 0; ; attempt++) {
      const answer = await this.transport.send(method, path, {
        headers: headers as Record<string, string>,
        ...(body ? { body } : {}),
        ...(authorization ? { authorization } : {}),
        ...(offHostRedirects ? { offHostRedirects } : {}),
      });
      const decision = retryDecision(answer.status, answer.header("retry-after"), attempt);
      if (!decision.retry) {
        if (decision.reason) answer.note = decision.reason;
        return answer;
      }
      await answer.discard();
      await this.wait(decision.waitMs, `${method} ${path}`);
    }
  }

  /**
   * A request with the authorization this client holds or can predict, answering a 401 challenge once.
   * Protected, not private: `npm run doctor` starts and cancels a blob upload through it (src/doctor/registry.ts).
   */
  protected async request(method: string, path: string, action: Action, options: RequestOptions = {}): Promise<Answer> {
    const first = await this.auth.initial(action, `${method} ${path}`);
    const answer = await this.send(method, path, options, first);
    const challenge = answer.status === 401 ? answer.header("www-authenticate") : undefined;
    if (!challenge) return answer;
    const next = await this.auth.answer(challenge, action, first, `${method} ${path}`);
    // Nothing new to offer (no credentials, or these were just refused): the 401 is the answer.
    if (next === undefined || next === first) return answer;
    await answer.discard();
    return this.send(method, path, options, next);
  }
}
