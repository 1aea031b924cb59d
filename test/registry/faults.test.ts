/**
 * The registry client and view against a registry that misleads: the real docker-registry behind
 * the fault proxy (test/support/fault-proxy.ts), one mode per lie. Every case asserts what a
 * trusting client would get wrong: a partial or malformed read taken as "read", a digest taken on
 * faith, credentials sent to another host, a secret printed, an error that does not say where.
 */
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import type { RegistryQuestions } from "../../src/model/registry";
import { RegistryClient, RegistryError, redactCredentials, sha256Digest } from "../../src/registry/client";
import { readRegistryView } from "../../src/registry/view";
import { ELSEWHERE_TOKEN, faultProxyForSuite } from "../support/fault-proxy";
import {
  pushImage,
  REGISTRY_CREDENTIALS,
  REGISTRY_PASSWORD,
  REGISTRY_USER,
  registryForSuite,
} from "../support/registry";

const credentials = REGISTRY_CREDENTIALS;
const basicPair = Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString("base64");

/** The rejection is a RegistryError whose one-line message names the registry, the request and `cause`. */
function refusal(host: string, request: RegExp, cause: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof RegistryError, `not a RegistryError: ${error}`);
    assert.ok(error.message.includes(`registry ${host} (repository `), error.message);
    assert.match(error.message, request);
    assert.match(error.message, cause);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  };
}

