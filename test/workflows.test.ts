import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as semver from "semver";
import { parse } from "yaml";
import { decideIntent } from "../src/inputs/intent";
import { PROJECT_DIR } from "./support/program";
import {
  admits,
  allSteps,
  expression,
  isPulumiAction,
  type Job,
  needsOf,
  PULUMI_VERSION_FILE,
  ROOT,
  runStep,
  SETUP_ACTION,
  STACKS,
  type Step,
  stackEnvironment,
  stepNamed,
  text,
  workflow,
  workflowFiles,
} from "./workflows/model";
import { actionPins } from "./workflows/pins";

/**
 * The workflows, read together with the stack files whose finsight:github block creates the GitHub
 * environments they run in. Each assertion names a concrete value a wrong workflow would not have.
 * Inputs and outputs of actions, actionlint and shellcheck are in test/workflows/; the scripts' behaviour
 * in test/workflows/scripts.test.ts.
 */

const RELEASE_CALLER = "./.github/workflows/stack-release.yml";
const ADMIN_TOKEN = "FINSIGHT_GITHUB_ADMIN_TOKEN";
const DEPLOY_SECRETS = ["PULUMI_ACCESS_TOKEN", ADMIN_TOKEN, "FINSIGHT_GITHUB_TOKEN"];
/** The one way a job may name the admin token: only for a stack whose environment has reviewers. */
const githubTokenFor = (reviewed: string) =>
  expression(`inputs.stack == '${reviewed}' && secrets.${ADMIN_TOKEN} || secrets.FINSIGHT_GITHUB_TOKEN`);

describe("the workflows", () => {
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
});

