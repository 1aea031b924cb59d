/**
 * Every registry conversation is bounded: one deadline for a run's whole read, per-request timeouts
 * that say what hung (the connection, the response headers, the token service, the body), retries
 * that honour Retry-After in both of its forms up to a cap and treat a manifest PUT like a read, and
 * a tag list whose bad entry is named. The real docker-registry behind the fault proxy, on loopback.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { beforeEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RegistryClient, RegistryError } from "../../src/registry/client";
import { readRegistryView } from "../../src/registry/view";
import { faultProxyForSuite } from "../support/fault-proxy";
import { pushImage, REGISTRY_PASSWORD, REGISTRY_USER, registryForSuite, tagDigest } from "../support/registry";

const credentials = { username: REGISTRY_USER, password: REGISTRY_PASSWORD };

/** Settles `promise`, or says it was still running after `ms`: a test of a bound must not hang itself. */
async function within<T>(promise: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown; late?: true }> {
  return Promise.race([
    promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    sleep(ms).then(() => ({ late: true as const })),
  ]);
}

/**
 * A TCP port that never completes a connection: a listener with a backlog of 0 that never accepts,
 * its queue already full, so the kernel drops every further SYN (as a firewall that drops would).
 */
async function blackHole(): Promise<{ host: string; stop(): void }> {
  const script = [
    "import socket, time",
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)",
    "port = s.getsockname()[1]",
    "fill = []",
    "for i in range(3):",
    "    c = socket.socket(); c.setblocking(False)",
    "    try: c.connect(('127.0.0.1', port))",
    "    except BlockingIOError: pass",
    "    fill.append(c)",
    "print(port, flush=True)",
    "time.sleep(60)",
  ].join("\n");
  const child: ChildProcess = spawn("python3", ["-c", script], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.stdout?.once("data", (chunk) => resolve(String(chunk).trim()));
  });
  await sleep(100); // let the queue fill before anyone connects
  return { host: `127.0.0.1:${port}`, stop: () => child.kill("SIGKILL") };
}

