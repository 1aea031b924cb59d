import { createHash } from "node:crypto";
import type { RegistryAccess } from "../model/registry";

/**
 * A small client for the OCI distribution API: tag list, manifest GET and PUT, blob GET. Every
 * digest is computed from the bytes a GET returned; no HEAD is issued, since a header is only a claim.
 *
 * Written here rather than taken from @snyk/docker-registry-v2-client (evaluated, 4.0.5): that
 * library only issues GET requests (its request wrapper hard-codes the method), so it cannot PUT
 * the manifest that moves a floating tag nor HEAD a tag for its digest, and its getManifest
 * resolves an index to one platform's child and computes digests from re-serialised JSON, which
 * loses the byte-exact digest a tag copy has to keep. This file speaks the same protocol with
 * Node's own fetch: anonymous access, basic auth, the bearer-token challenge (GHCR, Docker Hub)
 * and Link-header pagination.
 *
 * Everything in this file is self-contained (no imports from the rest of the project), because the
 * floating-tag provider is serialised by Pulumi into the state and runs without TypeScript.
 */

/*
 * Trust nothing the registry says. Every body is checked for its shape before use, every digest is
 * checked against the bytes it names, redirects and Link headers may not leave the registry's host
 * (blob downloads excepted, without credentials), credentials go to a token service only on the
 * registry's own host, a configured sibling or a well-known pair, and every error passes through
 * redactCredentials before it reaches a log, a plan or a pull-request comment.
 *
 * "The same host" means the same hostname, whatever the port: a TLS certificate names hostnames,
 * not ports, so whoever holds the registry's name holds its other ports too (the test registry's
 * token service runs on another port of 127.0.0.1, as a sidecar token service would).
 */

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

/** Bearer realms that live on another host by design, per registry host (checked 2026: GHCR's realm is ghcr.io itself). */
const WELL_KNOWN_TOKEN_REALMS: Record<string, string[]> = {
  "docker.io": ["auth.docker.io"],
  "index.docker.io": ["auth.docker.io"],
  "registry-1.docker.io": ["auth.docker.io"],
};

/** A registry answered, but not as hoped (denied, malformed), or could not be reached at all. */
export class RegistryError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when the registry could not be reached. */
    readonly status: number,
    /** Values to blank out besides the credential-looking patterns (passwords, tokens this client holds). */
    secrets: readonly string[] = [],
  ) {
    super(redactCredentials(message, secrets));
    this.name = "RegistryError";
  }
}

/**
 * The one redaction step every message built from a response goes through: Authorization values,
 * `Basic …`/`Bearer …` pairs, `user:password@` in URLs, JWT-looking strings, token/password JSON
 * fields, and the given secret values (also base64-encoded), removed; the result is one line.
 */
export function redactCredentials(text: string, secrets: readonly string[] = []): string {
  let redacted = text;
  for (const secret of secrets) {
    // Very short values would blank out ordinary words; no real password or token is that short.
    if (secret.length < 4) continue;
    // A secret of several lines may be quoted a line at a time, or its line breaks turned into spaces;
    // one inside JSON text (a body shown by describeShape) has its quotes, backslashes and breaks escaped.
    const lines = secret.split(/\r?\n/).filter((line) => line.length >= 4 && line !== secret);
    const forms = [secret, Buffer.from(secret).toString("base64"), encodeURIComponent(secret)];
    for (const text of [secret, ...lines]) forms.push(JSON.stringify(text).slice(1, -1));
    forms.push(...lines);
    for (const form of forms.sort((a, b) => b.length - a.length)) {
      redacted = redacted.split(form).join("[redacted]");
    }
  }
  return redacted
    .replace(/(authorization["']?\s*[:=]\s*["']?)[^\r\n"',}]*/gi, "$1[redacted]")
    .replace(/\b(basic|bearer)\s+[A-Za-z0-9+/=._~-]{4,}/gi, "$1 [redacted]")
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@"']+@/gi, "$1[redacted]@")
    .replace(/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, "[redacted JWT]")
    .replace(
      /(["'](?:access_token|refresh_token|token|password|secret)["']\s*:\s*)("[^"]*"|'[^']*'|[^\s,}]+)/gi,
      "$1[redacted]",
    )
    .replace(/([?&](?:access_token|refresh_token|token|password)=)[^&\s"']+/gi, "$1[redacted]")
    .replace(/\s*[\r\n]+\s*/g, " ");
}

/** Docker's rule: plain HTTP only to localhost and loopback addresses (127.0.0.0/8, ::1). */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d+$/, "");
  return name === "localhost" || name === "::1" || /^127(?:\.\d{1,3}){3}$/.test(name);
}

export function registryBaseUrl(host: string, insecure = false): string {
  // Docker Hub's image references say docker.io; its registry API lives on registry-1.docker.io.
  const apiHost = host === "docker.io" || host === "index.docker.io" ? "registry-1.docker.io" : host;
  return `${insecure || isLoopbackHost(host) ? "http" : "https"}://${apiHost}`;
}

export const sha256Digest = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** The distribution spec's tag grammar. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const REDIRECTS = [301, 302, 303, 307, 308];

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A short, one-line rendering of what a registry sent, for error messages. Redacted before it is cut
 * short: a secret cut in half would no longer be recognised afterwards.
 */
export function describeShape(value: unknown, secrets: readonly string[] = []): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  text = redactCredentials(text, secrets);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull"` */
export function parseChallenge(header: string): Challenge {
  const space = header.indexOf(" ");
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const match of header.slice(space + 1).matchAll(/([A-Za-z]+)="([^"]*)"|([A-Za-z]+)=([^\s,]+)/g)) {
    params[(match[1] ?? match[3]).toLowerCase()] = match[2] ?? match[4];
  }
  return { scheme, params };
}

