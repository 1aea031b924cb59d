import { AsyncLocalStorage } from "node:async_hooks";
import * as diagnosticsChannel from "node:diagnostics_channel";

/**
 * One HTTP exchange with a registry or its token service, over Node's own fetch (undici: keep-alive,
 * so parallel and later requests reuse connections), bounded in time, and the redirect rules.
 *
 * A timeout says what hung: the connection, the response headers or the body. fetch itself does not
 * tell a connection that never completed from a server that never answered, so the phase is read
 * from undici's diagnostics channels (`undici:request:create`, then `undici:client:sendHeaders` once
 * the request is written to a connected socket; documented in undici's DiagnosticsChannel.md), tied to
 * the exchange through an AsyncLocalStorage. fetch is looked up on globalThis at each call, so a test
 * may stand a registry model in for the network.
 *
 * Redirects are followed by hand. On the registry's host they keep the credentials; off it only blob
 * downloads may go (to storage, with a signed URL), over HTTPS or loopback, without credentials.
 * "The same host" means the same hostname, whatever the port: a TLS certificate names hostnames, not
 * ports, so whoever holds the registry's name holds its other ports too. This is the rule Go's HTTP
 * client, and so Docker's, applies to the Authorization header on a redirect.
 *
 * Self-contained (node modules only), like the rest of src/registry: the floating-tag provider is
 * serialised by Pulumi into the state.
 */

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

/** Where an exchange was when it stopped: connecting, waiting for the response headers, reading the body. */
export type Phase = "connect" | "headers" | "body";

/** An exchange that ended without a whole answer: why, and in which phase. */
export class TransportFailure extends Error {
  constructor(
    readonly phase: Phase,
    /** `timeout`: the per-request limit; `deadline`: the run's whole read; `error`: the network said so. */
    readonly reason: "timeout" | "deadline" | "error",
    /** The network's error code (`ECONNREFUSED`) or message, for `error`. */
    readonly code: string,
  ) {
    super(`${reason} while ${phase}: ${code}`);
    this.name = "TransportFailure";
  }
}

/** A body past the size a caller accepts. */
class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`a body larger than ${limit} bytes`);
    this.name = "BodyTooLarge";
  }
}

export interface Answer {
  status: number;
  /** Header names in lower case. */
  header(name: string): string | undefined;
  /** The body, at most `limit` bytes, within the exchange's time limit. */
  read(limit: number): Promise<Buffer>;
  /** Reads a small body to the end (so the connection can be reused) and drops it; a large one is cut off. */
  discard(): Promise<void>;
  /** Why the client stopped retrying, when it is not just the status (a Retry-After past the cap). */
  note?: string;
}

/** What the network said, in a word where it has one (`ECONNREFUSED`). */
const errorCode = (error: unknown): string => {
  const failure = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return failure?.cause?.code ?? failure?.code ?? failure?.cause?.message ?? failure?.message ?? String(error);
};

/** Where one exchange is; the diagnostics channels move it from "connect" to "headers". */
interface ExchangeState {
  phase: Phase;
}

/**
 * The AsyncLocalStorage that ties undici's requests to their exchange, made once per process. Kept on
 * globalThis rather than in a module variable: Pulumi serialises the floating-tag provider with the
 * values its functions capture, and a live AsyncLocalStorage is not a value to serialise.
 */
function phaseTracking(): AsyncLocalStorage<ExchangeState> {
  const slot = globalThis as unknown as { __finsightRegistryPhases?: AsyncLocalStorage<ExchangeState> };
  if (slot.__finsightRegistryPhases) return slot.__finsightRegistryPhases;
  const storage = new AsyncLocalStorage<ExchangeState>();
  const owners = new WeakMap<object, ExchangeState>();
  diagnosticsChannel.subscribe("undici:request:create", (message) => {
    const state = storage.getStore();
    if (state) owners.set((message as { request: object }).request, state);
  });
  diagnosticsChannel.subscribe("undici:client:sendHeaders", (message) => {
    const state = owners.get((message as { request: object }).request);
    if (state?.phase === "connect") state.phase = "headers";
  });
  slot.__finsightRegistryPhases = storage;
  return storage;
}

/**
 * One request and its answer, bounded by `timeoutMs` from the start to the last byte of the body
 * and by `deadline` (the run's whole read). Rejects with a TransportFailure naming the phase.
 */