describe("workflow hardening", () => {
  it("pins every third-party action to the commit of its release tag, with the version beside it", () => {
    const lines = allSteps().filter(({ step }) => step.uses && !step.uses.startsWith("./"));
    const pins = actionPins(ROOT);
    assert.equal(
      pins.length,
      lines.length,
      "every `uses:` of a third-party action is a SHA pin with a version comment",
    );
    const byVersion = new Map<string, string>();
    for (const pin of pins) {
      const key = `${pin.action}@${pin.version}`;
      assert.equal(byVersion.get(key) ?? pin.sha, pin.sha, `${pin.file}: ${key} is pinned to two different commits`);
      byVersion.set(key, pin.sha);
    }
    // Each read with `git rev-parse <tag>^{commit}` in the action's own repository.
    assert.deepEqual(Object.fromEntries([...byVersion].sort()), {
      "actions/attest-build-provenance@v4.1.0": "a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32",
      "actions/attest@v4.2.2": "1e69f48acb82d1966a394da916b4c1698aa569d6",
      "actions/checkout@v7.0.1": "3d3c42e5aac5ba805825da76410c181273ba90b1",
      "actions/download-artifact@v8.0.1": "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
      "actions/github-script@v8.0.0": "ed597411d8f924073f98dfc5c65a23a2325f34cd",
      "actions/setup-node@v7.0.0": "820762786026740c76f36085b0efc47a31fe5020",
      "actions/upload-artifact@v7.0.0": "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
      "docker/login-action@v4.1.0": "4907a6ddec9925e35a0a9e82d7399ccc52663121",
      "docker/setup-buildx-action@v4.3.0": "37fe631027851001ddb9b187196cc803df7f5f0e",
      "pulumi/actions@v7.0.0": "8e5e406f4007fca908480587cb9893c07090f58d",
      "pulumi/auth-actions@v2.1.0": "141415910c3beb54e03b48e9057c204c97b956f2",
      "sigstore/cosign-installer@v4.1.2": "6f9f17788090df1f26f669e9d70d6ae9567deba6",
    });
  });

  it("Dependabot keeps the action pins (workflows and the composite action) and npm dependencies current", () => {
    const config = parse(readFileSync(path.join(ROOT, ".github", "dependabot.yml"), "utf8")) as {
      version: number;
      updates: { "package-ecosystem": string; directory?: string; directories?: string[] }[];
    };
    assert.equal(config.version, 2);
    const actions = config.updates.find((update) => update["package-ecosystem"] === "github-actions");
    assert.deepEqual(actions?.directories, ["/", "/.github/actions/setup"]);
    assert.equal(config.updates.find((update) => update["package-ecosystem"] === "npm")?.directory, "/");
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
        const callsRelease = job.uses === RELEASE_CALLER;
        const why = (grant: string) => `${file}: ${name} does not need ${grant}`;
        if (perms.packages === "write") {
          assert.ok(runs(/scripts\/pulumi-up\.sh/) || runs(/cosign sign/) || callsRelease, why("packages: write"));
        }
        if (perms.packages === "read") assert.ok(usesAction("docker/login-action"), why("packages: read"));
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
        for (const scope of ["attestations", "artifact-metadata"]) {
          if (perms[scope] === "write") assert.ok(usesAction("actions/attest") || callsRelease, why(scope));
        }
        if (perms.contents === "write") assert.ok(runs(/gh release/) || runs(/git push/), why("contents: write"));
        if (perms.issues === "write") assert.ok(runs(/gh issue create/), why("issues: write"));
        if (perms.actions === "write") assert.ok(runs(/gh workflow run ci\.yml/), why("actions: write"));
        for (const [scope, level] of Object.entries(perms)) {
          const known = [
            "contents",
            "packages",
            "id-token",
            "attestations",
            "artifact-metadata",
            "pull-requests",
            "issues",
            "actions",
          ];
          assert.ok(known.includes(scope), `${file}: ${name} grants ${scope}: ${level}`);
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

  it("every checkout drops git credentials, except the rollback's record job, which holds no deploy secret", () => {
    let checkouts = 0;
    for (const { file, job, step, where } of allSteps()) {
      if (!step.uses?.startsWith("actions/checkout@")) continue;
      checkouts++;
      // actions/checkout keeps the token unless persist-credentials is false.
      const persists = step.with?.["persist-credentials"] !== false;
      const expected = file === "rollback.yml" && job === "record";
      assert.equal(persists, expected, `${where}: persist-credentials`);
      if (expected) assert.equal(step.with?.["persist-credentials"], true);
    }
    assert.equal(checkouts, 12);
    assert.doesNotMatch(JSON.stringify(workflow("rollback.yml").jobs.record), /secrets\./);
  });
});

describe("who holds what: candidate, verify (no secret), sign, promote", () => {
  const wf = workflow("stack-release.yml");
  const { candidate, verify, sign, promote, outcome } = wf.jobs;
  const secretsOf = (job: Job) => [...JSON.stringify(job).matchAll(/secrets\.(\w+)/g)].map((match) => match[1]);

  it("each job holds only what its steps need", () => {
    assert.deepEqual(candidate.permissions, { contents: "read", packages: "write" });
    assert.deepEqual(verify.permissions, { contents: "read", packages: "read" });
    assert.deepEqual(sign.permissions, {
      contents: "read",
      packages: "write",
      "id-token": "write",
      attestations: "write",
      "artifact-metadata": "write",
    });
    assert.deepEqual(promote.permissions, { contents: "read", packages: "write" });
    assert.deepEqual(outcome.permissions, {});
  });

  it("only candidate and promote name the stack's environment and read deploy secrets", () => {
    assert.equal(candidate.environment, expression("inputs.stack"));
    assert.equal(promote.environment, expression("inputs.stack"));
    for (const job of [verify, sign, outcome]) {
      assert.equal(job.environment, undefined);
      assert.deepEqual(secretsOf(job), [], "no secret at all");
    }
    for (const job of [candidate, promote]) {
      assert.ok(secretsOf(job).includes("PULUMI_ACCESS_TOKEN"));
      assert.equal(JSON.stringify(job).includes("id-token"), false);
    }
  });

  it("the jobs run in order, each needing the ones whose results it uses", () => {
    assert.deepEqual(needsOf(candidate), []);
    assert.deepEqual(needsOf(verify), ["candidate"]);
    assert.deepEqual(needsOf(sign), ["candidate", "verify"]);
    assert.deepEqual(needsOf(promote), ["candidate", "verify", "sign"]);
    assert.equal(outcome.if, "always()");
  });

  it("the verify job scans before it runs the image, and installs its tools pinned", () => {
    const steps = verify.steps ?? [];
    const sbom = stepNamed(steps, /^SBOM of the candidate digest$/);
    const gate = stepNamed(steps, /^Vulnerability gate/);
    const smoke = steps.findIndex((step) => /scripts\/smoke-test\.sh/.test(step.run ?? ""));
    assert.ok(sbom < gate && gate < smoke, "SBOM, then the gate, then the smoke test");
    assert.match(steps[sbom].run ?? "", /syft scan "registry:\$\{REPOSITORY\}@\$\{DIGEST\}"/);
    assert.match(steps[gate].run ?? "", /grype "sbom:[^"]+" --config \.github\/grype\.yaml/);
    assert.match(steps[gate].run ?? "", /scripts\/scan-gate\.sh/);
    for (const step of steps) {
      assert.doesNotMatch(step.run ?? "", /\bcurl\b|\bwget\b/, "downloads only through scripts/install-pinned-tool.sh");
      assert.ok(step["continue-on-error"] === undefined && step.if === undefined, step.name ?? step.uses);
    }
  });

  it("the digest passes between jobs as an output, and every job works on it, never on a tag", () => {
    const digest = expression("needs.candidate.outputs.digest");
    const repository = expression("needs.candidate.outputs.repository");
    assert.deepEqual(candidate.outputs, {
      ref: expression("steps.digest.outputs.ref"),
      repository: expression("steps.digest.outputs.repository"),
      digest: expression("steps.digest.outputs.digest"),
    });
    const read = (candidate.steps ?? []).find((step) => step.id === "digest");
    assert.match(read?.run ?? "", /pulumi stack output candidateRef --stack "\$\{STACK\}"/);
    const signSteps = sign.steps ?? [];
    assert.equal(signSteps[stepNamed(signSteps, /Sign the candidate digest/)].env?.DIGEST, digest);
    for (const name of [/Record build provenance/, /Attest the SBOM/]) {
      const step = signSteps[stepNamed(signSteps, name)];
      assert.equal(step.with?.["subject-digest"], digest);
      assert.equal(step.with?.["subject-name"], repository);
      assert.equal(step.with?.["push-to-registry"], true);
    }
    const sbomCheck = signSteps[stepNamed(signSteps, /SBOM is the one the gate passed/)];
    assert.equal(sbomCheck.env?.SBOM_SHA256, expression("needs.verify.outputs.sbom-sha256"));
    const promoteSteps = promote.steps ?? [];
    // Per-run intents go in the environment (src/model/intent.ts), never as config a run would save.
    const up = promoteSteps.find((step) => /scripts\/pulumi-up\.sh/.test(step.run ?? ""));
    assert.equal(up?.env?.FINSIGHT_PROMOTE_DIGEST, digest);
    assert.equal(up?.env?.FINSIGHT_PHASE, undefined);
    const candidateUp = (candidate.steps ?? []).find((step) => /scripts\/pulumi-up\.sh/.test(step.run ?? ""));
    assert.equal(candidateUp?.env?.FINSIGHT_PHASE, "candidate");
    assert.equal(candidateUp?.env?.FINSIGHT_PROMOTE_DIGEST, undefined);
    for (const step of [up, candidateUp]) assert.doesNotMatch(step?.run ?? "", /--config|-c |finsight:promote/);
    assert.equal(promote.outputs?.["image-ref"], expression("steps.promoted.outputs.image-ref"));
  });

  it("the program reads a candidate run, then a promotion of the verified digest, from the jobs' environment", () => {
    const verified = `sha256:${"d".repeat(64)}`;
    /** The run intent the program decides from a step's environment (the digest expression stands for a digest). */
    const intentOf = (step: Step | undefined) => {
      const env = Object.fromEntries(
        Object.entries(step?.env ?? {}).map(([name, value]) => [
          name,
          value === expression("needs.candidate.outputs.digest") ? verified : String(value),
        ]),
      );
      return decideIntent({ github: true, push: true }, env).intent;
    };
    const up = (job: Job) => (job.steps ?? []).find((step) => /scripts\/pulumi-up\.sh/.test(step.run ?? ""));
    assert.deepEqual(intentOf(up(candidate)), { kind: "candidate" });
    assert.deepEqual(intentOf(up(promote)), { kind: "promotion", digest: verified });
  });

  it("no step saves a per-run value as config (config-map or -c persist it into the stack file)", () => {
    for (const file of workflowFiles) {
      assert.doesNotMatch(text(file), /finsight:promote|promoteDigest|config-map:[^\n]*FINSIGHT_/, file);
    }
  });

  it("reads repository and digest from candidateRef, and refuses a ref without a digest", () => {
    const step = (candidate.steps ?? []).find((candidateStep) => candidateStep.id === "digest") as Step;
    const digest = `sha256:${"ab".repeat(32)}`;
    const withPulumi = (ref: string) => {
      const dir = mkdtempSync(path.join(tmpdir(), "finsight-pulumi-"));
      writeFileSync(path.join(dir, "pulumi"), `#!/bin/sh\nprintf '%s\\n' '${ref}'\n`);
      chmodSync(path.join(dir, "pulumi"), 0o755);
      try {
        return runStep(step, { PATH: `${dir}:${process.env.PATH}`, STACK: "prod" });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    const ok = withPulumi(`ghcr.io/acme/finsight-backend:v1.4.0@${digest}`);
    assert.equal(ok.status, 0, ok.stdout);
    assert.deepEqual(ok.outputs, {
      ref: `ghcr.io/acme/finsight-backend:v1.4.0@${digest}`,
      repository: "ghcr.io/acme/finsight-backend",
      digest,
    });
    assert.equal(
      withPulumi(`localhost:5000/finsight:demo-v1.4.0@${digest}`).outputs.repository,
      "localhost:5000/finsight",
    );
    for (const bad of ["ghcr.io/acme/finsight-backend:v1.4.0", "", `ghcr.io/acme/finsight-backend@${digest}`]) {
      const refused = withPulumi(bad);
      assert.equal(refused.status, 1, bad);
      assert.match(refused.stdout, /candidateRef is not repo:tag@sha256/);
    }
  });

  it("refuses a promotion whose imageRef is not the verified digest", () => {
    const steps = promote.steps ?? [];
    const verifyStep = steps[stepNamed(steps, /promoted release is the verified digest/)];
    const digest = `sha256:${"cd".repeat(32)}`;
    const withImageRef = (ref: string) => {
      const dir = mkdtempSync(path.join(tmpdir(), "finsight-pulumi-"));
      writeFileSync(path.join(dir, "pulumi"), `#!/bin/sh\nprintf '%s\\n' '${ref}'\n`);
      chmodSync(path.join(dir, "pulumi"), 0o755);
      try {
        return runStep(verifyStep, { PATH: `${dir}:${process.env.PATH}`, STACK: "prod", DIGEST: digest });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    const ok = withImageRef(`r/x:v1.4.0@${digest}`);
    assert.equal(ok.status, 0);
    assert.equal(ok.outputs["image-ref"], `r/x:v1.4.0@${digest}`);
    assert.equal(withImageRef(`r/x:v1.3.2@sha256:${"ef".repeat(32)}`).status, 1);
  });

  it("the outcome job tells the reviewers and the notes whether the stack was promoted", () => {
    const step = (outcome.steps ?? [])[0];
    const promoted = runStep(step, {
      STACK: "prod",
      PROMOTED: "success",
      IMAGE_REF: "r/x:v1@sha256:1",
      CANDIDATE_REF: "",
    });
    assert.match(promoted.summary, /`prod`: promoted `r\/x:v1@sha256:1`/);
    const failed = runStep(step, {
      STACK: "prod",
      PROMOTED: "skipped",
      IMAGE_REF: "",
      CANDIDATE_REF: "r/x:v1@sha256:2",
    });
    assert.match(failed.summary, /\*\*not promoted\*\*\. Candidate: `r\/x:v1@sha256:2`/);
    assert.match(failed.summary, /nothing to roll back/);
  });
});

describe("admin rights only behind review", () => {
  const reviewed = STACKS.filter((stack) => stackEnvironment(stack).reviewers.length > 0);

  it("exactly one stack's environment has reviewers who may not approve their own run: prod", () => {
    assert.deepEqual(reviewed, ["prod"]);
    assert.equal(stackEnvironment("prod").preventSelfReview, true);
    assert.deepEqual(stackEnvironment("demo").reviewers, []);
  });

  it("the admin token is named only in jobs of a reviewed environment, and only for that stack", () => {
    const readers: string[] = [];
    for (const file of workflowFiles) {
      for (const [name, job] of Object.entries(workflow(file).jobs)) {
        const source = JSON.stringify(job);
        const count = source.split(`secrets.${ADMIN_TOKEN}`).length - 1;
        if (count === 0) continue;
        readers.push(`${file} ${name}`);
        assert.equal(job.environment, expression("inputs.stack"), `${file}: ${name}`);
        const steps = (job.steps ?? []).filter((step) => JSON.stringify(step).includes(`secrets.${ADMIN_TOKEN}`));
        assert.equal(steps.length, count, `${file}: ${name}: once per step`);
        for (const step of steps) assert.equal(step.env?.GITHUB_TOKEN, githubTokenFor(reviewed[0]), `${file}: ${name}`);
      }
    }
    assert.deepEqual(readers, ["rollback.yml rollback", "stack-release.yml candidate", "stack-release.yml promote"]);
  });

  it("the token expression picks the admin token for prod only (evaluated as GitHub's && and || do)", () => {
    // GitHub's `a && b || c` yields b when a and b are truthy, else c.
    const pick = (stack: string, secrets: Record<string, string>) =>
      (stack === "prod" && secrets[ADMIN_TOKEN]) || secrets.FINSIGHT_GITHUB_TOKEN;
    const secrets = { [ADMIN_TOKEN]: "admin", FINSIGHT_GITHUB_TOKEN: "environments-only" };
    assert.equal(pick("prod", secrets), "admin");
    assert.equal(pick("demo", secrets), "environments-only");
    assert.match(
      githubTokenFor("prod"),
      /^\$\{\{ inputs\.stack == 'prod' && secrets\.FINSIGHT_GITHUB_ADMIN_TOKEN \|\| /,
    );
  });

  it("a release runs only for a v* tag on main, checked before any stack is touched", () => {
    const { jobs } = workflow("release.yml");
    const steps = jobs.test.steps ?? [];
    const guard = stepNamed(steps, /release tag on main/);
    assert.match(steps[guard].run ?? "", /git merge-base --is-ancestor "\$\{GITHUB_SHA\}" refs\/remotes\/origin\/main/);
    assert.equal(steps[0].with?.["fetch-depth"], 0, "the checkout fetches main to compare");
    assert.equal(jobs.demo.needs, "test");
  });
});

describe("one repository: the stacks manage the environments of the repository whose workflows use them", () => {
  const managed = STACKS.map((stack) => stackEnvironment(stack));

  it("both stack files manage environments in the same repository, and it is not the application's", () => {
    const [demo, prod] = managed;
    assert.deepEqual([demo.owner, demo.repository], [prod.owner, prod.repository]);
    assert.deepEqual([prod.owner, prod.repository], ["acme", "finsight-release"]);
    for (const stack of STACKS) {
      const sourceUrl = String(stackEnvironment(stack).config["finsight:sourceUrl"]);
      assert.notEqual(
        sourceUrl,
        `https://github.com/${prod.owner}/${prod.repository}`,
        "the application is another repository",
      );
    }
  });

  it("docs/RELEASING.md names that repository as the one whose environments the stacks manage", () => {
    const docs = readFileSync(path.join(ROOT, "docs", "RELEASING.md"), "utf8");
    const section = docs.slice(docs.indexOf("## One repository"));
    assert.ok(docs.includes("## One repository"), "a section says which repository");
    assert.match(section, /`acme\/finsight-release`/);
    assert.match(section, /`finsight:github\.owner`.*`finsight:github\.repository`/s);
  });

  it("every environment a workflow names is one a stack file manages", () => {
    const names = managed.map((environment) => environment.name);
    let named = 0;
    for (const file of workflowFiles) {
      for (const [job, spec] of Object.entries(workflow(file).jobs)) {
        if (spec.environment === undefined) continue;
        named++;
        const stacks =
          file === "stack-release.yml"
            ? Object.values(workflow("release.yml").jobs).flatMap((caller) =>
                caller.uses === RELEASE_CALLER ? [String(caller.with?.stack)] : [],
              )
            : (workflow(file).on.workflow_dispatch as { inputs: { stack: { options: string[] } } }).inputs.stack
                .options;
        assert.equal(spec.environment, expression("inputs.stack"), `${file}: ${job}`);
        for (const stack of stacks)
          assert.ok(names.includes(stackEnvironment(stack).name), `${file}: ${job}: ${stack}`);
      }
    }
    assert.equal(named, 3);
  });
});

describe("every job runs on a ref its environment's policy admits", () => {
  /** Each job that names an environment: the environments it can name and the refs it can run on. */
  function deployingJobs() {
    const jobs: { where: string; environments: string[]; refs: { type: "tag" | "branch"; name: string }[] }[] = [];
    for (const [name, caller] of Object.entries(workflow("release.yml").jobs)) {
      if (caller.uses !== RELEASE_CALLER) continue;
      for (const [stackJob, spec] of Object.entries(workflow("stack-release.yml").jobs)) {
        if (spec.environment === undefined) continue;
        jobs.push({
          where: `release.yml ${name} ${stackJob}`,
          environments: [stackEnvironment(String(caller.with?.stack)).name],
          refs: [{ type: "tag", name: "v1.4.0" }],
        });
      }
    }
    const rollback = workflow("rollback.yml");
    const inputs = (rollback.on.workflow_dispatch as { inputs: { stack: { options: string[] } } }).inputs;
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
    const callers = workflowFiles.filter((file) => text(file).includes(`uses: ${RELEASE_CALLER}`));
    assert.deepEqual(callers, ["release.yml"]);
  });

  it("rollback.yml runs from main only, checked before anyone is asked to approve", () => {
    const wf = workflow("rollback.yml");
    assert.deepEqual(Object.keys(wf.on), ["workflow_dispatch"]);
    assert.equal(wf.jobs.check.environment, undefined);
    assert.equal(wf.jobs.rollback.needs, "check");
    assert.match(wf.jobs.check.steps?.[0].run ?? "", /"\$\{GITHUB_REF\}" != "refs\/heads\/main"/);
  });

  it("the stack files admit exactly main and v* tags, and prod's reviewers gate releases and rollbacks", () => {
    for (const stack of STACKS) {
      const environment = stackEnvironment(stack);
      assert.equal(environment.name, stack);
      assert.deepEqual(environment.branches, ["main"], `${stack}: no pull request branch is admitted`);
      assert.deepEqual(environment.tags, ["v*"], stack);
    }
    assert.deepEqual(stackEnvironment("prod").reviewers, ["release-managers"]);
    assert.deepEqual(
      deployingJobs()
        .filter((job) => job.environments.includes("prod"))
        .map((job) => job.where),
      ["release.yml prod candidate", "release.yml prod promote", "rollback.yml rollback"],
    );
  });

  it("each environment's policy admits every ref its jobs run on", () => {
    const jobs = deployingJobs();
    assert.equal(jobs.length, 5);
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
});

describe("deploy credentials stay in the environments", () => {
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
    assert.deepEqual(readers, ["rollback.yml rollback", "stack-release.yml candidate", "stack-release.yml promote"]);
  });

  it("preview.yml references no deploy secret, inherits none and gets a read-only Pulumi token by OIDC", () => {
    const source = text("preview.yml");
    for (const secret of DEPLOY_SECRETS) assert.ok(!source.includes(`secrets.${secret}`), secret);
    assert.doesNotMatch(source, /secrets: inherit/);
    const steps = workflow("preview.yml").jobs.preview.steps ?? [];
    const auth = steps.findIndex((step) => step.uses?.startsWith("pulumi/auth-actions@"));
    const firstPulumi = steps.findIndex((step) => /pulumi /.test(step.run ?? "") || step.with?.command === "preview");
    assert.ok(auth >= 0 && auth < firstPulumi, "the read-only token is fetched before any pulumi command");
    assert.equal(steps[auth].with?.["requested-token-type"], "urn:pulumi:token-type:access_token:team");
    assert.equal(steps[auth].with?.scope, "team:finsight-readers");
    const preview = steps.find((step) => step.with?.command === "preview");
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

describe("drift runs unattended, from the default branch", () => {
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
    const preview = steps.findIndex((step) => step.with?.command === "preview");
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

describe("queued runs: nothing cancels a waiting release or rollback, and no waiting release holds up a rollback", () => {
  /** The concurrency groups jobs of a workflow can take (stack expressions expanded, lower-cased, as GitHub compares). */
  function groups(file: string, jobNames?: string[]) {
    const wf = workflow(file);
    const raw = [
      ...(wf.concurrency && !jobNames ? [wf.concurrency] : []),
      ...Object.entries(wf.jobs)
        .filter(([name]) => !jobNames || jobNames.includes(name))
        .flatMap(([, job]) => (job.concurrency ? [job.concurrency] : [])),
    ];
    return raw.flatMap((concurrency) =>
      STACKS.map((stack) => ({
        ...concurrency,
        group: concurrency.group
          .replace(/\$\{\{ (inputs|matrix)\.stack \}\}/g, stack)
          .replace(/\$\{\{ github\.event\.pull_request\.number \}\}/g, "7")
          .replace(/\$\{\{ github\.ref \}\}/g, "refs/tags/v1.4.0")
          .toLowerCase(),
      })),
    );
  }
  const names = (list: { group: string }[]) => [...new Set(list.map((entry) => entry.group))].sort();
  const releases = () => groups("release.yml", ["demo", "prod"]);
  const rollbacks = () => groups("rollback.yml", ["rollback"]);

  it("each stack's release holds finsight-release-<stack> as a whole, and rollbacks finsight-rollback-<stack>", () => {
    assert.deepEqual(names(releases()), ["finsight-release-demo", "finsight-release-prod"]);
    assert.deepEqual(names(rollbacks()), ["finsight-rollback-demo", "finsight-rollback-prod"]);
    for (const name of ["demo", "prod"]) {
      assert.equal(
        workflow("release.yml").jobs[name].uses,
        RELEASE_CALLER,
        "the group covers the four jobs and their approvals",
      );
    }
    assert.deepEqual(
      Object.values(workflow("stack-release.yml").jobs).filter((job) => job.concurrency),
      [],
      "no job inside the stack release takes a group of its own",
    );
  });

  it("no waiting run is ever cancelled: queue: max, cancel-in-progress false, on release, rollback and record", () => {
    for (const entry of [
      ...releases(),
      ...rollbacks(),
      ...groups("release.yml"),
      ...groups("rollback.yml", ["record"]),
    ]) {
      assert.equal(entry["cancel-in-progress"], false, entry.group);
      assert.equal(entry.queue, "max", entry.group);
    }
  });

  it("a release (which waits for prod's reviewers inside its group) shares no group with a rollback", () => {
    const rollbackGroups = new Set(names(rollbacks()));
    assert.deepEqual(
      names(releases()).filter((group) => rollbackGroups.has(group)),
      [],
    );
    // The release's approval waits happen in jobs that name the environment, inside the caller's group.
    const waiting = Object.entries(workflow("stack-release.yml").jobs)
      .filter(([, job]) => job.environment !== undefined)
      .map(([name]) => name);
    assert.deepEqual(waiting, ["candidate", "promote"]);
  });

  it("drift, previews, CI and the rollback record never share a group with a release or rollback", () => {
    const deploy = new Set([
      ...names(releases()),
      ...names(rollbacks()),
      ...names(groups("release.yml").filter((g) => g.group.startsWith("release-"))),
    ]);
    const others = [
      ...names(groups("drift.yml")),
      ...names(groups("preview.yml")),
      ...names(groups("rollback.yml", ["record"])),
      ...names(groups("ci.yml")),
    ];
    assert.deepEqual(
      others.filter((group) => deploy.has(group)),
      [],
    );
    assert.deepEqual(names(groups("drift.yml")), ["drift-demo", "drift-prod"]);
    assert.deepEqual(names(groups("preview.yml")), ["preview-7"]);
  });

  it("every job that runs pulumi is in a concurrency group (its own, or its caller's)", () => {
    for (const file of workflowFiles) {
      const wf = workflow(file);
      for (const [name, job] of Object.entries(wf.jobs)) {
        const runsPulumi = (job.steps ?? []).some(
          (step) =>
            isPulumiAction(step) ||
            step.uses?.startsWith("pulumi/auth-actions@") ||
            /pulumi-up\.sh/.test(step.run ?? ""),
        );
        if (!runsPulumi) continue;
        const covered = wf.concurrency || job.concurrency || (file === "stack-release.yml" && releases().length > 0);
        assert.ok(covered, `${file}: ${name}`);
      }
    }
  });
});

describe("toolchain: one pinned Pulumi CLI, Node 24", () => {
  const pinned = readFileSync(path.join(ROOT, PULUMI_VERSION_FILE), "utf8").trim();

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
    for (const { where, step } of allSteps()) {
      if (!isPulumiAction(step)) continue;
      count++;
      assert.equal(step.with?.["pulumi-version-file"], PULUMI_VERSION_FILE, where);
      assert.equal(step.with?.["pulumi-version"], undefined, "the action refuses both inputs");
    }
    assert.equal(count, 7);
  });

  it("every Node.js set-up is Node 24", () => {
    const setups = allSteps().filter(({ step }) => step.uses?.startsWith("actions/setup-node@"));
    assert.equal(setups.length, 4);
    for (const { step } of setups) assert.equal(String(step.with?.["node-version"]), "24");
    assert.ok(readFileSync(SETUP_ACTION, "utf8").includes("node-version: 24"));
  });
});

describe("release.yml: demo, then prod, then the GitHub Release with SBOMs and verify commands", () => {
  const { jobs } = workflow("release.yml");

  it("builds prod only after demo is promoted, then writes the notes", () => {
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
    assert.deepEqual(jobs.demo.permissions, workflow("release.yml").jobs.prod.permissions);
  });

  it("the notes name each digest with the exact cosign and gh attestation commands, and attach the SBOMs once", () => {
    const step = (jobs.notes.steps ?? []).find((candidate) =>
      /Create or update the release/.test(candidate.name ?? ""),
    ) as Step;
    const dir = mkdtempSync(path.join(tmpdir(), "finsight-notes-"));
    try {
      const sbom = readFileSync(path.join(__dirname, "workflows", "fixtures", "planted.spdx.json"));
      for (const stack of STACKS) {
        const evidence = path.join(dir, "evidence", stack);
        mkdirSync(evidence, { recursive: true });
        writeFileSync(path.join(evidence, "sbom.spdx.json"), sbom);
      }
      // A gh that has a release for the tag with the demo SBOM already attached, and logs each call.
      const log = path.join(dir, "gh.log");
      writeFileSync(
        path.join(dir, "gh"),
        `#!/bin/sh\necho "$*" >> "${log}"\ncase "$1 $2" in\n  "release view") case "$*" in *--json*) echo sbom-demo.spdx.json;; esac;;\nesac\nexit 0\n`,
      );
      chmodSync(path.join(dir, "gh"), 0o755);
      const digest = (n: string) => `sha256:${n.repeat(64)}`;
      const result = runStep(step, {
        PATH: `${dir}:${process.env.PATH}`,
        RUNNER_TEMP: dir,
        TAG: "v1.4.0",
        REPOSITORY: "acme/finsight-release",
        GITHUB_SERVER_URL: "https://github.com",
        GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
        DEMO_REF: `ghcr.io/acme/finsight-backend:demo-v1.4.0@${digest("a")}`,
        DEMO_IMAGE: "ghcr.io/acme/finsight-backend",
        DEMO_DIGEST: digest("a"),
        PROD_REF: `ghcr.io/acme/finsight-backend:v1.4.0@${digest("b")}`,
        PROD_IMAGE: "ghcr.io/acme/finsight-backend",
        PROD_DIGEST: digest("b"),
      });
      assert.equal(result.status, 0, result.stdout);
      const notes = readFileSync(path.join(dir, "notes.md"), "utf8");
      const identity = "https://github.com/acme/finsight-release/.github/workflows/stack-release.yml@refs/tags/v1.4.0";
      for (const n of ["a", "b"]) {
        const subject = `ghcr.io/acme/finsight-backend@${digest(n)}`;
        assert.ok(notes.includes(`cosign verify '${subject}' \\\n  --certificate-identity '${identity}' \\`), notes);
        assert.ok(
          notes.includes(
            `gh attestation verify 'oci://${subject}' --repo acme/finsight-release \\\n  --cert-identity '${identity}'`,
          ),
        );
      }
      assert.match(notes, /--certificate-github-workflow-sha 0123456789abcdef0123456789abcdef01234567/);
      assert.match(notes, /--predicate-type https:\/\/spdx\.dev\/Document\/v2\.3/);
      const calls = readFileSync(log, "utf8");
      assert.match(calls, /^release edit v1\.4\.0 --repo acme\/finsight-release --notes-file /m);
      assert.match(calls, /^release upload v1\.4\.0 \S+\/sbom-prod\.spdx\.json --repo acme\/finsight-release$/m);
      assert.doesNotMatch(calls, /sbom-demo\.spdx\.json --repo/, "an attached asset is never replaced");
      assert.doesNotMatch(calls, /--clobber/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a rollback is recorded where the next run reads it", () => {
  const wf = workflow("rollback.yml");
  const rollback = wf.jobs.rollback.steps ?? [];
  const record = wf.jobs.record;

  it("sets finsight:pin from the input (through env) before one pulumi up, and keeps the file change after it", () => {
    const pin = rollback.findIndex((step) => /pulumi config set finsight:pin "\$\{PIN#v\}"/.test(step.run ?? ""));
    const up = rollback.findIndex((step) => /scripts\/pulumi-up\.sh/.test(step.run ?? ""));
    const change = rollback.findIndex((step) => step.id === "change");
    assert.ok(pin >= 0 && up > pin && change > up, "pin, then pulumi up, then the change to record");
    assert.equal(rollback[pin].env?.PIN, expression("inputs.version"));
    assert.match(rollback[pin].run ?? "", /pulumi config rm finsight:pin/, "an empty version rolls forward");
    assert.equal(rollback[up].env?.STACK, expression("inputs.stack"));
    assert.match(rollback[change].run ?? "", /git diff -- "Pulumi\.\$\{STACK\}\.yaml"/);
    assert.equal(wf.jobs.rollback.outputs?.["stack-file-patch"], expression("steps.change.outputs.patch"));
  });

  it("builds the stack's own release from its own source, so its Image stays as it is", () => {
    const read = rollback.find((step) => step.id === "stack");
    assert.match(read?.run ?? "", /pulumi stack output version --stack "\$\{STACK\}"/);
    const setup = rollback.find((step) => step.uses === "./.github/actions/setup");
    assert.equal(setup?.with?.["app-ref"], `v${expression("steps.stack.outputs.version")}`);
    const up = rollback.find((step) => /scripts\/pulumi-up\.sh/.test(step.run ?? ""));
    assert.equal(up?.env?.RELEASE_VERSION, expression("steps.stack.outputs.version"));
  });

  it("records it as a pull request to main from a branch of its own, with the workflow token's least permissions", () => {
    assert.equal(record.needs, "rollback");
    assert.equal(record.environment, undefined);
    assert.deepEqual(record.permissions, { contents: "write", "pull-requests": "write", actions: "write" });
    const steps = record.steps ?? [];
    assert.equal(steps[0].with?.ref, "main");
    const script = steps.map((step) => step.run ?? "").join("\n");
    assert.match(script, /branch="rollback\/\$\{STACK\}-\$\{GITHUB_RUN_ID\}"/);
    assert.match(script, /git push origin "HEAD:refs\/heads\/\$\{branch\}" \|\| by_hand/);
    assert.match(script, /gh pr create --repo "\$\{REPOSITORY\}" --base main --head "\$\{BRANCH\}"/);
    assert.match(script, /gh pr close "\$\{number\}" .*--delete-branch/, "a newer record closes the older ones");
    assert.match(script, /gh workflow run ci\.yml --repo "\$\{REPOSITORY\}" --ref "\$\{BRANCH\}"/);
    assert.ok("workflow_dispatch" in workflow("ci.yml").on, "ci.yml can be dispatched on the branch");
  });

  it("the next release refuses to run over a pin in a stack file or an unmerged rollback record", () => {
    const guard = workflow("release.yml").jobs.test.steps?.find((step) => /over a rollback/.test(step.name ?? ""));
    assert.ok(guard);
    const dir = mkdtempSync(path.join(tmpdir(), "finsight-guard-"));
    try {
      // A gh that answers `gh pr list … --json … --jq FILTER` by running FILTER over OPEN_PRS, as gh does.
      writeFileSync(
        path.join(dir, "gh"),
        '#!/bin/bash\nwhile [ "$#" -gt 0 ]; do [ "$1" = "--jq" ] && filter="$2"; shift; done\necho "$OPEN_PRS" | jq -r "$filter"\n',
      );
      chmodSync(path.join(dir, "gh"), 0o755);
      const env = { PATH: `${dir}:${process.env.PATH}`, REPOSITORY: "acme/finsight-release", OPEN_PRS: "[]" };
      const stackFile = (stack: string) => readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
      for (const stack of STACKS) writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stackFile(stack));
      assert.equal(runStep(guard, env, dir).status, 0, "the shipped stack files carry no pin");

      writeFileSync(path.join(dir, "Pulumi.prod.yaml"), `${stackFile("prod")}  finsight:pin: 1.3.2\n`);
      const pinned = runStep(guard, env, dir);
      assert.equal(pinned.status, 1);
      assert.match(pinned.stdout, /Pulumi\.prod\.yaml pins 1\.3\.2 \(a rollback\)\. Roll forward first/);

      writeFileSync(path.join(dir, "Pulumi.prod.yaml"), stackFile("prod"));
      const url = "https://github.com/acme/finsight-release/pull/12";
      const open = JSON.stringify([
        { headRefName: "rollback/demo-4242", url },
        { headRefName: "rollback/demolition", url: "https://github.com/acme/finsight-release/pull/13" },
      ]);
      const unmerged = runStep(guard, { ...env, OPEN_PRS: open }, dir);
      assert.equal(unmerged.status, 1);
      assert.match(unmerged.stdout, new RegExp(`a rollback of demo is not recorded on main yet \\(${url}\\)`));
      assert.doesNotMatch(unmerged.stdout, /pull\/13/, "only rollback/<stack>-<run id> branches count");
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
      const program = steps.find(
        (step) => (isPulumiAction(step) && step.with?.command) || /pulumi-up\.sh/.test(step.run ?? ""),
      );
      assert.equal(program?.env?.RELEASE_VERSION, expression("steps.stack.outputs.version"));
    });
  }
});