describe("registry faults: the client checks what it is told (docker-registry behind a fault proxy)", () => {
  const registry = registryForSuite();
  const proxy = faultProxyForSuite(() => registry.host);
  const repository = "faults/finsight-backend";
  const digests: Record<string, string> = {};
  const client = (options: { withCredentials?: boolean; timeoutMs?: number; registryTokenHosts?: string[] } = {}) =>
    new RegistryClient({
      host: proxy.host,
      repository,
      ...(options.withCredentials === false ? {} : { credentials }),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.registryTokenHosts ? { registryTokenHosts: options.registryTokenHosts } : {}),
    });
  const view = (questions: RegistryQuestions = { releaseTag: "v1.0.0", digestsOf: ["latest"] }) =>
    readRegistryView({ host: proxy.host, repository, credentials }, questions);

  beforeEach(async () => {
    proxy.reset();
    if (Object.keys(digests).length > 0) return;
    const labels = { "finsight.release.build-inputs": "sha256:abc" };
    digests["v1.0.0"] = await pushImage(registry.host, repository, "v1.0.0", { content: "1.0.0", labels });
    digests.latest = await pushImage(registry.host, repository, "latest", { content: "1.0.0", labels });
    digests["v0.9.0"] = await pushImage(registry.host, repository, "v0.9.0", { content: "0.9.0" });
    // An image whose config has labels that are not strings (pushed as a broken build tool might).
    await pushImage(registry.host, "faults/odd-labels", "v1.0.0", {
      labels: { version: 1 } as unknown as Record<string, string>,
    });
  });

  const tagsRequest = new RegExp(`GET /v2/${repository}/tags/list\\?n=1000`);

  it('tags/list answering {"tags": "v9.9.9"} or [1, 2] is refused, naming what it sent; the view is unavailable', async () => {
    proxy.fault = { mode: "tags-string" };
    await assert.rejects(
      client().listTags(),
      refusal(proxy.host, tagsRequest, /answered \{.*"tags":"v9\.9\.9"\}, not a list of tags/),
    );
    const unavailable = await view();
    assert.equal(unavailable.status, "unavailable");
    proxy.fault = { mode: "tags-numbers" };
    await assert.rejects(client().listTags(), refusal(proxy.host, tagsRequest, /"tags":\[1,2\]\}, not a list of tags/));
    proxy.fault = { mode: "tags-not-json" };
    await assert.rejects(
      client().listTags(),
      refusal(proxy.host, tagsRequest, /"<html>Service Unavailable<\/html>", which is not JSON/),
    );
    proxy.fault = { mode: "tags-bad-name" };
    await assert.rejects(client().listTags(), refusal(proxy.host, tagsRequest, /\.\.\/\.\.\/x y.*not a list of tags/));
  });

  it('{"tags": null} and a missing repository (404) are "nothing released", as the distribution spec says', async () => {
    proxy.fault = { mode: "tags-null" };
    const read = await view();
    assert.equal(read.status, "read");
    if (read.status === "read") assert.deepEqual(read.tags, []);
    proxy.reset();
    const missing = new RegistryClient({ host: proxy.host, repository: "faults/nothing-here", credentials });
    assert.deepEqual(await missing.listTags(), []);
  });

  it("an exact tag the list leaves out is still asked for by manifest: a stale list never frees a released tag", async () => {
    proxy.fault = { mode: "tags-null" };
    const read = await view({ releaseTag: "v1.0.0", exactTags: ["v1.0.0", "v1.0.0-linux-arm64"], digestsOf: [] });
    assert.equal(read.status, "read");
    if (read.status === "read") {
      assert.deepEqual(read.tags, [], "the list says nothing is released");
      assert.deepEqual(read.digests, { "v1.0.0": digests["v1.0.0"] }, "the manifest says v1.0.0 is; a 404 is absent");
      assert.equal(read.releaseLabels?.["finsight.release.build-inputs"], "sha256:abc");
    }
  });

  it("a Link back at a page already read is refused after that one page, never a 10,000-page loop", async () => {
    proxy.fault = { mode: "link-loop" };
    const reader = client();
    await assert.rejects(reader.listTags(), refusal(proxy.host, tagsRequest, /points back at a page already read/));
    assert.equal(reader.requests, 2, "the 401 challenge and the one page");
    assert.equal((await view()).status, "unavailable");
  });

  it("an endless chain of pages stops at the page cap with an error, never a partial read", async () => {
    proxy.fault = { mode: "link-endless" };
    const reader = client();
    await assert.rejects(reader.listTags(1000, 20), refusal(proxy.host, /GET .*last=p20/, /goes on past 20 pages/));
    assert.equal(reader.requests, 21, "the 401 challenge and 20 pages");
  });

  it("a Link to another host is not followed", async () => {
    proxy.fault = { mode: "link-off-host" };
    await assert.rejects(
      client().listTags(),
      refusal(proxy.host, tagsRequest, new RegExp(`points at http://${proxy.elsewhere}, another host`)),
    );
    assert.equal(proxy.seenElsewhere.length, 0, "nothing reached the other host");
  });

  it("a lying Docker-Content-Digest is caught against the bytes; a lying HEAD is never asked", async () => {
    const lie = digests["v0.9.0"];
    proxy.fault = { mode: "digest-lie", digest: lie };
    const refused = await view();
    assert.equal(refused.status, "unavailable");
    if (refused.status === "unavailable") {
      assert.match(
        refused.reason,
        // The release tag is asked first (whatever the list says), so the lie is caught there.
        new RegExp(`GET /v2/${repository}/manifests/v1\\.0\\.0: .*digest is ${digests["v1.0.0"]}, not ${lie}`),
      );
    }
    await assert.rejects(client().getManifest(digests.latest), /digest is sha256:[a-f0-9]{64}, not sha256:/);
    // A registry whose HEAD lies and whose GET tells the truth: the view's digests are the bytes' hashes.
    proxy.fault = { mode: "digest-lie", digest: lie, headOnly: true };
    const read = await view({ releaseTag: "v1.0.0", digestsOf: ["latest", "v0.9.0", "v9.9.9"] });
    assert.equal(read.status, "read");
    if (read.status === "read") {
      assert.deepEqual(read.digests, {
        "v1.0.0": digests["v1.0.0"],
        latest: digests.latest,
        "v0.9.0": digests["v0.9.0"],
      });
      assert.equal(read.releaseLabels?.["finsight.release.build-inputs"], "sha256:abc");
    }
    assert.equal(proxy.seen.filter((seen) => seen.method === "HEAD").length, 0);
  });

  it("a manifest or an image config of the wrong shape makes the view unavailable, naming what it sent", async () => {
    proxy.fault = {
      mode: "manifest-body",
      body: JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: "x" }),
    };
    const index = await view({ releaseTag: "v1.0.0", digestsOf: [] });
    assert.equal(index.status, "unavailable");
    if (index.status === "unavailable") {
      assert.match(
        index.reason,
        new RegExp(`GET /v2/${repository}/manifests/v1.0.0: answered a manifest whose manifests is not a list`),
      );
    }
    proxy.fault = { mode: "manifest-body", body: JSON.stringify({ schemaVersion: 1, name: "x" }) };
    await assert.rejects(
      client().getManifest("v1.0.0"),
      /answered \{"schemaVersion":1,"name":"x"\}, not a schema 2 manifest/,
    );
    proxy.reset();
    const odd = await readRegistryView(
      { host: proxy.host, repository: "faults/odd-labels", credentials },
      { releaseTag: "v1.0.0", digestsOf: [] },
    );
    assert.equal(odd.status, "unavailable");
    if (odd.status === "unavailable") {
      assert.match(
        odd.reason,
        /GET \/v2\/faults\/odd-labels\/blobs\/sha256:[a-f0-9]{64}: answered image labels \{"version":1\}, not a map of strings/,
      );
    }
  });

  it("a redirect to another host is refused for API calls; one on the registry's host is followed", async () => {
    proxy.fault = { mode: "redirect-off-host" };
    await assert.rejects(
      client().listTags(),
      refusal(proxy.host, tagsRequest, new RegExp(`redirected to http://${proxy.elsewhere}, another host`)),
    );
    await assert.rejects(client().getManifest("latest"), /another host; only blob downloads may leave/);
    assert.equal(proxy.seenElsewhere.length, 0, "nothing reached the other host");
    proxy.fault = { mode: "redirect-same-host" };
    assert.deepEqual((await client().listTags()).sort(), ["latest", "v0.9.0", "v1.0.0"]);
  });

  it("a blob download may go to storage on another host, without the registry's credentials", async () => {
    proxy.fault = { mode: "blob-redirect" };
    const read = await view();
    assert.equal(read.status, "read");
    if (read.status === "read") assert.equal(read.releaseLabels?.["finsight.release.build-inputs"], "sha256:abc");
    assert.equal(proxy.seenElsewhere.length, 1);
    assert.match(proxy.seenElsewhere[0].url, /^\/storage\/v2\/faults\/finsight-backend\/blobs\/sha256:/);
    assert.equal(proxy.seenElsewhere[0].authorization, undefined);
  });

  it("credentials never go to a token realm on another host, unless that host is configured", async () => {
    proxy.fault = { mode: "token-realm-off-host" };
    await assert.rejects(
      client().listTags(),
      refusal(
        proxy.host,
        tagsRequest,
        new RegExp(`asks for credentials at http://${proxy.elsewhere}, which is not the registry's host`),
      ),
    );
    assert.equal(proxy.seenElsewhere.length, 0, "nothing reached the other host");
    // Anonymous: only the repository's name travels, so the token request is allowed.
    assert.deepEqual((await client({ withCredentials: false }).listTags()).sort(), ["latest", "v0.9.0", "v1.0.0"]);
    assert.equal(proxy.seenElsewhere.length, 1);
    assert.equal(proxy.seenElsewhere[0].authorization, undefined);
    // A sibling token service the user configured gets them.
    proxy.reset();
    proxy.fault = { mode: "token-realm-off-host" };
    const configured = client({ registryTokenHosts: [proxy.elsewhere.split(":")[0]] });
    assert.equal((await configured.listTags()).length, 3);
    assert.deepEqual(
      proxy.seenElsewhere.map((seen) => seen.authorization),
      [`Basic ${basicPair}`],
    );
    assert.ok(proxy.seen.some((seen) => seen.authorization === `Bearer ${ELSEWHERE_TOKEN}`));
  });

  it("a token service's answer is checked for a usable token", async () => {
    const answers: Array<[string, RegExp]> = [
      [JSON.stringify({ token: 42 }), /answered an object with token, without a usable token/],
      [JSON.stringify({}), /answered an object with no fields, without a usable token/],
      [JSON.stringify({ token: "two words" }), /without a usable token/],
      ["[]", /answered \[\], without a usable token/],
      ["not json", /answered "not json", which is not JSON/],
    ];
    for (const [body, cause] of answers) {
      proxy.fault = { mode: "token-body", body };
      await assert.rejects(
        client().listTags(),
        refusal(proxy.host, new RegExp(`GET http://${proxy.host}/token`), cause),
      );
    }
    proxy.fault = { mode: "token-body", body: JSON.stringify({ access_token: "fine-token" }) };
    assert.equal((await client().listTags()).length, 3);
  });

  it("a 403 that echoes the Authorization header is redacted before it reaches any message", async () => {
    proxy.fault = { mode: "echo-authorization-403" };
    await assert.rejects(client().listTags(), (error: RegistryError) => {
      assert.equal(error.status, 403);
      assert.ok(!error.message.includes(basicPair), error.message);
      assert.ok(!error.message.includes(REGISTRY_PASSWORD), error.message);
      assert.match(error.message, /HTTP 403 .*DENIED.*Authorization: \[redacted\]/);
      assert.match(error.message, tagsRequest);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
    const denied = await view();
    assert.equal(denied.status, "unavailable");
    if (denied.status === "unavailable") assert.ok(!denied.reason.includes(basicPair));
  });

  it("a body that hangs after the headers times out, naming the registry and the request", async () => {
    proxy.fault = { mode: "hang-body" };
    const started = Date.now();
    await assert.rejects(
      client({ timeoutMs: 500 }).listTags(),
      refusal(proxy.host, tagsRequest, /the body did not arrive: no complete answer within 500 ms/),
    );
    assert.ok(Date.now() - started < 3000);
  });
});