async function exchange(
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: Buffer | undefined,
  timeoutMs: number,
  deadline?: AbortSignal,
): Promise<Answer> {
  if (deadline?.aborted) throw new TransportFailure("connect", "deadline", "deadline");
  const bounds = bound(timeoutMs, deadline);
  let response: Response;
  try {
    response = await phaseTracking().run(bounds.state, () =>
      globalThis.fetch(url, {
        method,
        headers,
        ...(body ? { body: new Uint8Array(body) } : {}),
        redirect: "manual",
        signal: bounds.signal,
      }),
    );
  } catch (error) {
    bounds.done();
    throw bounds.failure() ?? new TransportFailure(bounds.state.phase, "error", errorCode(error));
  }
  bounds.state.phase = "body";
  const read = bodyReader(response, bounds);
  return {
    status: response.status,
    header: (name) => response.headers.get(name) ?? undefined,
    read,
    discard: () =>
      read(64 * 1024).then(
        () => undefined,
        () => undefined,
      ),
  };
}

/** The time bounds of one exchange: where it is, the signal that stops it, why it was stopped, and `done` to release them. */
interface Bounds {
  state: ExchangeState;
  signal: AbortSignal;
  /** The TransportFailure the timer or the deadline stopped the exchange with, if either did. */
  failure(): TransportFailure | undefined;
  done(): void;
}

/** A timer of `timeoutMs` and the run's `deadline`, either aborting the exchange with the phase it was in. */
function bound(timeoutMs: number, deadline: AbortSignal | undefined): Bounds {
  const state: ExchangeState = { phase: "connect" };
  let failure: TransportFailure | undefined;
  const controller = new AbortController();
  const stop = (reason: "timeout" | "deadline") => {
    failure ??= new TransportFailure(state.phase, reason, reason);
    controller.abort(failure);
  };
  const timer = setTimeout(() => stop("timeout"), timeoutMs);
  const onDeadline = () => stop("deadline");
  deadline?.addEventListener("abort", onDeadline, { once: true });
  const done = () => {
    clearTimeout(timer);
    deadline?.removeEventListener("abort", onDeadline);
  };
  return { state, signal: controller.signal, failure: () => failure, done };
}

/** Reads the body once, at most `limit` bytes, within the exchange's bounds (released when the body ends or fails). */
function bodyReader(response: Response, bounds: Bounds): (limit: number) => Promise<Buffer> {
  let consumed = false;
  return async (limit) => {
    if (consumed) return Buffer.alloc(0);
    consumed = true;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      if (response.body) {
        for await (const chunk of response.body) {
          size += chunk.length;
          if (size > limit) {
            await response.body.cancel().catch(() => {});
            throw new BodyTooLarge(limit);
          }
          chunks.push(Buffer.from(chunk));
        }
      }
      return Buffer.concat(chunks);
    } catch (error) {
      if (error instanceof BodyTooLarge) throw error;
      throw bounds.failure() ?? new TransportFailure("body", "error", errorCode(error));
    } finally {
      bounds.done();
    }
  };
}

const REDIRECTS = [301, 302, 303, 307, 308];

export interface SendOptions {
  headers: Record<string, string>;
  body?: Buffer;
  /** Sent to the first host and to redirects on the same hostname only. */
  authorization?: string;
  /** Blob downloads may be redirected to storage on another host (the protocol expects it), without credentials. */
  offHostRedirects?: boolean;
}

/** How the client turns what went wrong into its own errors (naming the registry, redacted). */
export interface Failures {
  /** A refusal or failure of `request` (`GET /v2/…`), with the cause and the HTTP status (0: no answer). */
  error(request: string, cause: string, status: number): Error;
  /** The run's deadline passed while `request` was under way. */
  deadline(request: string): Error;
  /** A short rendering of something the server sent, redacted before it is cut. */
  shape(value: unknown): string;
}

/** The client's side of the wire: the registry's base URL, the time limits, and a count of requests. */
export class RegistryTransport {
  readonly base: URL;
  private readonly insecure: boolean;
  readonly timeoutMs: number;
  private readonly deadline: AbortSignal | undefined;
  private readonly failures: Failures;
  /** HTTP exchanges made, redirects and token requests included. */
  requests: number;

  // Every field is assigned here (Pulumi's closure serialiser rebuilds a class from its constructor).
  constructor(
    base: string,
    insecure: boolean,
    timeoutMs: number,
    deadline: AbortSignal | undefined,
    failures: Failures,
  ) {
    this.base = new URL(base);
    this.insecure = insecure;
    this.timeoutMs = timeoutMs;
    this.deadline = deadline;
    this.failures = failures;
    this.requests = 0;
  }

