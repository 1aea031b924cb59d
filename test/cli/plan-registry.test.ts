/**
 * `npm run plan --registry` against registries at scale and at fault: a registry with 20,000
 * releases is summarised in the text plan (counts and the releases that matter) and listed in full
 * only by --json.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { runPlanCli } from "../support/cli";
import { faultProxyForSuite } from "../support/fault-proxy";
import { defaultContext } from "../support/program";
import { registryForSuite, writeDockerLogin } from "../support/registry";

const ENV = { GITHUB_SHA: "4f2a9c0e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39", SOURCE_DATE_EPOCH: "1795168800" };

describe("npm run plan --registry at scale (docker-registry behind a fault proxy)", () => {
  const registry = registryForSuite();
  const proxy = faultProxyForSuite(() => registry.host);
  const dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), "finsight-login-"));
  after(() => fs.rmSync(dockerConfig, { recursive: true, force: true }));
  const plan = (json: boolean) =>
    runPlanCli(
      [
        ...["--stack", "prod", "--registry", "--version", "99.0.0", ...(json ? ["--json"] : [])],
        ...["--config", `finsight:registry=${proxy.host}/scale`, "--config", `finsight:context=${defaultContext()}`],
      ],
      { env: { ...ENV, DOCKER_CONFIG: writeDockerLogin(dockerConfig, proxy.host) } },
    );

  it("20,000 releases: the text plan summarises them, --json lists them all", async () => {
    const tags = Array.from(
      { length: 20_000 },
      (_, i) => `v${Math.floor(i / 1000)}.${Math.floor(i / 10) % 100}.${i % 10}`,
    );
    proxy.fault = { mode: "tags-list", tags: [...tags, "latest", "buildcache-full"] };
    const text = await plan(false);
    assert.equal(text.code, 0, text.stderr);
    const row = text.stdout.split("\n").find((line) => line.startsWith("registry "));
    assert.ok(row, text.stdout);
    assert.ok(row.length < 300, `the registry row has ${row.length} characters`);
    assert.match(
      row,
      /read \(\d+ requests\), 20000 released versions from 0\.0\.0 to 19\.99\.9; newest: 19\.99\.5, 19\.99\.6, 19\.99\.7, 19\.99\.8, 19\.99\.9 \(--json lists all\)/,
    );
    assert.ok(text.stdout.length < 10_000, `the text plan has ${text.stdout.length} characters`);
    const json = await plan(true);
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { registry: { released: string[] } }).registry.released.length, 20_000);
  });

  it("a few releases are still listed one by one", async () => {
    proxy.fault = { mode: "tags-list", tags: ["v1.0.0", "v1.1.0", "latest"] };
    const text = await plan(false);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^registry +read \(\d+ requests\), released: 1\.0\.0, 1\.1\.0$/m);
  });
});
