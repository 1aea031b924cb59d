/**
 * A fault-injecting HTTP proxy on loopback, in front of the real test registry: each way a registry
 * (or something between it and us) can mislead the client is a mode. `elsewhere` is a second server
 * on another loopback host (127.0.0.2) that stands for "another host": it records every request
 * that reaches it, with its Authorization header, so a test can show that nothing (or no
 * credential) went there. Both stop with the suite, including connections left hanging.
 *
 * `delayMs` holds every answer of the proxy back that long, as a distant registry would, and every
 * request is timed so that `roundTrips()` can say how many answers the client waited for one after
 * another (see there).
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { after, before } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { REGISTRY_PASSWORD, REGISTRY_USER } from "./registry";

export type FaultMode =
  /** Forward everything unchanged. */
  | "pass"
  /** tags/list answers `{"tags": "v9.9.9"}`. */
  | "tags-string"
  /** tags/list answers `{"tags": [1, 2]}`. */
  | "tags-numbers"
  /** tags/list answers `{"name": …, "tags": null}`: a repository without tags (legitimate). */
  | "tags-null"
  /** tags/list answers a body that is not JSON. */
  | "tags-not-json"
  /** tags/list answers a tag that breaks the tag grammar. */
  | "tags-bad-name"
  /** tags/list is forwarded with a Link header back at the page just read. */
  | "link-loop"
  /** tags/list never ends: each page links to a new one. */
  | "link-endless"
  /** tags/list is forwarded with a Link header to `elsewhere`. */
  | "link-off-host"
  /** Docker-Content-Digest on manifest responses replaced by `fault.digest` (HEAD only with `headOnly`). */
  | "digest-lie"
  /** Every API request redirected (307) to the same path on `elsewhere`. */
  | "redirect-off-host"
  /** Every API request redirected (307) once to the same URL on this proxy (`redirected=1` added). */
  | "redirect-same-host"
  /** Blob GETs redirected (307) to `elsewhere`, which serves the real blob like object storage. */
  | "blob-redirect"
  /** 401 with a Bearer realm on `elsewhere`; a request with `elsewhere`'s token is forwarded with the test login. */
  | "token-realm-off-host"
  /** 401 with a Bearer realm on this proxy's `/token`, which answers `fault.body`. */
  | "token-body"
  /** A request with an Authorization header gets 403 with a body that echoes the header. */
  | "echo-authorization-403"
  /** Headers of a 200, then a body that never finishes. */
  | "hang-body"
  /** Manifest GETs by tag answer `fault.body` with its true digest (a consistent, malformed manifest). */
  | "manifest-body"
  /**
   * A request with an Authorization header gets 403 with a body that echoes the credentials it
   * carried in every form (plain, JSON-escaped, base64 and base64url of the pair and of the password,
   * URL- and form-encoded in lower case), the plain password starting at `fault.offset` characters.
   */
  | "echo-secrets-403"
  /** tags/list answers `{"tags": "<offset filler><password>…"}`: a malformed answer that echoes the password. */
  | "tags-echo-secrets"
  /** tags/list answers `fault.tags` on one page. */
  | "tags-list"
  /** Requests whose path contains `fault.match` (every request without it) are read and never answered. */
  | "hang-headers"
  /** 401 with a Bearer realm on this proxy's `/token`, which never answers. */
  | "token-hang"
  /**
   * The first `fault.times` requests (of `fault.method`, when given) answer `fault.status` (429 by
   * default) with `Retry-After: fault.retryAfter` when given; later ones are forwarded.
   */
  | "retry-after";

export interface Fault {
  mode: FaultMode;
  /** digest-lie: the digest to state. */
  digest?: string;
  /** digest-lie: lie on HEAD only, answer GET truthfully. */
  headOnly?: boolean;
  /** token-body, manifest-body: the body to answer. */
  body?: string;
  /** echo-secrets-403, tags-echo-secrets: where the plain password starts in the body. */
  offset?: number;
  /** tags-list: the tags to list. */
  tags?: unknown[];
  /** hang-headers: only requests whose path contains this. */
  match?: string;
  /** retry-after: how many requests get the refusal. */
  times?: number;
  /** retry-after: only requests of this method. */
  method?: string;
  /** retry-after: the status (429 by default). */
  status?: number;
  /** retry-after: the Retry-After header, seconds or an HTTP date. */
  retryAfter?: string;
}

export interface Sighting {
  method: string;
  url: string;
  authorization?: string;
  /** When the request arrived and when its answer was sent, in ms (performance.now()). */
  arrived: number;
  answered?: number;
  /**
   * 1 + the largest depth among the requests whose answer had been sent before this one arrived: the
   * number of answers the client may have waited for, one after another, before sending it.
   */
  depth: number;
}

