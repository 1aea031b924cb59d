/**
 * A fault-injecting HTTP proxy on loopback, in front of the real test registry: each way a registry
 * (or something between it and us) can mislead the client is a mode. `elsewhere` is a second server
 * on another loopback host (127.0.0.2) that stands for "another host": it records every request
 * that reaches it, with its Authorization header, so a test can show that nothing (or no
 * credential) went there. Both stop with the suite, including connections left hanging.
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { after, before } from "node:test";
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
  | "manifest-body";

export interface Fault {
  mode: FaultMode;
  /** digest-lie: the digest to state. */
  digest?: string;
  /** digest-lie: lie on HEAD only, answer GET truthfully. */
  headOnly?: boolean;
  /** token-body, manifest-body: the body to answer. */
  body?: string;
}

export interface Sighting {
  method: string;
  url: string;
  authorization?: string;
}

export interface FaultProxy {
  /** `127.0.0.1:<port>`: the registry host to give the client. */
  readonly host: string;
  /** `127.0.0.2:<port>`: another host. */
  readonly elsewhere: string;
  fault: Fault;
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
  const state: { fault: Fault } = { fault: { mode: "pass" } };
  let host = "";
  let elsewhereHost = "";

  const elsewhere = http.createServer(async (request, response) => {
    const url = request.url ?? "/";
    seenElsewhere.push({ method: request.method ?? "", url, authorization: request.headers.authorization });
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
    seen.push({ method, url, authorization });
    const { fault } = state;
    const path = new URL(url, "http://proxy").pathname;
    const isTags = path.endsWith("/tags/list");
    const isManifest = path.includes("/manifests/");
    const isBlob = path.includes("/blobs/");
    const body = await readRequest(request);
    const json = { "content-type": "application/json" };
    try {
      switch (fault.mode) {
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
            const challenge = `Bearer realm="http://${elsewhereHost}/token",service="elsewhere"`;
            return send(response, 401, { "www-authenticate": challenge }, "");
          }
          return sendUpstream(
            response,
            await forward(upstream, method, url, { ...request.headers, authorization: upstreamBasic }, body),
            method,
          );
        case "token-body":
          if (path === "/token") return send(response, 200, json, fault.body ?? "");
          if (!authorization?.startsWith("Bearer ")) {
            return send(
              response,
              401,
              { "www-authenticate": `Bearer realm="http://${host}/token",service="proxy"` },
              "",
            );
          }
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
    },
    seen,
    seenElsewhere,
    reset() {
      state.fault = { mode: "pass" };
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
