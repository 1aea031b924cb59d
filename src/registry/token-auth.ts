import type { RegistryCredentials } from "../model/registry";
import type { KnownSecrets } from "./redaction";
import { retryDecision } from "./retry";
import { type Answer, isLoopbackHost, type RegistryTransport } from "./transport";

/**
 * Who may read and write: basic credentials, or a bearer token from the realm the registry's 401
 * challenge names (GHCR, Docker Hub), as distribution's token spec describes (docs/spec/auth/token.md).
 *
 * A known login does not wait for a challenge it can predict. Configured credentials go with the first
 * request to the registry as basic auth (the registry they are configured for; the transport keeps
 * them on its hostname, so neither a redirect elsewhere nor storage ever gets them). A registry that
 * wants a bearer token answers that first request with its challenge; the realm is remembered, so a
 * later request needing another scope (a push) fetches its token at once instead of meeting a 401
 * first. Concurrent requests that meet the same challenge share one token request.
 *
 * Credentials go to a token service only over TLS (or loopback), and only when its host is the
 * registry's own, a configured sibling (finsight:registryTokenHosts) or a well-known pair: a registry,
 * or a proxy in front of it, could otherwise harvest the password by naming its own realm.
 */

export type Action = "pull" | "pull,push";

export interface Challenge {
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

/** Bearer realms that live on another host by design, per registry host (checked 2026: GHCR's realm is ghcr.io itself). */
const WELL_KNOWN_TOKEN_REALMS: Record<string, string[]> = {
  "docker.io": ["auth.docker.io"],
  "index.docker.io": ["auth.docker.io"],
  "registry-1.docker.io": ["auth.docker.io"],
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export interface TokenAuthOptions {
  /** Registry host with port, as in an image reference. */
  host: string;
  repository: string;
  credentials?: RegistryCredentials;
  registryTokenHosts?: string[];
  transport: RegistryTransport;
  secrets: KnownSecrets;
  /** The client's error for `request` (names the registry, redacts). */
  error(request: string, cause: string, status: number): Error;
  /** The client's short, redacted rendering of what a server sent. */
  shape(value: unknown): string;
  /** The client's check of an answer's status (its error names the registry and quotes the body, redacted). */
  expect(answer: Answer, status: number, action: string, request: string): Promise<void>;
  /** Waits `ms` before a retry, within the run's deadline. */
  wait(ms: number, request: string): Promise<void>;
}

export class TokenAuth {
  private readonly options: TokenAuthOptions;
  /** The Authorization header per action, shared by every request of the client. */
  private readonly held: Map<Action, string>;
  /** Token requests under way, per action: concurrent 401s share one. */
  private readonly pending: Map<Action, Promise<string>>;
  /** The bearer realm an earlier challenge named, so another scope's token needs no 401 first. */
  private learned: Record<string, string> | undefined;

  // Every field is assigned here (Pulumi's closure serialiser rebuilds a class from its constructor).
  constructor(options: TokenAuthOptions) {
    this.options = options;
    this.held = new Map();
    this.pending = new Map();
    this.learned = undefined;
  }

  private basic(): string | undefined {
    const { credentials } = this.options;
    return credentials
      ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`
      : undefined;
  }

  /** What to send with a first request for `action`: a token held or predicted, or the basic credentials. */
  async initial(action: Action, request: string): Promise<string | undefined> {
    const held = this.held.get(action);
    if (held) return held;
    if (this.learned) return this.token(action, this.learned, request);
    return this.basic();
  }

  /**
   * Answers a 401's challenge: the authorization to try, or undefined when there is nothing new to
   * offer (no credentials, or the ones just sent), in which case the 401 is the answer.
   */
  async answer(header: string, action: Action, sent: string | undefined, request: string): Promise<string | undefined> {
    const { scheme, params } = parseChallenge(header);
    if (scheme === "basic") return this.basic();
    if (scheme !== "bearer" || !params.realm) return undefined;
    const current = this.held.get(action);
    if (current !== undefined && current !== sent) return current; // renewed meanwhile by another request
    const authorization = await this.token(action, params, request);
    this.learned = params;
    return authorization;
  }

  /** May the credentials go to this token realm? Its host must be the registry's, a configured sibling or a well-known pair. */
  private trustsRealm(realm: URL): boolean {
    const { host, registryTokenHosts, transport } = this.options;
    const registry = transport.base.hostname;
    const allowed = [
      registry,
      host.replace(/:\d+$/, ""),
      ...(WELL_KNOWN_TOKEN_REALMS[registry] ?? []),
      ...(WELL_KNOWN_TOKEN_REALMS[host] ?? []),
      ...(registryTokenHosts ?? []),
    ].map((name) => name.toLowerCase());
    return allowed.includes(realm.hostname.toLowerCase()) || allowed.includes(realm.host.toLowerCase());
  }

  /** A token for `action` from the realm `params` names; one request at a time per action. */
  private token(action: Action, params: Record<string, string>, request: string): Promise<string> {
    const pending = this.pending.get(action);
    if (pending) return pending;
    const fetching = this.fetchToken(action, params, request).finally(() => this.pending.delete(action));
    this.pending.set(action, fetching);
    return fetching;
  }

  private async fetchToken(action: Action, params: Record<string, string>, request: string): Promise<string> {
    const { error, shape, transport, repository, secrets } = this.options;
    let realm: URL;
    try {
      realm = new URL(params.realm);
    } catch {
      throw error(request, `names the token realm ${shape(params.realm)}, which is not a URL`, 401);
    }
    // Credentials travel only over TLS, or to a loopback token service.
    if (realm.protocol !== "https:" && !(realm.protocol === "http:" && isLoopbackHost(realm.host))) {
      throw error(request, `asks for credentials at ${realm.origin}, which is not HTTPS`, 401);
    }
    const basic = this.basic();
    // Without credentials an anonymous token request is harmless (it carries only the repository's
    // name), so public registries keep working whatever their realm.
    if (basic && !this.trustsRealm(realm)) {
      throw error(
        request,
        `asks for credentials at ${realm.origin}, which is not the registry's host; if that token service is the registry's own, list its host in registryTokenHosts (finsight config)`,
        401,
      );
    }
    if (params.service) realm.searchParams.set("service", params.service);
    realm.searchParams.set("scope", `repository:${repository}:${action}`);
    const tokenRequest = `GET ${realm.origin}${realm.pathname}`;
    for (let attempt = 0; ; attempt++) {
      const answer = await transport.fetchToken(realm, basic, tokenRequest);
      const decision = retryDecision(answer.status, answer.header("retry-after"), attempt);
      if (decision.retry) {
        await answer.discard();
        await this.options.wait(decision.waitMs, tokenRequest);
        continue;
      }
      if (!decision.retry && decision.reason) answer.note = decision.reason;
      await this.options.expect(answer, 200, `get a ${action} token from ${realm.origin} for`, tokenRequest);
      const text = (await transport.readBody(answer, tokenRequest, 1024 * 1024)).toString("utf8");
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw error(tokenRequest, `answered ${shape(text)}, which is not JSON`, 200);
      }
      const token = isRecord(body) ? (body.token ?? body.access_token) : undefined;
      // A token goes into a header: printable ASCII without spaces, or it is not a token.
      if (typeof token !== "string" || !/^[\x21-\x7e]+$/.test(token)) {
        const described = isRecord(body)
          ? `an object with ${Object.keys(body).join(", ") || "no fields"}`
          : shape(body);
        throw error(tokenRequest, `token service ${realm.origin} answered ${described}, without a usable token`, 200);
      }
      secrets.add(token);
      const authorization = `Bearer ${token}`;
      this.held.set(action, authorization);
      return authorization;
    }
  }
}