export interface FaultProxy {
  /** `127.0.0.1:<port>`: the registry host to give the client. */
  readonly host: string;
  /** `127.0.0.2:<port>`: another host. */
  readonly elsewhere: string;
  fault: Fault;
  /** Every answer of the proxy is held back this long (a registry at this round-trip time). */
  delayMs: number;
  /**
   * Sequential round trips: the deepest request's depth. A request that arrives after an answer was
   * sent is counted as waiting for it, whether or not it needed it, so this is an upper bound on the
   * client's chain of dependent requests; requests in flight together share a depth.
   */
  roundTrips(): number;
  /** Requests the proxy received, in order. */
  readonly seen: Sighting[];
  /** Requests `elsewhere` received, in order. */
  readonly seenElsewhere: Sighting[];
  /** Forget what was seen, back to `pass`. */
  reset(): void;
}

export const ELSEWHERE_TOKEN = "elsewhere-token";
const upstreamBasic = `Basic ${Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString("base64")}`;
const digestOf = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

interface Upstream {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request to the real registry, answered in full. */
function forward(
  upstream: string,
  method: string,
  url: string,
  headers: http.IncomingHttpHeaders,
  body: Buffer,
): Promise<Upstream> {
  const [hostname, port] = upstream.split(":");
  return new Promise((resolve, reject) => {
    const request = http.request(
      { hostname, port: Number(port), method, path: url, headers: { ...headers, host: upstream } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

/** What an Authorization header carried: the basic pair and its password, or a bearer token. */
function echoedCredentials(authorization: string | undefined): { pair: string; password: string } | undefined {
  if (authorization?.startsWith("Basic ")) {
    const pair = Buffer.from(authorization.slice("Basic ".length), "base64").toString("utf8");
    return { pair, password: pair.slice(pair.indexOf(":") + 1) };
  }
  if (authorization?.startsWith("Bearer ")) {
    const token = authorization.slice("Bearer ".length);
    return { pair: token, password: token };
  }
  return undefined;
}

/** A denial that quotes the credentials back in every form a careless or hostile server might. */
function echoBody({ pair, password }: { pair: string; password: string }, offset: number): string {
  const lower = (text: string) => text.replace(/%[0-9A-F]{2}/g, (percent) => percent.toLowerCase());
  return [
    `${"x".repeat(offset)}${password}`,
    JSON.stringify({ errors: [{ code: "DENIED", detail: { pass: password, pair } }] }),
    `basic=${Buffer.from(pair).toString("base64")}`,
    `basicurl=${Buffer.from(pair).toString("base64url")}`,
    `password64=${Buffer.from(password).toString("base64")}`,
    `url=${lower(encodeURIComponent(password))}`,
    `form=${lower(new URLSearchParams({ password }).toString())}`,
  ].join("\n");
}

function readRequest(request: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function send(response: http.ServerResponse, status: number, headers: http.OutgoingHttpHeaders, body: Buffer | string) {
  const bytes = Buffer.from(body);
  response.writeHead(status, { ...headers, "content-length": bytes.length });
  response.end(bytes);
}

function sendUpstream(response: http.ServerResponse, answer: Upstream, method: string, body = answer.body) {
  const {
    "content-length": _length,
    "transfer-encoding": _encoding,
    connection: _connection,
    ...headers
  } = answer.headers;
  // A HEAD keeps the length of the body it stands for; the proxy sends none.
  if (method === "HEAD") {
    response.writeHead(answer.status, { ...headers, "content-length": answer.headers["content-length"] ?? 0 });
    return void response.end();
  }
  send(response, answer.status, headers, body);
}

async function listen(server: http.Server, address: string, sockets: Set<Socket>): Promise<string> {
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  return `${address}:${(server.address() as AddressInfo).port}`;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy & { stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const seen: Sighting[] = [];
  const seenElsewhere: Sighting[] = [];
  const state: { fault: Fault; delayMs: number; counted: number } = {
    fault: { mode: "pass" },
    delayMs: 0,
    counted: 0,
  };
  let host = "";
  let elsewhereHost = "";

  const elsewhere = http.createServer(async (request, response) => {
    const url = request.url ?? "/";
    seenElsewhere.push({
      method: request.method ?? "",
      url,
      authorization: request.headers.authorization,
      arrived: performance.now(),
      depth: 0,
    });
    if (url.startsWith("/token")) {
      return send(response, 200, { "content-type": "application/json" }, JSON.stringify({ token: ELSEWHERE_TOKEN }));
    }
    if (url.startsWith("/storage/")) {
      // Object storage: the blob itself, fetched from the registry with the test login.
      const answer = await forward(
        upstream,
        "GET",
        url.slice("/storage".length),
        { authorization: upstreamBasic },
        Buffer.alloc(0),
      );
      return sendUpstream(response, answer, "GET");
    }
    send(
      response,
      200,
      { "content-type": "application/json" },
      JSON.stringify({ name: "elsewhere", tags: ["stolen"] }),
    );
  });

  const proxy = http.createServer(async (request, response) => {
    const method = request.method ?? "GET";
    const url = request.url ?? "/";
    const authorization = request.headers.authorization;
    const arrived = performance.now();
    const depth =
      1 + Math.max(0, ...seen.filter((s) => s.answered !== undefined && s.answered <= arrived).map((s) => s.depth));
    const sighting: Sighting = { method, url, authorization, arrived, depth };
    seen.push(sighting);
    response.on("finish", () => {
      sighting.answered = performance.now();
    });
    const { fault } = state;
    const path = new URL(url, "http://proxy").pathname;
    const isTags = path.endsWith("/tags/list");
    const isManifest = path.includes("/manifests/");
    const isBlob = path.includes("/blobs/");
    const body = await readRequest(request);
    const json = { "content-type": "application/json" };
    if (state.delayMs > 0) await sleep(state.delayMs);
    const echoed = echoedCredentials(authorization);
    /** A 401 asking for a bearer token from this proxy's own `/token`. */
    const challenge = () =>
      send(response, 401, { "www-authenticate": `Bearer realm="http://${host}/token",service="proxy"` }, "");
    try {
      switch (fault.mode) {
        case "echo-secrets-403":
          if (echoed) return send(response, 403, json, echoBody(echoed, fault.offset ?? 0));
          break;
        case "tags-list":
        case "tags-echo-secrets": {
          // Answered here, whatever the registry holds: the repository need not exist upstream.
          if (!isTags) break;
          const name = path.slice("/v2/".length, -"/tags/list".length);
          const tags =
            fault.mode === "tags-list"
              ? (fault.tags ?? [])
              : `${"x".repeat(fault.offset ?? 0)}${echoed?.password ?? ""}`;
          return send(response, 200, json, JSON.stringify({ name, tags }));
        }
        case "hang-headers":
          if (fault.match === undefined || path.includes(fault.match)) return; // never answered
          break;
        case "token-hang":
          if (path === "/token") return; // the token service never answers
          if (!authorization?.startsWith("Bearer ")) return challenge();
          break;
        case "retry-after":
          if ((fault.method === undefined || fault.method === method) && state.counted < (fault.times ?? 1)) {
            state.counted++;
            return send(response, fault.status ?? 429, fault.retryAfter ? { "retry-after": fault.retryAfter } : {}, "");
          }
          break;
        case "redirect-off-host":
          if (path !== "/v2/") return send(response, 307, { location: `http://${elsewhereHost}${url}` }, "");
          break;
        case "redirect-same-host":
          if (!url.includes("redirected=1")) {
            return send(response, 307, { location: `${url}${url.includes("?") ? "&" : "?"}redirected=1` }, "");
          }
          break;
        case "blob-redirect":
          if (isBlob && method === "GET") {
            return send(response, 307, { location: `http://${elsewhereHost}/storage${path}?signature=s3cr3t` }, "");
          }
          break;
        case "token-realm-off-host":
          if (authorization !== `Bearer ${ELSEWHERE_TOKEN}`) {
            const elsewhereRealm = `Bearer realm="http://${elsewhereHost}/token",service="elsewhere"`;
            return send(response, 401, { "www-authenticate": elsewhereRealm }, "");
          }
          return sendUpstream(
            response,
            await forward(upstream, method, url, { ...request.headers, authorization: upstreamBasic }, body),
            method,
          );
        case "token-body":
          if (path === "/token") return send(response, 200, json, fault.body ?? "");
          if (!authorization?.startsWith("Bearer ")) return challenge();
          return sendUpstream(
            response,
            await forward(upstream, method, url, { ...request.headers, authorization: upstreamBasic }, body),
            method,
          );
        case "echo-authorization-403":
          if (authorization) {
            const denied = { errors: [{ code: "DENIED", message: `denied for Authorization: ${authorization}` }] };
            return send(
              response,
              403,
              json,
              `${JSON.stringify(denied)}\nrequest headers: authorization=${authorization}`,
            );
          }
          break;
        case "hang-body":
          if (authorization) {
            response.writeHead(200, json);
            response.write('{"name":"x","tags":[');
            return; // never ends; the proxy's stop destroys the socket
          }
          break;
        default:
          break;
      }
      const answer = await forward(upstream, method, url, request.headers, body);
      if (answer.status !== 200) return sendUpstream(response, answer, method);
      if (isTags) {
        const repository = path.slice("/v2/".length, -"/tags/list".length);
        switch (fault.mode) {
          case "tags-string":
            return send(response, 200, json, JSON.stringify({ name: repository, tags: "v9.9.9" }));
          case "tags-numbers":
            return send(response, 200, json, JSON.stringify({ name: repository, tags: [1, 2] }));
          case "tags-null":
            return send(response, 200, json, JSON.stringify({ name: repository, tags: null }));
          case "tags-not-json":
            return send(response, 200, json, "<html>Service Unavailable</html>");
          case "tags-bad-name":
            return send(response, 200, json, JSON.stringify({ name: repository, tags: ["v1.0.0", "../../x y"] }));
          case "link-loop":
            return sendUpstream(
              response,
              { ...answer, headers: { ...answer.headers, link: `<${url}>; rel="next"` } },
              method,
            );
          case "link-endless": {
            const page = Number(new URL(url, "http://proxy").searchParams.get("last")?.slice(1) ?? 0) + 1;
            const link = `</v2/${repository}/tags/list?n=1000&last=p${page}>; rel="next"`;
            return send(response, 200, { ...json, link }, JSON.stringify({ name: repository, tags: [`p${page}`] }));
          }
          case "link-off-host": {
            const link = `<http://${elsewhereHost}/v2/${repository}/tags/list?last=z>; rel="next"`;
            return sendUpstream(response, { ...answer, headers: { ...answer.headers, link } }, method);
          }
          default:
            break;
        }
      }
      if (isManifest && fault.mode === "digest-lie" && fault.digest && (method === "HEAD" || !fault.headOnly)) {
        return sendUpstream(
          response,
          { ...answer, headers: { ...answer.headers, "docker-content-digest": fault.digest } },
          method,
        );
      }
      if (isManifest && fault.mode === "manifest-body" && fault.body && !path.includes("/manifests/sha256:")) {
        const bytes = Buffer.from(fault.body);
        const mediaType = (JSON.parse(fault.body) as { mediaType?: string }).mediaType ?? "application/json";
        return sendUpstream(
          response,
          {
            status: 200,
            headers: { "content-type": mediaType, "docker-content-digest": digestOf(bytes) },
            body: bytes,
          },
          method,
        );
      }
      return sendUpstream(response, answer, method);
    } catch (error) {
      send(response, 502, {}, `fault proxy: ${(error as Error).message}`);
    }
  });

  host = await listen(proxy, "127.0.0.1", sockets);
  elsewhereHost = await listen(elsewhere, "127.0.0.2", sockets);
  return {
    host,
    elsewhere: elsewhereHost,
    get fault() {
      return state.fault;
    },
    set fault(fault: Fault) {
      state.fault = fault;
      state.counted = 0;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(delayMs: number) {
      state.delayMs = delayMs;
    },
    roundTrips() {
      return Math.max(0, ...seen.map((sighting) => sighting.depth));
    },
    seen,
    seenElsewhere,
    reset() {
      state.fault = { mode: "pass" };
      state.delayMs = 0;
      state.counted = 0;
      seen.length = 0;
      seenElsewhere.length = 0;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await Promise.all(
        [proxy, elsewhere].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      );
    },
  };
}

/** A fault proxy for the enclosing suite, in front of the registry `upstream()` names once it is up. */
export function faultProxyForSuite(upstream: () => string): FaultProxy {
  let proxy: (FaultProxy & { stop(): Promise<void> }) | undefined;
  before(async () => {
    proxy = await startFaultProxy(upstream());
  });
  after(async () => proxy?.stop());
  const started = () => {
    if (!proxy) throw new Error("the suite's fault proxy is read before it started");
    return proxy;
  };
  return {
    get host() {
      return started().host;
    },
    get elsewhere() {
      return started().elsewhere;
    },
    get fault() {
      return started().fault;
    },
    set fault(fault: Fault) {
      started().fault = fault;
    },
    get delayMs() {
      return started().delayMs;
    },
    set delayMs(delayMs: number) {
      started().delayMs = delayMs;
    },
    roundTrips() {
      return started().roundTrips();
    },
    get seen() {
      return started().seen;
    },
    get seenElsewhere() {
      return started().seenElsewhere;
    },
    reset() {
      started().reset();
    },
  };
}
