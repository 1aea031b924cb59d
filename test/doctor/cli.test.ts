/**
 * `npm run doctor` end to end, as a user runs it (a child process in the project directory): every
 * line passing on a machine and repository set up right (exit 0), the lines in the order a user fixes
 * them, --json, usage errors (exit 2), no stack trace when a check itself breaks, and no secret in
 * the output even when a server echoes one. The stand-ins: fake `pulumi` and `docker` on a PATH of
 * their own, a real docker-registry on loopback, and a loopback GitHub API.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { runProcess } from "../support/cli";
import {
  buildxInspect,
  type FakeTools,
  fakeTools,
  type GitHubStandIn,
  goodGitHub,
  goodPulumi,
  startGitHubStandIn,
} from "../support/doctor";
import { makeContext, PROJECT_DIR } from "../support/program";
import { REGISTRY_USER, startRegistry, type TestRegistry, writeDockerLogin } from "../support/registry";

const TOKEN = "github_pat_cli_test_token_abcdef0123456789";
const REPO = "finsight-test/finsight-release";
const ORDER = [
  "node",
  "pulumi-cli",
  "pulumi-login",
  "pulumi-stack",
  "settings",
  "placeholders",
  "checkout",
  "registry-reachable",
  "registry-login",
  "registry-push",
  "builder",
  "buildkit",
  "github-token",
  "github-repository",
  "github-reviewers",
  "github-environment",
  "github-variables",
  "github-secrets",
  "github-pull-requests",
  "github-rulesets",
];

describe("npm run doctor", () => {
  let registry: TestRegistry;
  let api: GitHubStandIn;
  let tools: FakeTools;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "finsight-doctor-cli-"));
  let project = "";
  let dockerConfig = "";

  before(async () => {
    registry = await startRegistry();
    api = await startGitHubStandIn(TOKEN, goodGitHub(REPO, "ci", "release-managers"));
    tools = fakeTools({
      pulumi: goodPulumi("ci"),
      docker: [{ args: "buildx inspect", stdout: buildxInspect({ driverOptions: 'network="host"' }) }],
    });
    dockerConfig = writeDockerLogin(fs.mkdtempSync(path.join(scratch, "docker-")), registry.host);
    // A project of its own: the real project files, and a stack file written here for this registry and organisation.
    project = path.join(scratch, "project");
    fs.mkdirSync(project);
    for (const entry of ["Pulumi.yaml", "package.json", ".github", "node_modules", "src"]) {
      fs.symlinkSync(path.join(PROJECT_DIR, entry), path.join(project, entry));
    }
    execFileSync("git", ["init", "-q", project]);
    execFileSync("git", ["-C", project, "remote", "add", "origin", `https://github.com/${REPO}.git`]);
    fs.writeFileSync(
      path.join(project, "Pulumi.ci.yaml"),
      [
        "config:",
        "  finsight:variant: demo",
        `  finsight:registry: ${registry.host}/finsight-test`,
        `  finsight:context: ${makeContext()}`,
        "  finsight:sourceUrl: https://github.com/finsight-test/finsight",
        "  finsight:github:",
        "    owner: finsight-test",
        "    repository: finsight-release",
        "    reviewers:",
        "      teams: [release-managers]",
        "    deployFrom:",
        "      branches: [main]",
        '      tags: ["v*"]',
        "",
      ].join("\n"),
    );
  });
  after(async () => {
    await api.close();
    await registry.stop();
    tools.remove();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  /** Runs the CLI as a child process, without blocking this one: the GitHub stand-in answers from here. */
  async function doctor(
    args: string[],
    env: Record<string, string> = {},
    cwd = project,
  ): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const run = await runProcess(
      process.execPath,
      ["--import", "tsx", path.join(PROJECT_DIR, "src", "cli", "doctor.ts"), ...args],
      {
        cwd,
        timeoutMs: 60_000,
        env: {
          PATH: tools.path,
          HOME: path.join(scratch, "home"),
          DOCKER_CONFIG: dockerConfig,
          GITHUB_TOKEN: TOKEN,
          GITHUB_API_URL: api.url,
          ...env,
        },
      },
    );
    return { status: run.code, stdout: run.stdout, stderr: run.stderr };
  }

  it("everything in place: every line ✔, exit 0", async () => {
    const run = await doctor(["--stack", "ci"]);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const lines = run.stdout.trim().split("\n");
    assert.equal(lines.filter((line) => line.startsWith("✔ ")).length, ORDER.length, run.stdout);
    assert.equal(lines.at(-1), `stack ci: ready for pulumi up (${ORDER.length} passed)`);
    assert.equal(run.stderr, "");
  });

  it("--json: the same checks, in the order a user fixes them", async () => {
    const run = await doctor(["--stack", "ci", "--json", "--read-only"]);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const report = JSON.parse(run.stdout) as {
      ok: boolean;
      readOnly: boolean;
      checks: { id: string; status: string }[];
    };
    assert.equal(report.ok, true);
    assert.equal(report.readOnly, true);
    assert.deepEqual(
      report.checks.map((check) => check.id),
      ORDER,
    );
    assert.equal(report.checks.find((check) => check.id === "registry-push")?.status, "skip");
  });

  it("one thing missing: its line ✘ with the fix, exit 1", async () => {
    const run = await doctor(["--stack", "ci"], { DOCKER_CONFIG: path.join(scratch, "no-login") });
    assert.equal(run.status, 1, run.stdout);
    assert.match(
      run.stdout,
      /^✘ registry login +no login for 127\.0\.0\.1:\d+, and it refuses anonymous reads: .*→ docker login 127\.0\.0\.1:\d+ /m,
    );
    assert.match(run.stdout, /^stack ci: 2 to fix, in the order above \(18 passed\)$/m);
  });

  it("usage errors exit 2 with a suggestion; --help exits 0", async () => {
    const typo = await doctor(["--stak", "ci"]);
    assert.equal(typo.status, 2);
    assert.match(typo.stderr, /^error: Unknown option '--stak'.*: did you mean --stack\?$/m);
    const unknownStack = await doctor(["--stack", "cj"]);
    assert.equal(unknownStack.status, 2);
    assert.match(
      unknownStack.stderr,
      /^error: --stack must name a stack of this project \(ci\), got "cj": there is no Pulumi\.cj\.yaml$/m,
    );
    const missing = await doctor([]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--stack is required/);
    const help = await doctor(["--help"]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^usage: npm run doctor -- --stack <stack> \[--read-only\] \[--json\]$/m);
  });

  it("a check that breaks is a ✘ line, never a stack trace", async () => {
    // A project without .github/pulumi-version: the Pulumi CLI check cannot read the version it wants.
    const broken = path.join(scratch, "broken");
    fs.mkdirSync(broken);
    for (const entry of ["Pulumi.yaml", "package.json", "node_modules", "Pulumi.ci.yaml"]) {
      fs.symlinkSync(path.join(entry === "Pulumi.ci.yaml" ? project : PROJECT_DIR, entry), path.join(broken, entry));
    }
    const run = await doctor(["--stack", "ci"], {}, broken);
    assert.equal(run.status, 1);
    assert.match(
      run.stdout,
      /^✘ pulumi-cli +the check itself failed: ENOENT: no such file or directory, open '.*pulumi-version'/m,
    );
    assert.doesNotMatch(run.stdout + run.stderr, /^\s+at /m);
  });

  it("no secret printed, even when the registry and GitHub echo them back", async () => {
    const password = "doctor-secret-password-0001";
    const wrongLogin = fs.mkdtempSync(path.join(scratch, "wrong-"));
    fs.writeFileSync(
      path.join(wrongLogin, "config.json"),
      JSON.stringify({
        auths: { [registry.host]: { auth: Buffer.from(`${REGISTRY_USER}:${password}`).toString("base64") } },
      }),
    );
    api.routes.set(`GET /repos/${REPO}/environments/ci`, {
      status: 500,
      body: {
        message: `proxy error for token ${TOKEN} and basic ${Buffer.from(`${REGISTRY_USER}:${password}`).toString("base64")}`,
      },
    });
    try {
      for (const format of [[], ["--json"]]) {
        const run = await doctor(["--stack", "ci", ...format], { DOCKER_CONFIG: wrongLogin });
        assert.equal(run.status, 1);
        // The echoing answers reached the output, with the secrets blanked out.
        assert.match(run.stdout, /answered 500: proxy error for token \[redacted\] and basic \[redacted\]/);
        for (const secret of [password, TOKEN, Buffer.from(`${REGISTRY_USER}:${password}`).toString("base64")]) {
          assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), `${secret} printed:\n${run.stdout}`);
        }
      }
    } finally {
      api.routes.set(`GET /repos/${REPO}/environments/ci`, { status: 200, body: { name: "ci" } });
    }
  });
});
