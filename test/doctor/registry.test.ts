/**
 * The doctor's registry lines against a real registry (Debian's docker-registry on loopback, basic
 * auth): reachable, login accepted, push allowed (a blob upload started and cancelled). A small
 * recording proxy in front of it shows what was sent, and stands for a registry that refuses pushes.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import type { DoctorContext } from "../../src/doctor/context";
import { checkRegistry } from "../../src/doctor/registry";
import { parseSettings } from "../../src/inputs/settings";
import { doctorContext, fakeTools } from "../support/doctor";
import { stackConfig } from "../support/plan-fixtures";
import {
  freePort,
  REGISTRY_PASSWORD,
  REGISTRY_USER,
  startRegistry,
  type TestRegistry,
  writeDockerLogin,
} from "../support/registry";

interface Recorder {
  host: string;
  requests: string[];
  denyPush: boolean;
  close(): Promise<void>;
}

/** Forwards to the registry, recording `METHOD path`; with denyPush, a POST to start an upload gets GHCR's 403 DENIED. */
async function recordingProxy(target: string): Promise<Recorder> {
  const recorder = { requests: [] as string[], denyPush: false };
  const server = http.createServer((request, response) => {
    recorder.requests.push(`${request.method} ${request.url}`);
    if (recorder.denyPush && request.method === "POST" && request.headers.authorization) {
      response.writeHead(403, { "content-type": "application/json" });
      return void response.end('{"errors":[{"code":"DENIED","message":"permission_denied: write_package"}]}');
    }
    const upstream = http.request(
      `http://${target}${request.url}`,
      { method: request.method, headers: { ...request.headers, host: target } },
      (answer) => {
        // The registry's Location names its own host; rewritten as a proxy in front of it would.
        const headers = { ...answer.headers };
        if (typeof headers.location === "string") headers.location = headers.location.replace(target, proxyHost);
        response.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(response);
      },
    );
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const proxyHost = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(recorder, {
    host: proxyHost,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

describe("doctor: registry reachable, login valid, push allowed", () => {
  let registry: TestRegistry;
  let proxy: Recorder;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "finsight-doctor-registry-"));
  const tools = fakeTools({});
  before(async () => {
    registry = await startRegistry();
    proxy = await recordingProxy(registry.host);
  });
  after(async () => {
    await proxy.close();
    await registry.stop();
    tools.remove();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  /** A docker config dir holding a login for host: the test's own password, or the one given. */
  function dockerConfig(host: string, password?: string): string {
    const dir = fs.mkdtempSync(path.join(scratch, "docker-"));
    if (password === undefined) return writeDockerLogin(dir, host);
    const auth = Buffer.from(`${REGISTRY_USER}:${password}`).toString("base64");
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ auths: { [host]: { auth } } }));
    return dir;
  }

  function contextFor(host: string, options: { dockerConfigDir?: string; readOnly?: boolean } = {}): DoctorContext {
    const context = doctorContext({ path: tools.path, readOnly: options.readOnly ?? false });
    if (options.dockerConfigDir) context.env.DOCKER_CONFIG = options.dockerConfigDir;
    context.settings = parseSettings(stackConfig("demo", { "finsight:registry": `${host}/finsight-test` }), "demo");
    return context;
  }

  const statuses = (results: { status: string }[]) => results.map((result) => result.status);

  /** Settings with the stack's own login: finsight:registryUsername and the secret finsight:registryPassword. */
  const stackLogin = () =>
    parseSettings(
      stackConfig(
        "demo",
        { "finsight:registry": `${proxy.host}/finsight-test`, "finsight:registryUsername": REGISTRY_USER },
        { secretKeys: ["finsight:registryPassword"] },
      ),
      "demo",
    );

  it("with the right login: all three pass, and the upload is started and cancelled, storing nothing", async () => {
    proxy.requests.length = 0;
    const results = await checkRegistry(contextFor(proxy.host, { dockerConfigDir: dockerConfig(proxy.host) }));
    assert.deepEqual(statuses(results), ["pass", "pass", "pass"], JSON.stringify(results));
    assert.equal(results[0].detail, `${proxy.host}/finsight-test/finsight-backend answers (0 tags)`);
    assert.equal(results[1].detail, `the docker login for ${proxy.host} is accepted`);
    assert.equal(results[2].detail, "a blob upload started and was cancelled (202, then 204); nothing was stored");
    const posts = proxy.requests.filter((line) => line.startsWith("POST "));
    const deletes = proxy.requests.filter((line) => line.startsWith("DELETE "));
    assert.ok(
      posts.every((line) => line === "POST /v2/finsight-test/finsight-backend/blobs/uploads/"),
      posts.join(),
    );
    assert.equal(deletes.length, 1, proxy.requests.join("\n"));
    assert.match(deletes[0], /^DELETE \/v2\/finsight-test\/finsight-backend\/blobs\/uploads\/[0-9a-f-]{36}\?_state=/);
    // The cancelled upload is gone: distribution answers 404 for its location.
    const location = deletes[0].slice("DELETE ".length);
    const basic = `Basic ${Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString("base64")}`;
    const after = await fetch(`http://${registry.host}${location}`, { headers: { authorization: basic } });
    assert.equal(after.status, 404);
    const tags = await fetch(`http://${registry.host}/v2/finsight-test/finsight-backend/tags/list`, {
      headers: { authorization: basic },
    });
    assert.equal(tags.status, 404, "no repository was created");
  });

  it("a wrong password: reachable, the login refused (password not shown), push not tried", async () => {
    proxy.requests.length = 0;
    const wrong = "wrong-password-not-to-print";
    const context = contextFor(proxy.host, { dockerConfigDir: dockerConfig(proxy.host, wrong) });
    const results = await checkRegistry(context);
    assert.deepEqual(statuses(results), ["pass", "fail", "fail"]);
    assert.equal(results[0].detail, `${proxy.host} answers (HTTP 401 to a tag listing)`);
    assert.match(
      results[1].detail,
      new RegExp(`^the docker login for ${proxy.host.replace(/\./g, "\\.")} was refused: .*HTTP 401`),
    );
    assert.equal(
      results[1].fix,
      `docker login ${proxy.host}   (or finsight:registryUsername with the secret finsight:registryPassword)`,
    );
    assert.equal(results[2].detail, "not checked: needs a valid login (above)");
    assert.ok(context.secrets.includes(wrong), "the password is held for redaction");
    assert.doesNotMatch(JSON.stringify(results), new RegExp(wrong));
    assert.equal(proxy.requests.filter((line) => line.startsWith("POST ")).length, 0);
  });

  it("no login at all against a registry that wants one", async () => {
    const results = await checkRegistry(
      contextFor(proxy.host, { dockerConfigDir: fs.mkdtempSync(path.join(scratch, "empty-")) }),
    );
    assert.deepEqual(statuses(results), ["pass", "fail", "fail"]);
    assert.match(
      results[1].detail,
      new RegExp(`^no login for ${proxy.host.replace(/\./g, "\\.")}, and it refuses anonymous reads`),
    );
  });

  it("a login that may read but not push: the upload is refused (403), naming it", async () => {
    proxy.denyPush = true;
    try {
      const results = await checkRegistry(contextFor(proxy.host, { dockerConfigDir: dockerConfig(proxy.host) }));
      assert.deepEqual(statuses(results), ["pass", "pass", "fail"]);
      assert.match(
        results[2].detail,
        /POST \/v2\/finsight-test\/finsight-backend\/blobs\/uploads\/: HTTP 403, not 202: this login may not push here$/,
      );
      assert.match(results[2].fix ?? "", /write \(push\) access to/);
    } finally {
      proxy.denyPush = false;
    }
  });

  it("--read-only starts no upload", async () => {
    proxy.requests.length = 0;
    const results = await checkRegistry(
      contextFor(proxy.host, { dockerConfigDir: dockerConfig(proxy.host), readOnly: true }),
    );
    assert.deepEqual(statuses(results), ["pass", "pass", "skip"]);
    assert.equal(results[2].detail, "--read-only: no upload was started");
    assert.deepEqual(
      proxy.requests.filter((line) => !line.startsWith("GET ")),
      [],
    );
  });

  it("nothing listening: unreachable, the other two not checked", async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const results = await checkRegistry(contextFor(host));
    assert.deepEqual(statuses(results), ["fail", "fail", "fail"]);
    assert.match(results[0].detail, /could not be reached at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED$/);
    assert.equal(results[0].fix, `start the registry on ${host} (README, "Try it")`);
    assert.equal(results[1].detail, "not checked: the registry did not answer");
  });

  it("the stack's own login: finsight:registryUsername, its secret read through the Pulumi CLI", async () => {
    const stackTools = fakeTools({
      pulumi: [{ args: "config get finsight:registryPassword --stack demo", stdout: `${REGISTRY_PASSWORD}\n` }],
    });
    try {
      const context = doctorContext({ path: stackTools.path });
      context.pulumiStack = true;
      context.settings = stackLogin();
      const results = await checkRegistry(context);
      assert.deepEqual(statuses(results), ["pass", "pass", "pass"], JSON.stringify(results));
      assert.equal(results[1].detail, `finsight:registryUsername ${REGISTRY_USER} is accepted`);
      assert.deepEqual(context.secrets, [REGISTRY_PASSWORD]);
    } finally {
      stackTools.remove();
    }
  });

  it("the stack's own login without a Pulumi stack to read its secret from", async () => {
    const context = doctorContext({ path: tools.path });
    context.settings = stackLogin();
    const results = await checkRegistry(context);
    assert.equal(results[1].status, "fail");
    assert.match(
      results[1].detail,
      /its secret finsight:registryPassword can be read only through the Pulumi CLI and stack/,
    );
  });
});