type Action = "pull" | "pull,push";

interface RequestOptions {
  accept?: string;
  "content-type"?: string;
  body?: Buffer;
  /** Blob downloads may be redirected to storage on another host (the protocol expects it), without credentials. */
  offHostRedirects?: boolean;
}

export class RegistryClient {
  private readonly access: RegistryAccess;
  private readonly base: string;
  private readonly timeoutMs: number;
  /** Authorization header per action set, shared by every request of this client. */
  private readonly authorizations: Map<Action, string>;
  /** How many HTTP requests this client made (the view promises to keep them few). */
  requests: number;

  // Every field is assigned here, none by an initializer: Pulumi's closure serialiser rebuilds a
  // class from its constructor's source, and field initializers outside it would be lost.
  constructor(access: RegistryAccess) {
    this.access = access;
    this.base = registryBaseUrl(access.host, access.insecure);
    this.timeoutMs = access.timeoutMs ?? 15_000;
    this.authorizations = new Map();
    this.requests = 0;
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
      const request = `GET ${next}`;
      if (seen.has(next)) {
        throw this.error(request, "the Link header points back at a page already read; the tag list is not trusted");
      }
      if (seen.size >= maxPages) {
        throw this.error(request, `the tag list goes on past ${maxPages} pages; the tag list is not trusted`);
      }
      seen.add(next);
      const response = await this.request("GET", next, "pull");
      // No repository yet: nothing released (the distribution spec's NAME_UNKNOWN). Only on the first page.
      if (response.status === 404 && next === first) {
        await response.body?.cancel();
        return tags;
      }
      await this.expect(response, 200, "list the tags of", request);
      const body = await this.json(response, request);
      if (!isRecord(body) || !("tags" in body)) {
        throw this.error(request, `tags/list answered ${this.shape(body)}, not a list of tags`);
      }
      // `"tags": null` is how distribution says "a repository without tags".
      if (body.tags !== null) {
        if (!Array.isArray(body.tags) || !body.tags.every((tag) => typeof tag === "string" && TAG.test(tag))) {
          throw this.error(request, `tags/list answered ${this.shape(body)}, not a list of tags`);
        }
        tags.push(...(body.tags as string[]));
      }
      next = this.nextPagePath(response.headers.get("link"), request);
    }
    return tags;
  }

  /**
   * The digest a tag (or digest) resolves to, or undefined when the registry has no such manifest.
   * Read with a GET and hashed, never taken from a header: the digest a release pins or a tag is
   * pointed at must be the hash of real bytes. (A GET costs what a HEAD does here: one request.)
   */
  async manifestDigest(reference: string): Promise<string | undefined> {
    return (await this.getManifest(reference))?.digest;
  }

  /** The manifest's exact bytes, verified against the digest asked for and the digest the registry states. */
  async getManifest(reference: string): Promise<Manifest | undefined> {
    const path = this.manifestPath(reference);
    const request = `GET ${path}`;
    const response = await this.request("GET", path, "pull", { accept: MANIFEST_MEDIA_TYPES.join(", ") });
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    await this.expect(response, 200, `read the manifest ${reference} of`, request);
    // The OCI spec lets registries refuse manifests above 4 MiB; nothing larger is a manifest.
    const bytes = await this.readBytes(response, request, 4 * 1024 * 1024);
    const digest = sha256Digest(bytes);
    for (const stated of [response.headers.get("docker-content-digest"), DIGEST.test(reference) ? reference : null]) {
      if (stated !== null && stated !== digest) {
        throw this.error(request, `sent manifest bytes whose digest is ${digest}, not ${stated}`);
      }
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString("utf8"));
    } catch {
      throw this.error(request, `answered ${this.shape(bytes.toString("utf8"))}, which is not a JSON manifest`);
    }
    if (!isRecord(parsed) || parsed.schemaVersion !== 2 || !["string", "undefined"].includes(typeof parsed.mediaType)) {
      throw this.error(request, `answered ${this.shape(parsed)}, not a schema 2 manifest`);
    }
    const declared = response.headers.get("content-type")?.split(";")[0].trim() ?? "";
    const inner = parsed.mediaType as string | undefined;
    const mediaType = MANIFEST_MEDIA_TYPES.includes(declared)
      ? declared
      : (inner ?? (parsed.manifests ? MANIFEST_MEDIA_TYPES[0] : MANIFEST_MEDIA_TYPES[1]));
    if (!MANIFEST_MEDIA_TYPES.includes(mediaType) || (inner !== undefined && inner !== mediaType)) {
      throw this.error(request, `answered a manifest of type ${this.shape(inner ?? declared)}, not one it asked for`);
    }
    return { bytes, mediaType, digest };
  }

  async getBlob(digest: string): Promise<Buffer> {
    const path = this.blobPath(digest);
    const request = `GET ${path}`;
    const response = await this.request("GET", path, "pull", { offHostRedirects: true });
    await this.expect(response, 200, `read the blob ${digest} of`, request);
    const bytes = await this.readBytes(response, request, 16 * 1024 * 1024);
    if (sha256Digest(bytes) !== digest) throw this.error(request, `sent a corrupt blob (${sha256Digest(bytes)})`);
    return bytes;
  }

  /** Stores the manifest bytes as they are under `tag`; returns the digest the registry reports. */
  async putManifest(tag: string, manifest: Manifest): Promise<string> {
    const path = this.manifestPath(tag);
    const response = await this.request("PUT", path, "pull,push", {
      "content-type": manifest.mediaType,
      body: manifest.bytes,
    });
    await this.expect(response, 201, `write the tag ${tag} to`, `PUT ${path}`);
    await response.body?.cancel();
    return response.headers.get("docker-content-digest") ?? manifest.digest;
  }

  describe(): string {
    return `registry ${this.access.host} (repository ${this.access.repository})`;
  }

  /** An error that names this registry, the request (`GET /v2/…`) and the cause, redacted, in one line. */
  error(request: string, cause: string, status = 200): RegistryError {
    return new RegistryError(`${this.describe()}: ${request}: ${cause}`, status, this.secrets());
  }

  /** What a registry sent, for an error message, with this client's secrets blanked out. */
  shape(value: unknown): string {
    return describeShape(value, this.secrets());
  }

  /** The secret values this client knows, for redaction: the password, the basic pair, the tokens it holds. */
  private secrets(): string[] {
    const { credentials } = this.access;
    return [
      ...(credentials ? [credentials.password, `${credentials.username}:${credentials.password}`] : []),
      ...[...this.authorizations.values()].map((value) => value.replace(/^\S+\s+/, "")),
    ];
  }

  manifestPath(reference: string): string {
    return `/v2/${this.access.repository}/manifests/${reference}`;
  }

  blobPath(digest: string): string {
    return `/v2/${this.access.repository}/blobs/${digest}`;
  }

  /** The next tag-list page, only on this registry's host and only another page of this repository's tag list. */
  private nextPagePath(link: string | null, request: string): string | undefined {
    const target = link?.match(/<([^>]+)>\s*;\s*rel="?next"?/)?.[1];
    if (target === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(target, this.base);
    } catch {
      throw this.error(request, `the Link header names ${this.shape(target)}, which is not a URL`);
    }
    if (url.origin !== new URL(this.base).origin) {
      throw this.error(request, `the Link header points at ${url.origin}, another host; it is not followed`);
    }
    if (url.pathname !== `/v2/${this.access.repository}/tags/list`) {
      throw this.error(request, `the Link header points at ${url.pathname}, not this repository's tag list`);
    }
    return `${url.pathname}${url.search}`;
  }

  /** The body, at most `limit` bytes, or an error naming the request when it stalls or overflows. */
  private async readBytes(response: Response, request: string, limit: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      if (response.body) {
        for await (const chunk of response.body) {
          size += chunk.length;
          if (size > limit) {
            await response.body.cancel().catch(() => {});
            throw this.error(request, `sent a body larger than ${limit} bytes`);
          }
          chunks.push(Buffer.from(chunk));
        }
      }
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      throw this.error(request, `the body did not arrive: ${describeFailure(error, this.timeoutMs)}`, 0);
    }
    return Buffer.concat(chunks);
  }

  private async json(response: Response, request: string): Promise<unknown> {
    const text = (await this.readBytes(response, request, 16 * 1024 * 1024)).toString("utf8");
    try {
      return JSON.parse(text);
    } catch {
      throw this.error(request, `answered ${this.shape(text)}, which is not JSON`);
    }
  }

  private async expect(response: Response, status: number, action: string, request: string): Promise<void> {
    if (response.status === status) return;
    // Redacted before it is cut short, so no secret is left half-recognisable.
    const detail = redactCredentials(
      (await this.readBytes(response, request, 64 * 1024).catch(() => Buffer.alloc(0))).toString("utf8"),
      this.secrets(),
    )
      .slice(0, 300)
      .trim();
    const hint =
      response.status === 401 || response.status === 403
        ? ": check finsight:registryUsername and finsight:registryPassword (or the docker login for this host)"
        : "";
    throw new RegistryError(
      `could not ${action} ${this.describe()}: ${request}: HTTP ${response.status}${detail ? ` ${detail}` : ""}${hint}`,
      response.status,
      this.secrets(),
    );
  }

  /**
   * One request, following redirects by hand: on the registry's host they are followed with the
   * credentials; off it only for blob downloads (storage), over HTTPS or loopback, without them.
   */
  private async fetchOnce(
    method: string,
    pathAndQuery: string,
    options: RequestOptions,
    authorization: string | undefined,
  ): Promise<Response> {
    const { body, offHostRedirects, ...plainHeaders } = options;
    const home = new URL(this.base);
    let url = new URL(pathAndQuery, this.base);
    let credentialed = true;
    const signal = AbortSignal.timeout(this.timeoutMs);
    for (let hop = 0; ; hop++) {
      this.requests++;
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: {
            ...plainHeaders,
            ...(authorization && credentialed ? { authorization } : {}),
          } as Record<string, string>,
          ...(body ? { body: new Uint8Array(body) } : {}),
          redirect: "manual",
          signal,
        });
      } catch (error) {
        const cause = describeFailure(error, this.timeoutMs);
        if (hop === 0) {
          throw new RegistryError(
            `${this.describe()}: ${method} ${pathAndQuery}: could not be reached at ${this.base}: ${cause}`,
            0,
            this.secrets(),
          );
        }
        throw this.error(`${method} ${pathAndQuery}`, `${url.origin} could not be reached: ${cause}`, 0);
      }
      const location = REDIRECTS.includes(response.status) ? response.headers.get("location") : null;
      if (location === null) return response;
      await response.body?.cancel();
      const request = `${method} ${pathAndQuery}`;
      let target: URL;
      try {
        target = new URL(location, url);
      } catch {
        throw this.error(request, `redirected to ${this.shape(location)}, which is not a URL`, response.status);
      }
      if (hop >= 5) throw this.error(request, "redirected more than 5 times", response.status);
      const plain = target.protocol === "http:" && !isLoopbackHost(target.host) && !this.access.insecure;
      if (target.protocol !== "https:" && (target.protocol !== "http:" || plain)) {
        throw this.error(request, `redirected to ${target.origin}, which is not HTTPS; not followed`, response.status);
      }
      if (target.hostname !== home.hostname) {
        if (!offHostRedirects) {
          throw this.error(
            request,
            `redirected to ${target.origin}, another host; only blob downloads may leave the registry's host`,
            response.status,
          );
        }
        credentialed = false; // storage gets a signed URL, never the registry's credentials
      }
      url = target;
    }
  }

  /** Protected, not private: `npm run doctor` starts and cancels a blob upload through it (src/doctor/registry.ts). */
  protected async request(
    method: string,
    pathAndQuery: string,
    action: Action,
    options: RequestOptions = {},
  ): Promise<Response> {
    // Rate limits and brief outages (429, 502, 503, 504) are retried twice, reads only, after
    // Retry-After (at most 5 s) or a short backoff; a write is never repeated behind the user's back.
    const send = async (authorization?: string) => {
      for (let attempt = 0; ; attempt++) {
        const response = await this.fetchOnce(method, pathAndQuery, options, authorization);
        if (method === "PUT" || attempt === 2 || ![429, 502, 503, 504].includes(response.status)) return response;
        await response.body?.cancel();
        const retryAfter = Number(response.headers.get("retry-after"));
        const waitMs =
          Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 5) * 1000 : 250 * 2 ** attempt;
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    };
    const cached = this.authorizations.get(action);
    const response = await send(cached);
    const challenge = response.status === 401 ? response.headers.get("www-authenticate") : null;
    if (!challenge) return response;
    const authorization = await this.authorize(parseChallenge(challenge), action, `${method} ${pathAndQuery}`);
    // Nothing new to offer (no credentials, or these were just refused): the 401 is the answer.
    if (authorization === undefined || authorization === cached) return response;
    await response.body?.cancel();
    this.authorizations.set(action, authorization);
    return send(authorization);
  }

  /** May the credentials go to this token realm? Its host must be the registry's, a configured sibling or a well-known pair. */
  private trustsRealm(realm: URL): boolean {
    const registry = new URL(this.base).hostname;
    const allowed = [
      registry,
      this.access.host.replace(/:\d+$/, ""),
      ...(WELL_KNOWN_TOKEN_REALMS[registry] ?? []),
      ...(WELL_KNOWN_TOKEN_REALMS[this.access.host] ?? []),
      ...(this.access.registryTokenHosts ?? []),
    ].map((host) => host.toLowerCase());
    return allowed.includes(realm.hostname.toLowerCase()) || allowed.includes(realm.host.toLowerCase());
  }

  /** Answers a 401 challenge: basic credentials, or a bearer token from the realm the registry names. */
  private async authorize({ scheme, params }: Challenge, action: Action, request: string): Promise<string | undefined> {
    const { credentials } = this.access;
    const basic = credentials
      ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`
      : undefined;
    if (scheme === "basic") return basic;
    if (scheme !== "bearer" || !params.realm) return undefined;
    let realm: URL;
    try {
      realm = new URL(params.realm);
    } catch {
      throw this.error(request, `names the token realm ${this.shape(params.realm)}, which is not a URL`, 401);
    }
    // Credentials travel only over TLS, or to a loopback token service.
    if (realm.protocol !== "https:" && !(realm.protocol === "http:" && isLoopbackHost(realm.host))) {
      throw new RegistryError(
        `${this.describe()}: ${request}: asks for credentials at ${realm.origin}, which is not HTTPS`,
        401,
        this.secrets(),
      );
    }
    // A realm elsewhere gets no credentials: a registry (or a proxy in front of it) could otherwise
    // harvest the password by naming its own realm. Without credentials an anonymous token request
    // is harmless (it carries only the repository's name), so public registries keep working.
    if (basic && !this.trustsRealm(realm)) {
      throw this.error(
        request,
        `asks for credentials at ${realm.origin}, which is not the registry's host; if that token service is the registry's own, list its host in registryTokenHosts (finsight config)`,
        401,
      );
    }
    if (params.service) realm.searchParams.set("service", params.service);
    realm.searchParams.set("scope", `repository:${this.access.repository}:${action}`);
    const tokenRequest = `GET ${realm.origin}${realm.pathname}`;
    this.requests++;
    let response: Response;
    try {
      response = await fetch(realm, {
        headers: basic ? { authorization: basic } : {},
        redirect: "manual",
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw this.error(
        tokenRequest,
        `token service ${realm.origin} could not be reached: ${describeFailure(error, this.timeoutMs)}`,
        0,
      );
    }
    await this.expect(response, 200, `get a ${action} token from ${realm.origin} for`, tokenRequest);
    const body = await this.json(response, tokenRequest);
    const token = isRecord(body) ? (body.token ?? body.access_token) : undefined;
    // A token goes into a header: printable ASCII without spaces, or it is not a token.
    if (typeof token !== "string" || !/^[\x21-\x7e]+$/.test(token)) {
      const shape = isRecord(body) ? `an object with ${Object.keys(body).join(", ") || "no fields"}` : this.shape(body);
      throw this.error(tokenRequest, `token service ${realm.origin} answered ${shape}, without a usable token`);
    }
    return `Bearer ${token}`;
  }
}

/** Why a fetch or a body read failed, in a few words (`ECONNREFUSED`, `no answer within 15000 ms`). */
function describeFailure(error: unknown, timeoutMs: number): string {
  const failure = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (failure?.name === "TimeoutError" || failure?.cause?.code === "UND_ERR_ABORTED") {
    return `no complete answer within ${timeoutMs} ms`;
  }
  return failure?.cause?.code ?? failure?.cause?.message ?? failure?.message ?? String(error);
}
