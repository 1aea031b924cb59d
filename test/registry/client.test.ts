import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import {
  isLoopbackHost,
  MANIFEST_MEDIA_TYPES,
  parseChallenge,
  RegistryClient,
  type RegistryError,
  registryBaseUrl,
  sha256Digest,
} from "../../src/registry/client";
import {
  freePort,
  pushImage,
  REGISTRY_CREDENTIALS,
  REGISTRY_USER,
  registryForSuite,
  tagDigest,
} from "../support/registry";

const credentials = REGISTRY_CREDENTIALS;

describe("registry client against a real registry (docker-registry, basic auth)", () => {
  const registry = registryForSuite();

  it("lists every tag and reads a tag's digest with one GET, hashed", async () => {
    const repository = "paging/finsight-backend";
    const pushed: Record<string, string> = {};
    for (const tag of ["v1.0.0", "v1.1.0", "v1.2.0", "v2.0.0", "latest"]) {
      pushed[tag] = await pushImage(registry.host, repository, tag);
    }
    const client = new RegistryClient({ host: registry.host, repository, credentials });
    const tags = await client.listTags(2);
    assert.deepEqual([...tags].sort(), Object.keys(pushed).sort());
    // distribution 2.8 answers the whole list on one page (it ignores `n` for tags; the scripted
    // registry below covers Link pagination): one 401, then the page with the basic credentials.
    assert.equal(client.requests, 2);
    assert.equal(await client.manifestDigest("v1.1.0"), pushed["v1.1.0"]);
    assert.equal(client.requests, 3, "the authorization is reused, so a digest (GET and hash) is one request");
    assert.equal(await client.manifestDigest("v9.9.9"), undefined);
  });

  it("an unknown repository has no tags rather than failing", async () => {
    const client = new RegistryClient({ host: registry.host, repository: "nobody/nothing", credentials });
    assert.deepEqual(await client.listTags(), []);
  });

  it("without credentials the registry refuses, and the error says which settings to check", async () => {
    const client = new RegistryClient({ host: registry.host, repository: "paging/finsight-backend" });
    await assert.rejects(client.listTags(), (error: RegistryError) => {
      assert.equal(error.status, 401);
      assert.match(error.message, /HTTP 401.*finsight:registryUsername and finsight:registryPassword/);
      return true;
    });
  });

  it("wrong credentials are refused too", async () => {
    const client = new RegistryClient({
      host: registry.host,
      repository: "paging/finsight-backend",
      credentials: { username: REGISTRY_USER, password: "wrong" },
    });
    await assert.rejects(client.manifestDigest("v1.0.0"), { name: "RegistryError", status: 401 });
  });

  it("copying the manifest bytes under another tag keeps the digest identical", async () => {
    const repository = "copy/finsight-backend";
    const digest = await pushImage(registry.host, repository, "v1.3.2");
    const client = new RegistryClient({ host: registry.host, repository, credentials });
    const manifest = await client.getManifest(digest);
    assert.ok(manifest);
    assert.equal(manifest.digest, digest);
    assert.equal(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
    assert.equal(await client.putManifest("latest", manifest), digest);
    assert.equal(await tagDigest(registry.host, repository, "latest"), digest);
  });

  it("a registry that is not listening is reported as unreachable (status 0)", async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const client = new RegistryClient({ host, repository: "a/b", timeoutMs: 2000 });
    await assert.rejects(client.listTags(), (error: RegistryError) => {
      assert.equal(error.status, 0);
      assert.equal(
        error.message,
        `registry ${host} (repository a/b): GET /v2/a/b/tags/list?n=1000: could not be reached at http://${host}: ECONNREFUSED`,
      );
      return true;
    });
  });
});

