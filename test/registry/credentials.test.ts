import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { dockerCredentials } from "../../src/registry/credentials";
import { PROJECT_DIR, runProcess } from "../support/cli";
import { tempDir } from "../support/temp";

/** A docker config directory holding `config`, as `docker login` would leave it. */
function dockerConfig(config: object): string {
  const dir = tempDir("finsight-docker-");
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

const auth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString("base64");

describe("docker login credentials (the same login the docker-build push uses)", () => {
  it("reads the auths entry for the host, from DOCKER_CONFIG", () => {
    const dir = dockerConfig({ auths: { "ghcr.io": { auth: auth("octocat", "ghp_token:with:colons") } } });
    assert.deepEqual(dockerCredentials("ghcr.io", { DOCKER_CONFIG: dir }), {
      username: "octocat",
      password: "ghp_token:with:colons",
    });
    assert.equal(dockerCredentials("quay.io", { DOCKER_CONFIG: dir }), undefined);
  });

  it("falls back to ~/.docker/config.json, and Docker Hub's old index key", () => {
    const home = tempDir("finsight-home-");
    fs.mkdirSync(path.join(home, ".docker"));
    fs.writeFileSync(
      path.join(home, ".docker", "config.json"),
      JSON.stringify({ auths: { "https://index.docker.io/v1/": { auth: auth("acme", "hub-token") } } }),
    );
    assert.deepEqual(dockerCredentials("docker.io", { HOME: home }), { username: "acme", password: "hub-token" });
  });

  it("asks a credential helper, as Docker's keychain does", () => {
    const bin = tempDir("finsight-bin-");
    // A helper answers `get` with the host on stdin, per docker-credential-helpers' protocol.
    fs.writeFileSync(
      path.join(bin, "docker-credential-finsighttest"),
      '#!/bin/sh\nread host\n[ "$host" = "registry.example.com" ] || exit 1\necho \'{"ServerURL":"registry.example.com","Username":"robot","Secret":"from-helper"}\'\n',
      { mode: 0o755 },
    );
    const dir = dockerConfig({ credHelpers: { "registry.example.com": "finsighttest" } });
    const env = { DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` };
    assert.deepEqual(dockerCredentials("registry.example.com", env), { username: "robot", password: "from-helper" });
    assert.equal(dockerCredentials("other.example.com", env), undefined, "the helper has nothing: anonymous");
  });

  it("no docker config at all means anonymous access", () => {
    assert.equal(dockerCredentials("ghcr.io", { DOCKER_CONFIG: path.join(os.tmpdir(), "finsight-none") }), undefined);
  });

  it("a docker config of an odd shape (null, a list, a number where the login goes) is one line naming the file, never a crash", () => {
    for (const text of [
      "null",
      "[]",
      '"x"',
      '{"auths":null}',
      '{"auths":{"ghcr.io":null}}',
      '{"auths":{"ghcr.io":{"auth":5}}}',
      '{"auths":{"ghcr.io":{"username":1,"password":["p"]}}}',
    ]) {
      const dir = tempDir("finsight-docker-");
      fs.writeFileSync(path.join(dir, "config.json"), text);
      assert.throws(
        () => dockerCredentials("ghcr.io", { DOCKER_CONFIG: dir }),
        (error: Error) =>
          error.name === "DockerConfigError" &&
          error.message.startsWith(path.join(dir, "config.json")) &&
          !error.message.includes("\n"),
        text,
      );
    }
  });
});

describe("a malformed docker config: one line naming the file, the key and what is accepted", () => {
  /** A docker config directory holding exactly `text` as config.json. */
  const rawConfig = (text: string) => {
    const dir = tempDir("finsight-docker-");
    fs.writeFileSync(path.join(dir, "config.json"), text);
    return dir;
  };
  const secretAuth = Buffer.from("nocolon-ghp_secretvalue").toString("base64");
  const cases: Array<[string, string, RegExp]> = [
    ["null", "null", /config\.json must be a JSON object \(as docker login writes it\), got null/],
    ["not JSON", '{"auths": {"ghcr.io": {"auth": "c2VjcmV0"', /config\.json is not JSON/],
    ["auths a list", '{"auths": []}', /config\.json: auths must be a map of registry hosts to logins, got a list/],
    [
      "an entry that is a string",
      '{"auths": {"ghcr.io": "c2VjcmV0"}}',
      /config\.json: auths\["ghcr\.io"\] must be an object with auth \(base64 of user:password\) or username and password, got a string/,
    ],
    [
      "auth a number",
      '{"auths": {"ghcr.io": {"auth": 5}}}',
      /config\.json: auths\["ghcr\.io"\]\.auth must be base64 of user:password, got a number/,
    ],
    [
      "auth without a colon",
      JSON.stringify({ auths: { "ghcr.io": { auth: secretAuth } } }),
      /config\.json: auths\["ghcr\.io"\]\.auth must be base64 of user:password, got a value without ":" \(not shown\)/,
    ],
    [
      "credHelpers a list",
      '{"credHelpers": ["x"]}',
      /config\.json: credHelpers must be a map of registry hosts to helper names, got a list/,
    ],
    ["credsStore a number", '{"credsStore": 5}', /config\.json: credsStore must be a helper name, got a number/],
  ];
  for (const [name, text, message] of cases) {
    it(name, () => {
      const dir = rawConfig(text);
      assert.throws(
        () => dockerCredentials("ghcr.io", { DOCKER_CONFIG: dir }),
        (error: Error) => {
          assert.equal(error.name, "DockerConfigError", error.stack);
          assert.ok(error.message.startsWith(path.join(dir, "config.json")), error.message);
          assert.match(error.message, message);
          assert.doesNotMatch(error.message, /\n/);
          for (const secret of ["c2VjcmV0", "secret", secretAuth, "ghp_secretvalue"]) {
            assert.ok(!error.message.includes(secret), `the message shows ${secret}: ${error.message}`);
          }
          return true;
        },
      );
    });
  }
});

describe("a docker config that is not a regular file is refused, never read", () => {
  // Reading a FIFO blocks until a writer comes, and /dev/zero never ends: either would hang the run
  // (or exhaust memory) before any registry is asked. Run in a child process, bounded, so a hang fails.
  const probe = (dir: string) =>
    runProcess(
      path.join(PROJECT_DIR, "node_modules", ".bin", "tsx"),
      [
        "-e",
        `const { dockerCredentials } = require(${JSON.stringify(path.join(PROJECT_DIR, "src/registry/credentials.ts"))});
         try { dockerCredentials("ghcr.io", { DOCKER_CONFIG: ${JSON.stringify(dir)} }); console.log("read"); }
         catch (error) { console.log(error.name + ": " + error.message); }`,
      ],
      { env: { PATH: process.env.PATH ?? "" }, timeoutMs: 15_000 },
    );

  it("a FIFO: one line naming the file, at once", async () => {
    const dir = tempDir("finsight-docker-");
    execFileSync("mkfifo", [path.join(dir, "config.json")]);
    const run = await probe(dir);
    assert.notEqual(run.code, null, "the read of a FIFO docker config hung");
    assert.match(run.stdout, /DockerConfigError: .*config\.json must be a regular file/);
  });

  it("a link to a device that never ends: one line naming the file", async () => {
    const dir = tempDir("finsight-docker-");
    fs.symlinkSync("/dev/zero", path.join(dir, "config.json"));
    const run = await probe(dir);
    assert.notEqual(run.code, null, "the read of /dev/zero as a docker config hung");
    assert.match(run.stdout, /DockerConfigError: .*config\.json must be a regular file/);
  });

  it("a huge file: refused by its size, not read", async () => {
    const dir = tempDir("finsight-docker-");
    fs.writeFileSync(path.join(dir, "config.json"), "");
    fs.truncateSync(path.join(dir, "config.json"), 64 * 1024 * 1024);
    const run = await probe(dir);
    assert.match(run.stdout, /DockerConfigError: .*config\.json is larger than/);
  });
});
