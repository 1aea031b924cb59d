import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import type { ReleasePlan } from "../../src/plan/release-plan";
import {
  defaultContext,
  floatingTagsOf,
  imagesOf,
  indexesOf,
  PROJECT_DIR,
  runProgram,
  testRegistry,
} from "../support/program";

const TSX = path.join(PROJECT_DIR, "node_modules", ".bin", "tsx");
const CLI = path.join(PROJECT_DIR, "src", "cli", "plan.ts");
const ENV = {
  RELEASE_VERSION: "1.4.0",
  GITHUB_SHA: "4f2a9c0e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
  SOURCE_DATE_EPOCH: "1795168800",
};

function plan(args: string[], env: Record<string, string> = ENV): string {
  return execFileSync(TSX, [CLI, ...args], {
    cwd: PROJECT_DIR,
    env: { PATH: process.env.PATH, ...env },
    encoding: "utf8",
  });
}

describe("npm run plan", () => {
  for (const stack of ["demo", "prod"]) {
    it(`prints exactly the resource inputs that pulumi up registers (${stack})`, async () => {
      // Both read the same real registry, logged in the same way (a docker config file).
      const { registry, dockerConfig } = await testRegistry();
      const printed = JSON.parse(
        plan(
          [
            ...["--stack", stack, "--json", "--registry"],
            ...[
              "--config",
              `finsight:registry=${registry.host}/acme`,
              "--config",
              `finsight:context=${defaultContext()}`,
            ],
          ],
          {
            ...ENV,
            DOCKER_CONFIG: dockerConfig,
          },
        ),
      ) as ReleasePlan;
      assert.equal(printed.registry.status, "read");
      const run = await runProgram({ stack, env: ENV });
      assert.equal(run.error, undefined);
      const registered = imagesOf(run);
      assert.equal(registered.length, printed.builds.length);
      for (const [i, { name, ...build }] of printed.builds.entries()) {
        assert.equal(registered[i].name, name);
        // Every input the plan names is registered as printed (the SDK adds its own defaults, e.g. network).
        for (const [field, value] of Object.entries(build)) assert.deepEqual(registered[i].inputs[field], value, field);
      }
      assert.equal(indexesOf(run).length, printed.indexes.length);
      assert.deepEqual(
        Object.keys(floatingTagsOf(run)),
        printed.floatingTags.map((tag) => tag.tag),
      );
      assert.deepEqual(run.outputs.tags, [
        ...printed.pushedTags,
        ...printed.floatingTags.map((tag) => `${printed.repository.name}:${tag.tag}`),
      ]);
      assert.equal(run.outputs.version, printed.version.text);
    });
  }

  it("answers what a release candidate would publish", () => {
    const printed = JSON.parse(plan(["--stack", "prod", "--version", "v2.0.0-rc.1", "--json"])) as ReleasePlan;
    assert.deepEqual(printed.pushedTags, ["ghcr.io/acme/finsight-backend:v2.0.0-rc.1"]);
    assert.deepEqual(printed.tags.floating, []);
  });

  it("prints a readable table", () => {
    const table = plan(["--stack", "prod"]);
    assert.match(table, /^version\s+1\.4\.0 \(from RELEASE_VERSION\)$/m);
    assert.match(table, /^floating tags\s+v1\.4, v1, latest$/m);
    assert.match(table, /^registry\s+not read: npm run plan reads the registry only with --registry$/m);
    assert.match(
      table,
      /^tag latest\s+-> this release: moves with this release \(the registry was not read, so no release was compared\)$/m,
    );
    assert.match(table, /^ {2}build args\s+USE_LIGHT=0, SOURCE_DATE_EPOCH=1795168800$/m);
  });

  it("shows a rollback: the pinned release, its floating tags, and no image", () => {
    const table = plan(["--stack", "prod", "--config", "finsight:pin=v1.3.2"]);
    assert.match(table, /^version\s+1\.3\.2 \(finsight:pin\)$/m);
    assert.match(table, /^serves\s+ghcr\.io\/acme\/finsight-backend:v1\.3\.2$/m);
    assert.match(table, /^phase\s+rollback: nothing is built; the floating tags move to the pinned release$/m);
    assert.match(table, /^tag latest\s+-> 1\.3\.2: pinned to 1\.3\.2 \(finsight:pin\)$/m);
    assert.doesNotMatch(table, /^image /m);
    assert.match(table, /FINSIGHT_BACKEND_IMAGE=ghcr\.io\/acme\/finsight-backend:v1\.3\.2$/m);
  });

  it("fails with the setting's message and exit code 1 on bad input", () => {
    const result = spawnSync(TSX, [CLI, "--stack", "prod", "--version", "1.4"], { cwd: PROJECT_DIR, encoding: "utf8" });
    assert.equal(result.status, 1);
    // The message names where the bad version came from: the command line, not the stack's config.
    assert.match(result.stderr, /^error: --version must be a semantic version .*, got "1\.4"$/m);
  });

  it("names the stacks that exist when asked for one that does not", () => {
    const result = spawnSync(TSX, [CLI, "--stack", "nosuch"], { cwd: PROJECT_DIR, encoding: "utf8" });
    assert.equal(result.status, 2);
    assert.equal(
      result.stderr,
      'error: --stack must name a stack of this project (demo, local, prod), got "nosuch": there is no Pulumi.nosuch.yaml\nusage: npm run plan -- --stack <stack> [options] (--help for more)\n',
    );
  });

  it("--help prints the usage and exits 0", () => {
    const result = spawnSync(TSX, [CLI, "--help"], { cwd: PROJECT_DIR, encoding: "utf8" });
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^usage: npm run plan -- --stack <stack> \[options\]$/m);
    assert.match(result.stdout, /^ {2}--registry /m);
  });

  for (const args of [["--stack", "demo", "--verison", "1.4.0"], ["--stack"], ["--stack", "demo", "--config", "pin"]]) {
    it(`a bad command line (${args.join(" ")}) is one error line and exit 2, never a stack trace`, () => {
      const result = spawnSync(TSX, [CLI, ...args], { cwd: PROJECT_DIR, encoding: "utf8" });
      assert.equal(result.status, 2, result.stderr);
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 2, result.stderr);
      assert.match(lines[0], /^error: /);
      assert.match(lines[1], /^usage: npm run plan -- --stack <stack> \[options\] \(--help for more\)$/);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    });
  }

  it("a rollback plan needs no release version; a bare --config key is the project's, as in the Pulumi CLI", () => {
    const { RELEASE_VERSION: _, ...env } = ENV;
    const table = plan(["--stack", "prod", "--config", "pin=1.3.2"], env);
    assert.match(table, /^phase\s+rollback: nothing is built/m);
    assert.match(table, /^version\s+1\.3\.2 \(finsight:pin\)$/m);
    assert.doesNotMatch(table, /^image /m);
  });

  it("says where the version came from: --version is not the stack's config", () => {
    assert.match(plan(["--stack", "prod", "--version", "1.5.0"]), /^version\s+1\.5\.0 \(from --version\)$/m);
    assert.match(
      plan(["--stack", "prod", "--config", "finsight:version=1.5.0"]),
      /^version\s+1\.5\.0 \(from config\)$/m,
    );
  });

  it("notices a build context that does not exist, and warns that pulumi up would refuse to push from it", () => {
    const table = plan(["--stack", "prod"]);
    assert.match(table, /^warning\s+finsight:context "finsight" does not exist: .*; pulumi up will refuse this$/m);
  });

  it("an unknown key is refused with the closest known one, every problem on its own line", () => {
    const result = spawnSync(
      TSX,
      [CLI, "--stack", "prod", "--config", "finsight:verison=1.4.0", "--config", "finsight:push=maybe"],
      { cwd: PROJECT_DIR, encoding: "utf8", env: { PATH: process.env.PATH, ...ENV } },
    );
    assert.equal(result.status, 1);
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 2, result.stderr);
    assert.match(
      lines[0],
      /^error: finsight:verison is not a known setting, got "verison": did you mean finsight:version\?/,
    );
    assert.match(lines[1], /^error: finsight:push must be true or false, got "maybe"$/);
  });

  it("--registry that cannot read the registry exits 1: the judgement asked for was not given", async () => {
    const { freePort } = await import("../support/registry");
    const result = spawnSync(
      TSX,
      [CLI, "--stack", "prod", "--registry", "--config", `finsight:registry=127.0.0.1:${await freePort()}/acme`],
      { cwd: PROJECT_DIR, encoding: "utf8", env: { PATH: process.env.PATH, ...ENV } },
    );
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /^registry\s+unavailable: /m, "the plan is still printed");
    assert.match(result.stderr, /^error: the registry could not be read: .*ECONNREFUSED/m);
  });
});