  /** Why an exchange with `what` failed, in a few words naming the phase that hung. */
  private cause(failure: TransportFailure, origin: string, what: "registry" | "token service"): string {
    const ms = this.timeoutMs;
    if (failure.reason === "error") return failure.code;
    if (failure.phase === "connect") return `could not connect to ${origin} within ${ms} ms`;
    if (failure.phase === "headers") {
      return what === "token service"
        ? `the token service ${origin} sent no answer within ${ms} ms (connected; no response headers came)`
        : `connected, but no response headers came within ${ms} ms`;
    }
    return `no complete answer within ${ms} ms`;
  }

  /**
   * An exchange that is not a registry API call (the token service), bounded the same way; the
   * answer's body is read by the caller with `readBody`.
   */
  async fetchToken(url: URL, authorization: string | undefined, request: string): Promise<Answer> {
    this.requests++;
    try {
      return await exchange(
        "GET",
        url,
        authorization ? { authorization } : {},
        undefined,
        this.timeoutMs,
        this.deadline,
      );
    } catch (error) {
      throw this.failure(error, request, url.origin, "token service", true);
    }
  }

  /** The body of an answer, at most `limit` bytes, or an error naming the request when it stalls or overflows. */
  async readBody(answer: Answer, request: string, limit: number): Promise<Buffer> {
    try {
      return await answer.read(limit);
    } catch (error) {
      if (error instanceof BodyTooLarge)
        throw this.failures.error(request, `sent a body larger than ${limit} bytes`, 200);
      if (error instanceof TransportFailure && error.reason === "deadline") throw this.failures.deadline(request);
      const cause = error instanceof TransportFailure ? this.cause(error, "", "registry") : errorCode(error);
      throw this.failures.error(request, `the body did not arrive: ${cause}`, 0);
    }
  }

  private failure(error: unknown, request: string, origin: string, what: "registry" | "token service", first: boolean) {
    if (!(error instanceof TransportFailure)) return error;
    if (error.reason === "deadline") return this.failures.deadline(request);
    const cause = this.cause(error, origin, what);
    if (what === "token service") {
      return this.failures.error(
        request,
        error.reason === "error" ? `token service ${origin} could not be reached: ${cause}` : cause,
        0,
      );
    }
    if (error.reason === "error") {
      return this.failures.error(
        request,
        first ? `could not be reached at ${this.base.origin}: ${cause}` : `${origin} could not be reached: ${cause}`,
        0,
      );
    }
    return this.failures.error(request, cause, 0);
  }

  /** One request to the registry, following redirects by the rules above. */
  async send(method: string, pathAndQuery: string, options: SendOptions): Promise<Answer> {
    const request = `${method} ${pathAndQuery}`;
    let url = new URL(pathAndQuery, this.base);
    let credentialed = true;
    for (let hop = 0; ; hop++) {
      this.requests++;
      let answer: Answer;
      try {
        answer = await exchange(
          method,
          url,
          {
            ...options.headers,
            ...(options.authorization && credentialed ? { authorization: options.authorization } : {}),
          },
          options.body,
          this.timeoutMs,
          this.deadline,
        );
      } catch (error) {
        throw this.failure(error, request, url.origin, "registry", hop === 0);
      }
      const location = REDIRECTS.includes(answer.status) ? answer.header("location") : undefined;
      if (location === undefined) return answer;
      await answer.discard();
      const target = this.redirectTarget(request, url, location, answer.status, hop, options);
      // storage gets a signed URL, never the registry's credentials
      if (target.hostname !== this.base.hostname) credentialed = false;
      url = target;
    }
  }

  /** Where a redirect from `url` leads, or an error naming the request when the rules above forbid following it. */
  private redirectTarget(
    request: string,
    url: URL,
    location: string,
    status: number,
    hop: number,
    options: SendOptions,
  ): URL {
    let target: URL;
    try {
      target = new URL(location, url);
    } catch {
      throw this.failures.error(request, `redirected to ${this.failures.shape(location)}, which is not a URL`, status);
    }
    if (hop >= 5) throw this.failures.error(request, "redirected more than 5 times", status);
    const plain = target.protocol === "http:" && !isLoopbackHost(target.host) && !this.insecure;
    if (target.protocol !== "https:" && (target.protocol !== "http:" || plain)) {
      throw this.failures.error(request, `redirected to ${target.origin}, which is not HTTPS; not followed`, status);
    }
    if (target.hostname !== this.base.hostname && !options.offHostRedirects) {
      throw this.failures.error(
        request,
        `redirected to ${target.origin}, another host; only blob downloads may leave the registry's host`,
        status,
      );
    }
    return target;
  }
}
