import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { PROJECT_DIR } from "../support/program";

/**
 * The workflows and local actions as the workflow tests read them. FINSIGHT_WORKFLOW_ROOT points the tests at
 * another copy of the project's .github and stack files (scripts/mutate-workflows.ts uses it to show that each
 * planted mistake fails them); the default is the project itself.
 */
export const ROOT = process.env.FINSIGHT_WORKFLOW_ROOT ?? PROJECT_DIR;
export const WORKFLOW_DIR = path.join(ROOT, ".github", "workflows");
export const workflowFiles = readdirSync(WORKFLOW_DIR).filter((name) => name.endsWith(".yml"));
export const text = (file: string) => readFileSync(path.join(WORKFLOW_DIR, file), "utf8");
export const SETUP_ACTION = path.join(ROOT, ".github", "actions", "setup", "action.yml");
export const PULUMI_VERSION_FILE = ".github/pulumi-version";
export const STACKS = ["demo", "prod"] as const;

export type Step = {
  name?: string;
  uses?: string;
  run?: string;
  shell?: string;
  id?: string;
  if?: string;
  "continue-on-error"?: boolean;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
};
export type Concurrency = { group: string; "cancel-in-progress"?: boolean; queue?: string };
export type Job = {
  name?: string;
  needs?: string | string[];
  if?: string;
  permissions?: Record<string, string>;
  environment?: string;
  steps?: Step[];
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: unknown;
  outputs?: Record<string, string>;
  concurrency?: Concurrency;
};
export type WorkflowCall = {
  inputs?: Record<string, { type: string; required?: boolean; default?: unknown }>;
  outputs?: Record<string, { value: string }>;
};
export type Workflow = {
  on: Record<string, unknown> & { workflow_call?: WorkflowCall };
  permissions?: Record<string, string>;
  concurrency?: Concurrency;
  jobs: Record<string, Job>;
};
export type CompositeAction = {
  inputs?: Record<string, { required?: boolean; default?: string }>;
  outputs?: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
};

export const workflow = (file: string) => parse(text(file)) as Workflow;
export const setupAction = () => parse(readFileSync(SETUP_ACTION, "utf8")) as CompositeAction;
export const needsOf = (job: Job) => (job.needs === undefined ? [] : [job.needs].flat());

/** A GitHub Actions expression as the workflow file spells it: `${{ inputs.stack }}`. */
export const expression = (inner: string) => `$\{{ ${inner} }}`;
export const isPulumiAction = (step: Step) => step.uses?.startsWith("pulumi/actions@") ?? false;

/** Every step of every job, with where it is, the composite action's steps included. */
export function allSteps(): { where: string; file: string; job?: string; step: Step }[] {
  const steps = workflowFiles.flatMap((file) =>
    Object.entries(workflow(file).jobs).flatMap(([job, spec]) =>
      (spec.steps ?? []).map((step) => ({
        where: `${file} ${job} ${step.name ?? step.uses ?? step.id ?? ""}`,
        file,
        job,
        step,
      })),
    ),
  );
  const composite = setupAction().runs.steps.map((step) => ({
    where: `actions/setup ${step.name ?? step.uses ?? ""}`,
    file: ".github/actions/setup/action.yml",
    step,
  }));
  return [...steps, ...composite];
}

/** The stack file's finsight:github block, as the program reads it (environment defaults to the stack). */
export function stackEnvironment(stack: string) {
  const file = parse(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
    config: Record<string, unknown>;
  };
  const github = file.config["finsight:github"] as {
    owner: string;
    repository: string;
    environment?: string;
    reviewers?: { users?: string[]; teams?: string[] };
    preventSelfReview?: boolean;
    deployFrom?: { branches?: string[]; tags?: string[] };
  };
  return {
    config: file.config,
    owner: github.owner,
    repository: github.repository,
    name: github.environment ?? stack,
    reviewers: [...(github.reviewers?.users ?? []), ...(github.reviewers?.teams ?? [])],
    preventSelfReview: github.preventSelfReview ?? false,
    branches: github.deployFrom?.branches ?? [],
    tags: github.deployFrom?.tags ?? [],
  };
}

/** GitHub's deployment-policy patterns (fnmatch): `*` is anything but `/`, `**` anything. */
export function admits(patterns: string[], name: string): boolean {
  return patterns.some((pattern) => {
    const source = pattern
      .split("**")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*"))
      .join(".*");
    return new RegExp(`^${source}$`).test(name);
  });
}

/** Runs a bash script as the runner would (bash -e -o pipefail), with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files. */
export function runScript(script: string, env: Record<string, string>, cwd?: string) {
  const dir = mkdtempSync(path.join(tmpdir(), "finsight-step-"));
  try {
    const output = path.join(dir, "output");
    const summary = path.join(dir, "summary");
    writeFileSync(output, "");
    writeFileSync(summary, "");
    const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
      cwd: cwd ?? dir,
      encoding: "utf8",
      timeout: 20_000,
      env: {
        PATH: process.env.PATH ?? "",
        RUNNER_TEMP: dir,
        ...env,
        GITHUB_OUTPUT: output,
        GITHUB_STEP_SUMMARY: summary,
      },
    });
    const outputs = Object.fromEntries(
      readFileSync(output, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    return {
      status: result.status,
      stdout: result.stdout,
      stderr: result.stderr,
      outputs,
      summary: readFileSync(summary, "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
export const runStep = (step: Step, env: Record<string, string>, cwd?: string) => runScript(step.run ?? "", env, cwd);

export const stepNamed = (steps: Step[], pattern: RegExp) => {
  const index = steps.findIndex((step) => pattern.test(step.name ?? ""));
  assert.ok(index >= 0, `a step named ${pattern}`);
  return index;
};