describe("registry faults: bearer tokens of a real token-auth registry stay out of messages", () => {
  const registry = registryForSuite({ auth: "token" });
  const proxy = faultProxyForSuite(() => registry.host);

  it("the token service on another port of the registry's hostname is the registry's own; the JWT it issues is redacted", async () => {
    const reader = new RegistryClient({ host: proxy.host, repository: "acme/tokens", credentials });
    assert.deepEqual(await reader.listTags(), []);
    proxy.fault = { mode: "echo-authorization-403" };
    await assert.rejects(
      new RegistryClient({ host: proxy.host, repository: "acme/tokens", credentials }).listTags(),
      (error: RegistryError) => {
        assert.equal(error.status, 403);
        assert.doesNotMatch(error.message, /eyJ/);
        assert.match(error.message, /Authorization: \[redacted\]/);
        return true;
      },
    );
  });
});

describe("redactCredentials", () => {
  const jwt = `${Buffer.from('{"alg":"RS256"}').toString("base64url")}.${Buffer.from('{"sub":"bot"}').toString("base64url")}.c2lnbmF0dXJl`;
  const cases: Array<[string, string, string[]]> = [
    ["authorization: Basic Ym90OnB3", "authorization: [redacted]", []],
    ['{"Authorization":"Bearer abc.def"}', '{"Authorization":"[redacted]"}', []],
    ["denied for Bearer abcd1234, try again", "denied for Bearer [redacted], try again", []],
    ["fetch https://bot:hunter22@registry.example.com/v2/", "fetch https://[redacted]@registry.example.com/v2/", []],
    [`token ${jwt} expired`, "token [redacted JWT] expired", []],
    ['{"token":"opaque","expires_in":300}', '{"token":[redacted],"expires_in":300}', []],
    ["GET /token?service=x&access_token=abc", "GET /token?service=x&access_token=[redacted]", []],
    ["the password is hunter22 (aHVudGVyMjI=)", "the password is [redacted] ([redacted])", ["hunter22"]],
    ["line one\n  line two", "line one line two", []],
    [
      "could not get a pull token from http://127.0.0.1:5000/token: HTTP 401",
      "could not get a pull token from http://127.0.0.1:5000/token: HTTP 401",
      [],
    ],
  ];
  for (const [text, expected, secrets] of cases) {
    it(JSON.stringify(text), () => assert.equal(redactCredentials(text, secrets), expected));
  }
  it("every RegistryError message goes through it", () => {
    assert.equal(
      new RegistryError(`x ${sha256Digest(Buffer.from("a"))} Basic Ym90OnB3`, 403).message.includes("Ym90OnB3"),
      false,
    );
  });
});
