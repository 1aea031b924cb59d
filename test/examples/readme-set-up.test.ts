/**
 * The README's Set-up commands, as `.ci/run` reads and runs them: the same extraction here, so a
 * README edit that breaks their shape fails `npm test` before CI; the main job's lines run as written.
 * Also the Node version the set-up states, against what the installed Pulumi SDK declares.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import semver from "semver";
import { readStackConfig } from "../../src/inputs/stack-files";
import { PROJECT_DIR } from "../support/program";

const README = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
const CI_RUN = fs.readFileSync(path.join(PROJECT_DIR, ".ci", "run"), "utf8");

/** A `## ` section's body, without its heading. */
function section(title: string): string {
  const start = README.indexOf(`\n## ${title}\n`);
  assert.notEqual(start, -1, `README has a "## ${title}" section`);
  const body = README.slice(start + title.length + 5);
  const end = body.indexOf("\n## ");
  return end === -1 ? body : body.slice(0, end);
}

/** The ```sh blocks of a section, in order, as lists of lines (what .ci/run's readme_block prints). */
function shBlocks(body: string): string[][] {
  return [...body.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1].split("\n").filter(Boolean));
}

const run = (line: string) =>
  execFileSync("bash", ["-euo", "pipefail", "-c", line], {
    cwd: PROJECT_DIR,
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    timeout: 120_000,
  });

describe("README set-up, as .ci/run runs it", () => {
  const blocks = shBlocks(section("Set-up"));

  it(".ci/run reads the Set-up section's first two sh blocks and runs each line", () => {
    assert.match(CI_RUN, /setup = \(\$0 == "## Set-up"\)/);
    assert.match(CI_RUN, /for block in 1 2; do/);
    assert.match(CI_RUN, /bash -euo pipefail -c "\$line"/);
    assert.equal(blocks.length, 2);
  });

  it("the set-up is one line that works as root without sudo and as a user with sudo", () => {
    const [setUp] = blocks;
    assert.equal(setUp.length, 1);
    const [line] = setUp;
    assert.ok(line.startsWith('SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo); '), line);
    assert.doesNotMatch(line, /(^|[;&|]\s*)sudo /, "no bare sudo: root machines often have none");
    assert.match(line, /&& npm ci && npm test$/);
    // What the tests use is installed by the README's line itself, and .ci/run checks for the same packages.
    const packages = /\$SUDO apt-get install -y ([a-z0-9. -]+?) &&/.exec(line)?.[1].split(" ") ?? [];
    assert.deepEqual(packages.sort(), [
      "apache2-utils",
      "busybox-static",
      "docker-registry",
      "git",
      "jq",
      "openssl",
      "shellcheck",
      "skopeo",
    ]);
    const ciPackages = /for pkg in ([a-z0-9. -]+); do/.exec(CI_RUN)?.[1].split(" ") ?? [];
    assert.deepEqual(ciPackages.sort(), packages, ".ci/run installs the README's packages");
    assert.match(
      CI_RUN,
      /command -v docker >\/dev\/null 2>&1 \|\| missing\+=\(docker\.io\)/,
      "and docker.io only where no docker exists",
    );
  });

  it("the SUDO prefix is empty for root and sudo for anyone else", () => {
    const prefix = 'SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo); printf %s "$SUDO"';
    const uid = process.getuid?.();
    assert.equal(run(prefix), uid === 0 ? "" : "sudo");
  });

  it("the main job runs as written: the local stack releases the stand-in's VERSION, demo the version asked", () => {
    const [, mainJob] = blocks;
    assert.deepEqual(mainJob, ["npm run plan -- --stack local", "npm run plan -- --stack demo --version 1.4.0"]);
    const standInVersion = fs
      .readFileSync(
        path.join(PROJECT_DIR, readStackConfig(PROJECT_DIR, "local").values["finsight:context"], "VERSION"),
        "utf8",
      )
      .trim();
    const local = run(mainJob[0]);
    assert.match(local, new RegExp(`^version +${standInVersion.replace(/\./g, "\\.")} \\(from VERSION file\\)$`, "m"));
    assert.match(local, /^ {2}tags +localhost:5000\/finsight-backend:v1\.4\.0$/m);
    assert.match(local, /^tag latest +-> this release/m);
    const demo = run(mainJob[1]);
    assert.match(demo, /^ {2}tags +ghcr\.io\/acme\/finsight-backend:demo-v1\.4\.0$/m);
  });
});

describe("Node version", () => {
  const ours = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as {
    engines: { node: string };
  };
  const pulumi = JSON.parse(
    fs.readFileSync(path.join(PROJECT_DIR, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8"),
  ) as { engines: { node: string } };

  it("package.json asks for no older Node than @pulumi/pulumi does, and the README states the same", () => {
    assert.equal(ours.engines.node, ">=22");
    const minimum = semver.minVersion(ours.engines.node);
    assert.ok(
      minimum && semver.satisfies(minimum, pulumi.engines.node),
      `${ours.engines.node} vs ${pulumi.engines.node}`,
    );
    assert.match(section("Set-up"), /Node\.js 22 or later/);
  });

  it("the tests run on a Node that package.json admits (.ci/run puts Node 24 first)", () => {
    assert.ok(semver.satisfies(process.versions.node, ours.engines.node), process.version);
    assert.match(CI_RUN, /npm exec --yes --package=node@24 -- node -p process\.execPath/);
  });
});
