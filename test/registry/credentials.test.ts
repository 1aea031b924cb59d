import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { dockerCredentials } from "../../src/registry/credentials";
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

  it("a docker config of an odd shape (null, a list, a number where the login goes) is no login, never a crash", () => {
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
      assert.equal(dockerCredentials("ghcr.io", { DOCKER_CONFIG: dir }), undefined, text);
    }
  });
});
