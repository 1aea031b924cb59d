/**
 * Fast at real latency: with the fault proxy holding every answer back 100 ms (a registry tens of
 * milliseconds away, and then some), a prod plan's whole registry read against 300 releases takes
 * at most 3 sequential round trips, and a prod rollback's floating-tag writes at most 2. The proxy
 * counts round trips as chains of requests each sent after the previous one's answer (see
 * FaultProxy.roundTrips), an upper bound on what the client waited for.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { floatingTagProvider } from "../../src/resources/floating-tag";
import { runPlanCli } from "../support/cli";
import { faultProxyForSuite } from "../support/fault-proxy";
import { defaultContext, FLOATING_TAG_TYPE, runProgram } from "../support/program";
import {
  pushReleases,
  putManifest,
  REGISTRY_PASSWORD,
  REGISTRY_USER,
  registryForSuite,
  tagDigest,
  writeDockerLogin,
} from "../support/registry";

const ENV = { GITHUB_SHA: "4f2a9c0e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39", SOURCE_DATE_EPOCH: "1795168800" };
const DELAY_MS = 100;

describe("registry I/O at 100 ms a round trip (docker-registry holding 300 releases, behind a delaying proxy)", () => {
  const registry = registryForSuite();
  const proxy = faultProxyForSuite(() => registry.host);
  const repository = "latency/finsight-backend";
  const digests: Record<string, string> = {};

  before(async () => {
    const releases = Array.from({ length: 300 }, (_, i) => `v1.${Math.floor(i / 10)}.${i % 10}`);
    Object.assign(digests, await pushReleases(registry.host, repository, releases));
    // The floating tags where a release left them: on the newest release, its very manifest.
    for (const tag of ["latest", "v1", "v1.29"]) {
      await putManifest(registry.host, repository, tag, JSON.parse((await manifestOf("v1.29.9")).toString()));
    }
  });

  /** A release's manifest bytes, read with the test login straight from the registry. */
  const manifestOf = async (tag: string) => {
    const response = await fetch(`http://${registry.host}/v2/${repository}/manifests/${tag}`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString("base64")}`,
        accept: "application/vnd.oci.image.manifest.v1+json",
      },
    });
    assert.equal(response.status, 200);
    return Buffer.from(await response.arrayBuffer());
  };

  it("npm run plan -- --stack prod --registry: at most 3 sequential round trips", async () => {
    const dockerConfig = writeDockerLogin(fs.mkdtempSync(path.join(os.tmpdir(), "finsight-login-")), proxy.host);
    try {
      proxy.reset();
      proxy.delayMs = DELAY_MS;
      const run = await runPlanCli(
        [
          ...["--stack", "prod", "--registry", "--json", "--version", "2.0.0"],
          ...[
            "--config",
            `finsight:registry=${proxy.host}/latency`,
            "--config",
            `finsight:context=${defaultContext()}`,
          ],
        ],
        { env: { ...ENV, DOCKER_CONFIG: dockerConfig } },
      );
      assert.equal(run.code, 0, run.stderr);
      const plan = JSON.parse(run.stdout) as { registry: { status: string; released: string[] } };
      assert.equal(plan.registry.status, "read");
      assert.equal(plan.registry.released.length, 300);
      const trips = proxy.roundTrips();
      assert.ok(trips <= 3, `${trips} sequential round trips (${proxy.seen.length} requests): ${requestsSeen()}`);
    } finally {
      fs.rmSync(dockerConfig, { recursive: true, force: true });
    }
  });

  it("a prod rollback's floating-tag writes: at most 2 sequential round trips, and the tags move", async () => {
    proxy.reset();
    const run = await runProgram({
      stack: "prod",
      env: ENV,
      offline: true,
      config: {
        "finsight:registry": `${proxy.host}/latency`,
        "finsight:pin": "1.28.5",
        "finsight:registryUsername": REGISTRY_USER,
      },
      secrets: { "finsight:registryPassword": REGISTRY_PASSWORD },
    });
    assert.equal(run.error, undefined);
    const tags = run.registered.filter((resource) => resource.type === FLOATING_TAG_TYPE);
    // latest, v1 and v1.28 move to the pin; v1.29, the roll-forward release's own line, is held where it is.
    assert.deepEqual(tags.map((tag) => tag.inputs.tag).sort(), ["latest", "v1", "v1.28", "v1.29"]);
    proxy.reset();
    proxy.delayMs = DELAY_MS;
    // The engine runs independent resources' operations in parallel, so the writes go together.
    await Promise.all(
      tags.map(({ inputs: { __provider, ...inputs } }) =>
        floatingTagProvider.create({ ...inputs, username: REGISTRY_USER, password: REGISTRY_PASSWORD }),
      ),
    );
    const trips = proxy.roundTrips();
    assert.ok(trips <= 2, `${trips} sequential round trips (${proxy.seen.length} requests): ${requestsSeen()}`);
    for (const tag of ["latest", "v1", "v1.28"]) {
      assert.equal(await tagDigest(registry.host, repository, tag), digests["v1.28.5"], tag);
    }
    assert.equal(await tagDigest(registry.host, repository, "v1.29"), digests["v1.29.9"]);
    assert.equal(proxy.seen.filter((seen) => seen.method === "PUT").length, 3, "v1.29 is not written");
  });

  /** The requests the proxy saw, with their depth, for a failure's message. */
  function requestsSeen(): string {
    return proxy.seen.map((seen) => `${seen.depth}:${seen.method} ${seen.url}`).join(", ");
  }
});