describe("registry client: bearer-token challenge (GHCR and Docker Hub style)", () => {
  // A scripted registry on loopback: it demands a bearer token from its own realm, as GHCR does.
  const seen: string[] = [];
  let server: http.Server;
  let host = "";
  before(async () => {
    server = http.createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://x");
      seen.push(`${request.method} ${url.pathname}${url.search} ${request.headers.authorization ?? "-"}`);
      if (url.pathname === "/token") {
        const scope = url.searchParams.get("scope");
        const expected = `Basic ${Buffer.from("bot:pw").toString("base64")}`;
        if (request.headers.authorization !== expected) return void response.writeHead(401).end();
        response.writeHead(200, { "content-type": "application/json" });
        return void response.end(JSON.stringify({ token: `token-for-${scope}` }));
      }
      if (request.headers.authorization !== "Bearer token-for-repository:acme/app:pull") {
        response.writeHead(401, {
          "www-authenticate": `Bearer realm="http://${host}/token",service="test-registry",scope="repository:acme/app:pull"`,
        });
        return void response.end();
      }
      const page = url.searchParams.get("last");
      response.writeHead(200, {
        "content-type": "application/json",
        ...(page ? {} : { link: '</v2/acme/app/tags/list?last=v1&n=1>; rel="next"' }),
      });
      response.end(JSON.stringify({ name: "acme/app", tags: [page ? "v2" : "v1"] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("gets a token for the repository's scope with the basic credentials, then reuses it for every page", async () => {
    const client = new RegistryClient({
      host,
      repository: "acme/app",
      credentials: { username: "bot", password: "pw" },
    });
    assert.deepEqual(await client.listTags(1), ["v1", "v2"]);
    assert.deepEqual(seen, [
      "GET /v2/acme/app/tags/list?n=1 -",
      `GET /token?service=test-registry&scope=repository%3Aacme%2Fapp%3Apull Basic ${Buffer.from("bot:pw").toString("base64")}`,
      "GET /v2/acme/app/tags/list?n=1 Bearer token-for-repository:acme/app:pull",
      "GET /v2/acme/app/tags/list?last=v1&n=1 Bearer token-for-repository:acme/app:pull",
    ]);
  });

  it("without credentials the token request is anonymous, and its refusal is an error", async () => {
    const client = new RegistryClient({ host, repository: "acme/app" });
    await assert.rejects(
      client.listTags(),
      /could not get a pull token from http:\/\/127\.0\.0\.1:\d+ for registry .*HTTP 401/,
    );
  });
});

describe("registry client: rate limits and brief outages", () => {
  it("retries a read after 429 and 503 (honouring Retry-After), and gives up after two retries", async () => {
    const answers = [429, 503, 200, 503, 503, 503];
    const seen: number[] = [];
    const server = http.createServer((_request, response) => {
      const status = answers[seen.length] ?? 500;
      seen.push(status);
      if (status !== 200) return void response.writeHead(status, { "retry-after": "0" }).end();
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ tags: ["v1.0.0"] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const client = new RegistryClient({
        host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
        repository: "a/b",
      });
      assert.deepEqual(await client.listTags(), ["v1.0.0"]);
      assert.deepEqual(seen, [429, 503, 200]);
      await assert.rejects(client.listTags(), /HTTP 503/);
      assert.equal(seen.length, 6, "three attempts, then the error");
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("registry client: transport rules", () => {
  it("plain HTTP only to localhost and loopback addresses, as Docker does", () => {
    const cases: Array<[string, boolean, string]> = [
      ["localhost:5000", false, "http://localhost:5000"],
      ["127.0.0.1:5000", false, "http://127.0.0.1:5000"],
      ["127.10.0.3", false, "http://127.10.0.3"],
      ["[::1]:5000", false, "http://[::1]:5000"],
      ["ghcr.io", false, "https://ghcr.io"],
      ["docker.io", false, "https://registry-1.docker.io"],
      ["128.0.0.1:5000", false, "https://128.0.0.1:5000"],
      ["localhost.example.com", false, "https://localhost.example.com"],
      ["registry.internal:5000", true, "http://registry.internal:5000"],
    ];
    for (const [host, insecure, base] of cases) assert.equal(registryBaseUrl(host, insecure), base, host);
    assert.equal(isLoopbackHost("127.0.0.1.example.com"), false);
  });

  it("reads quoted and bare challenge parameters", () => {
    assert.deepEqual(
      parseChallenge('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull"'),
      {
        scheme: "bearer",
        params: { realm: "https://ghcr.io/token", service: "ghcr.io", scope: "repository:a/b:pull" },
      },
    );
    assert.deepEqual(parseChallenge('Basic realm="finsight-test"'), {
      scheme: "basic",
      params: { realm: "finsight-test" },
    });
  });

  it("refuses to send credentials to a token realm that is not HTTPS", async () => {
    const server = http.createServer((_request, response) => {
      response.writeHead(401, { "www-authenticate": 'Bearer realm="http://auth.example.com/token",service="x"' }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const client = new RegistryClient({ host: `127.0.0.1:${port}`, repository: "a/b", credentials });
      await assert.rejects(
        client.listTags(),
        /asks for credentials at http:\/\/auth\.example\.com, which is not HTTPS/,
      );
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("registry client against a real registry with token auth (the bearer flow of GHCR and Docker Hub)", () => {
  const registry = registryForSuite({ auth: "token" });

  it("gets a pull,push token to write a tag and a pull token to read it back", async () => {
    const client = new RegistryClient({ host: registry.host, repository: "acme/finsight-backend", credentials });
    // An empty index needs no blobs, so the push path can be shown with manifests alone.
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_MEDIA_TYPES[0], manifests: [] }));
    const digest = await client.putManifest("v0.0.1", {
      bytes,
      mediaType: MANIFEST_MEDIA_TYPES[0],
      digest: sha256Digest(bytes),
    });
    assert.equal(digest, sha256Digest(bytes));
    assert.deepEqual(await client.listTags(), ["v0.0.1"]);
    assert.equal(await client.manifestDigest("v0.0.1"), digest);
    assert.equal((await client.getManifest("v0.0.1"))?.bytes.toString(), bytes.toString());
  });

  it("without credentials the token service refuses, and so does the registry", async () => {
    const client = new RegistryClient({ host: registry.host, repository: "acme/finsight-backend" });
    await assert.rejects(
      client.listTags(),
      /could not get a pull token from http:\/\/127\.0\.0\.1:\d+ for registry .*HTTP 401/,
    );
  });
});