describe("registry reads and writes are bounded in time (docker-registry behind a fault proxy)", () => {
  const registry = registryForSuite();
  const proxy = faultProxyForSuite(() => registry.host);
  const repository = "bounds/finsight-backend";
  const digests: Record<string, string> = {};
  const client = (options: { timeoutMs?: number; deadlineMs?: number } = {}) =>
    new RegistryClient({ host: proxy.host, repository, credentials, ...options });

  beforeEach(async () => {
    proxy.reset();
    digests["v1.0.0"] ??= await pushImage(registry.host, repository, "v1.0.0");
  });

  it("one deadline bounds a whole read of slow, endless pages, and the error says what was read so far", async () => {
    proxy.fault = { mode: "link-endless" };
    proxy.delayMs = 150;
    const started = Date.now();
    const outcome = await within(
      readRegistryView(
        { host: proxy.host, repository, credentials, deadlineMs: 1200 },
        { releaseTag: "v1.0.0", digestsOf: [] },
      ),
      8000,
    );
    assert.equal(outcome.late, undefined, "still reading 8 s after a 1.2 s deadline");
    assert.ok(Date.now() - started < 3000, `stopped ${Date.now() - started} ms after it started`);
    const view = outcome.value;
    assert.equal(view?.status, "unavailable");
    if (view?.status === "unavailable") {
      assert.match(view.reason, new RegExp(`registry ${proxy.host} \\(repository ${repository}\\)`));
      assert.match(view.reason, /did not finish within 1\.2 s \(finsight:registryDeadline\)/);
      assert.match(view.reason, /read so far: [1-9]\d* tag-list pages \([1-9]\d* tags\)/);
      assert.match(view.reason, /still waiting on GET \/v2\/bounds\/finsight-backend\/tags\/list\?n=1000&last=p\d+/);
    }
  });

  it("an answer whose headers never come is named as such, after the per-request timeout", async () => {
    proxy.fault = { mode: "hang-headers", match: "/tags/list" };
    const outcome = await within(client({ timeoutMs: 400 }).listTags(), 5000);
    assert.ok(outcome.error instanceof RegistryError, String(outcome.error ?? "no error"));
    assert.match(
      outcome.error.message,
      /GET \/v2\/bounds\/finsight-backend\/tags\/list\?n=1000: connected, but no response headers came within 400 ms/,
    );
  });

  it("a token service that never answers is named, not called unreachable", async () => {
    proxy.fault = { mode: "token-hang" };
    const outcome = await within(client({ timeoutMs: 400 }).listTags(), 5000);
    assert.ok(outcome.error instanceof RegistryError, String(outcome.error ?? "no error"));
    assert.match(
      outcome.error.message,
      new RegExp(`GET http://${proxy.host}/token: the token service http://${proxy.host} sent no answer within 400 ms`),
    );
    assert.doesNotMatch(outcome.error.message, /could not be reached/);
  });

  it("a host that never completes the connection is named as a connection that timed out", async () => {
    const hole = await blackHole();
    try {
      const reader = new RegistryClient({ host: hole.host, repository, timeoutMs: 400 });
      const outcome = await within(reader.listTags(), 5000);
      assert.ok(outcome.error instanceof RegistryError, String(outcome.error ?? "no error"));
      assert.equal(
        outcome.error.message,
        `registry ${hole.host} (repository ${repository}): GET /v2/${repository}/tags/list?n=1000: could not connect to http://${hole.host} within 400 ms`,
      );
    } finally {
      hole.stop();
    }
  });

  it("Retry-After as an HTTP date is honoured", async () => {
    // HTTP dates have whole seconds: 2.5 s ahead is at least 1.5 s ahead once rounded down.
    proxy.fault = { mode: "retry-after", times: 1, status: 503, retryAfter: new Date(Date.now() + 2500).toUTCString() };
    const started = Date.now();
    assert.deepEqual(await client().listTags(), ["v1.0.0"]);
    assert.ok(Date.now() - started >= 1400, `retried after ${Date.now() - started} ms`);
    assert.equal(proxy.seen.length, 2, "the refusal, then the page");
  });

  it("Retry-After in seconds is honoured; one past the cap is not waited for, and the error says so", async () => {
    proxy.fault = { mode: "retry-after", times: 1, retryAfter: "1" };
    const started = Date.now();
    assert.deepEqual(await client().listTags(), ["v1.0.0"]);
    assert.ok(Date.now() - started >= 950, `retried after ${Date.now() - started} ms`);
    proxy.fault = { mode: "retry-after", times: 5, retryAfter: "3600" };
    const refused = Date.now();
    const outcome = await within(client().listTags(), 5000);
    assert.ok(outcome.error instanceof RegistryError, String(outcome.error ?? "no error"));
    assert.match(
      outcome.error.message,
      /HTTP 429\b.*asks to wait 3600 s \(Retry-After\), more than the 10 s a request waits/,
    );
    assert.ok(Date.now() - refused < 1000, "nothing is waited for when the wait is refused");
  });

  it("a manifest PUT refused with 429 or 503 is retried with the same bytes, like a read", async () => {
    const writer = client();
    const manifest = await writer.getManifest("v1.0.0");
    assert.ok(manifest);
    for (const status of [429, 503]) {
      proxy.fault = { mode: "retry-after", method: "PUT", times: 2, status, retryAfter: "0" };
      const tag = `retried-${status}`;
      assert.equal(await writer.putManifest(tag, manifest), manifest.digest);
      assert.equal(await tagDigest(registry.host, repository, tag), manifest.digest);
      assert.equal(proxy.seen.filter((seen) => seen.method === "PUT" && seen.url.endsWith(tag)).length, 3);
    }
    proxy.fault = { mode: "retry-after", method: "PUT", times: 5, retryAfter: "0" };
    await assert.rejects(writer.putManifest("never", manifest), /write the tag never to .*HTTP 429/);
  });

  it("a listed tag that is not a valid tag is named, escaped, with where it was", async () => {
    const tags = [...Array.from({ length: 60 }, (_, i) => `v1.0.${i}`), "bad tag\u001b[31m", "v2.0.0"];
    proxy.fault = { mode: "tags-list", tags };
    await assert.rejects(client().listTags(), (error: RegistryError) => {
      assert.match(
        error.message,
        /GET \/v2\/bounds\/finsight-backend\/tags\/list\?n=1000: tags\/list page 1 lists "bad tag\\u001b\[31m" \(entry 61 of 62\), which is not a valid tag/,
      );
      assert.ok(!error.message.includes("\u001b"), "no raw escape character in the message");
      return true;
    });
    proxy.fault = { mode: "tags-list", tags: ["v1.0.0", 7] };
    await assert.rejects(client().listTags(), /tags\/list page 1 lists 7 \(entry 2 of 2\), which is not a valid tag/);
  });
});
