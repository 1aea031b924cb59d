import { createHash } from "node:crypto";

/**
 * A small client for the OCI distribution API: tag list, manifest HEAD/GET/PUT, blob GET.
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

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface RegistryAccess {
  /** Registry host with port, as in an image reference: `ghcr.io`, `127.0.0.1:5000`. */
  host: string;
  /** Repository path below the host: `acme/finsight-backend`. */
  repository: string;
  credentials?: RegistryCredentials;
  /** Speak plain HTTP to a registry that is not on a loopback address (set on purpose only). */
  insecure?: boolean;
  /** Per-request timeout in milliseconds. */
  timeoutMs?: number;
}

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

/** A registry answered, but not as hoped (denied, malformed), or could not be reached at all. */
export class RegistryError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when the registry could not be reached. */
    readonly status: number,
  ) {
    super(message);
    this.name = "RegistryError";
  }
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

  /** Every tag of the repository, following the Link header through all pages. */
  async listTags(pageSize = 1000): Promise<string[]> {
    const tags: string[] = [];
    let next: string | undefined = `/v2/${this.access.repository}/tags/list?n=${pageSize}`;
    // Bounded: a registry that keeps linking to itself must not hold a release forever.
    for (let page = 0; next && page < 10_000; page++) {
      const response = await this.request("GET", next, "pull");
      if (response.status === 404) return tags; // no repository yet: nothing released
      await this.expect(response, 200, "list the tags of");
      const body = (await response.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      next = nextPage(response.headers.get("link"));
    }
    return tags;
  }

  /** The digest a tag (or digest) resolves to, or undefined when the registry has no such manifest. */
  async manifestDigest(reference: string): Promise<string | undefined> {
    const response = await this.request("HEAD", this.manifestPath(reference), "pull", {
      accept: MANIFEST_MEDIA_TYPES.join(", "),
    });
    if (response.status === 404) return undefined;
    await this.expect(response, 200, `read the manifest ${reference} of`);
    const digest = response.headers.get("docker-content-digest");
    if (digest) return digest;
    // Some registries omit the header on HEAD; the body's hash is the digest by definition.
    return (await this.getManifest(reference))?.digest;
  }

  /** The manifest's exact bytes, verified against the digest the registry states. */
  async getManifest(reference: string): Promise<Manifest | undefined> {
    const response = await this.request("GET", this.manifestPath(reference), "pull", {
      accept: MANIFEST_MEDIA_TYPES.join(", "),
    });
    if (response.status === 404) return undefined;
    await this.expect(response, 200, `read the manifest ${reference} of`);
    const bytes = Buffer.from(await response.arrayBuffer());
    const digest = sha256Digest(bytes);
    const stated = response.headers.get("docker-content-digest") ?? (reference.includes(":") ? reference : undefined);
    if (stated && stated !== digest) {
      throw new RegistryError(
        `${this.describe()} sent manifest ${reference} with digest ${digest}, not ${stated}`,
        200,
      );
    }
    const mediaType = response.headers.get("content-type")?.split(";")[0].trim() || mediaTypeOf(bytes);
    return { bytes, mediaType, digest };
  }

  async getBlob(digest: string): Promise<Buffer> {
    const response = await this.request("GET", `/v2/${this.access.repository}/blobs/${digest}`, "pull");
    await this.expect(response, 200, `read the blob ${digest} of`);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (sha256Digest(bytes) !== digest)
      throw new RegistryError(`${this.describe()} sent a corrupt blob ${digest}`, 200);
    return bytes;
  }

  /** Stores the manifest bytes as they are under `tag`; returns the digest the registry reports. */
  async putManifest(tag: string, manifest: Manifest): Promise<string> {
    const response = await this.request("PUT", this.manifestPath(tag), "pull,push", {
      "content-type": manifest.mediaType,
      body: manifest.bytes,
    });
    await this.expect(response, 201, `write the tag ${tag} to`);
    return response.headers.get("docker-content-digest") ?? manifest.digest;
  }

  describe(): string {
    return `registry ${this.access.host} (repository ${this.access.repository})`;
  }

  private manifestPath(reference: string): string {
    return `/v2/${this.access.repository}/manifests/${reference}`;
  }

  private async expect(response: Response, status: number, action: string): Promise<void> {
    if (response.status === status) return;
    const detail = (await response.text().catch(() => "")).slice(0, 300).trim();
    const hint =
      response.status === 401 || response.status === 403
        ? ": check finsight:registryUsername and finsight:registryPassword (or the docker login for this host)"
        : "";
    throw new RegistryError(
      `could not ${action} ${this.describe()}: HTTP ${response.status}${detail ? ` ${detail}` : ""}${hint}`,
      response.status,
    );
  }

  private async request(
    method: string,
    pathAndQuery: string,
    action: Action,
    headers: { accept?: string; "content-type"?: string; body?: Buffer } = {},
  ): Promise<Response> {
    const { body, ...plainHeaders } = headers;
    const once = async (authorization?: string) => {
      this.requests++;
      try {
        return await fetch(`${this.base}${pathAndQuery}`, {
          method,
          headers: { ...plainHeaders, ...(authorization ? { authorization } : {}) } as Record<string, string>,
          ...(body ? { body: new Uint8Array(body) } : {}),
          redirect: "follow",
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new RegistryError(
          `${this.describe()} could not be reached at ${this.base}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
          0,
        );
      }
    };
    // Rate limits and brief outages (429, 502, 503, 504) are retried twice, reads only, after
    // Retry-After (at most 5 s) or a short backoff; a write is never repeated behind the user's back.
    const send = async (authorization?: string) => {
      for (let attempt = 0; ; attempt++) {
        const response = await once(authorization);
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
    const authorization = await this.authorize(parseChallenge(challenge), action);
    // Nothing new to offer (no credentials, or these were just refused): the 401 is the answer.
    if (authorization === undefined || authorization === cached) return response;
    await response.body?.cancel();
    this.authorizations.set(action, authorization);
    return send(authorization);
  }

  /** Answers a 401 challenge: basic credentials, or a bearer token from the realm the registry names. */
  private async authorize({ scheme, params }: Challenge, action: Action): Promise<string | undefined> {
    const { credentials } = this.access;
    const basic = credentials
      ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`
      : undefined;
    if (scheme === "basic") return basic;
    if (scheme !== "bearer" || !params.realm) return undefined;
    const realm = new URL(params.realm);
    // Credentials travel only over TLS, or to a loopback token service.
    if (realm.protocol !== "https:" && !(realm.protocol === "http:" && isLoopbackHost(realm.host))) {
      throw new RegistryError(`${this.describe()} asks for credentials at ${realm.origin}, which is not HTTPS`, 401);
    }
    if (params.service) realm.searchParams.set("service", params.service);
    realm.searchParams.set("scope", `repository:${this.access.repository}:${action}`);
    this.requests++;
    let response: Response;
    try {
      response = await fetch(realm, {
        headers: basic ? { authorization: basic } : {},
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new RegistryError(`token service ${realm.origin} could not be reached: ${(error as Error).message}`, 0);
    }
    await this.expect(response, 200, `get a ${action} token from ${realm.origin} for`);
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`token service ${realm.origin} answered without a token`, 200);
    return `Bearer ${token}`;
  }
}

/** `</v2/acme/app/tags/list?last=v1.2.0&n=2>; rel="next"` → the path to fetch next. */
export function nextPage(link: string | null): string | undefined {
  const match = link?.match(/<([^>]+)>\s*;\s*rel="?next"?/);
  if (!match) return undefined;
  const url = new URL(match[1], "http://registry.invalid");
  return `${url.pathname}${url.search}`;
}

function mediaTypeOf(bytes: Buffer): string {
  try {
    const parsed = JSON.parse(bytes.toString("utf8")) as { mediaType?: string; manifests?: unknown };
    if (parsed.mediaType) return parsed.mediaType;
    return parsed.manifests ? MANIFEST_MEDIA_TYPES[0] : MANIFEST_MEDIA_TYPES[1];
  } catch {
    return MANIFEST_MEDIA_TYPES[1];
  }
}
