import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { actionInterface } from "../../scripts/refresh-action-inputs";
import {
  allSteps,
  type Job,
  needsOf,
  ROOT,
  type Step,
  setupAction,
  type Workflow,
  workflow,
  workflowFiles,
} from "./model";
import { type ActionInterface, actionPins, pinKey, SNAPSHOT } from "./pins";

/**
 * What actionlint cannot check: the inputs and outputs of third-party actions (against a snapshot of their
 * action.yml at the pinned commit), of the local reusable workflow and composite action, the outputs each step
 * and job is read by, and the stack outputs the scripts ask Pulumi for (against what index.ts exports).
 */

const snapshot = JSON.parse(readFileSync(path.join(ROOT, SNAPSHOT), "utf8")) as Record<string, ActionInterface>;
const LOCAL_WORKFLOW = /^\.\/\.github\/workflows\/([\w.-]+\.yml)$/;
const LOCAL_ACTION = "./.github/actions/setup";

/** Every `${{ … }}` in a value, as the text inside the braces. */
function expressionsIn(value: unknown): string[] {
  const source = typeof value === "string" ? value : JSON.stringify(value ?? "");
  return [...source.matchAll(/\$\{\{(.*?)\}\}/g)].map((match) => match[1]);
}
const refs = (value: unknown, pattern: RegExp) =>
  expressionsIn(value).flatMap((inner) => [...inner.matchAll(pattern)].map((match) => match.slice(1)));

/** Output names a run script writes to $GITHUB_OUTPUT (`echo "name=…"`, alone or in a `{ … } >> "$GITHUB_OUTPUT"` group). */
function scriptOutputs(script: string): string[] {
  if (!script.includes("GITHUB_OUTPUT")) return [];
  return [...script.matchAll(/echo "([A-Za-z_][\w-]*)=/g)].map((match) => match[1]);
}

/** The keys of the object index.ts returns: the stack outputs. */
export function exportedOutputs(source: string): string[] {
  const body = source.slice(source.lastIndexOf("return {"));
  const keys = [...body.matchAll(/^ {4}([A-Za-z_]\w*)(?=[,:])/gm)].map((match) => match[1]);
  assert.ok(keys.length > 0, "index.ts returns an object of stack outputs");
  return keys;
}
const STACK_OUTPUTS = exportedOutputs(readFileSync(path.join(ROOT, "index.ts"), "utf8"));

/** The outputs a step offers, by what it is. */
function stepOutputs(step: Step): string[] | undefined {
  if (step.run !== undefined) return scriptOutputs(step.run);
  if (step.uses === LOCAL_ACTION) return Object.keys(setupAction().outputs ?? {});
  const pin = /^([\w.-]+\/[\w./-]+)@([0-9a-f]{40})$/.exec(step.uses ?? "");
  const known = pin ? snapshot[pinKey({ action: pin[1], sha: pin[2] })] : undefined;
  if (!known) return undefined;
  // pulumi/actions also sets one output per stack output after a command.
  return step.uses?.startsWith("pulumi/actions@") && step.with?.command
    ? [...known.outputs, ...STACK_OUTPUTS]
    : known.outputs;
}

function calledWorkflow(job: Job): Workflow | undefined {
  const match = LOCAL_WORKFLOW.exec(job.uses ?? "");
  return match ? workflow(match[1]) : undefined;
}

describe("pinned actions: every input and output against their action.yml at the pinned commit", () => {
  const pins = actionPins(ROOT);

  it(`${SNAPSHOT} holds exactly the pinned actions, at their versions (npm run refresh:action-inputs)`, () => {
    const pinned = new Map(pins.map((pin) => [pinKey(pin), pin.version]));
    assert.deepEqual([...pinned.keys()].sort(), Object.keys(snapshot).sort());
    for (const [key, version] of pinned) assert.equal(snapshot[key].version, version, key);
  });

  it("every `with:` key is an input of the pinned action, and every required input without a default is given", () => {
    let checked = 0;
    for (const { where, step } of allSteps()) {
      const pin = /^([\w.-]+\/[\w./-]+)@([0-9a-f]{40})$/.exec(step.uses ?? "");
      if (!pin) continue;
      const known = snapshot[pinKey({ action: pin[1], sha: pin[2] })];
      assert.ok(known, `${where}: ${step.uses} is not in ${SNAPSHOT}`);
      for (const key of Object.keys(step.with ?? {})) {
        checked++;
        assert.ok(
          key in known.inputs,
          `${where}: ${pin[1]} has no input "${key}"; it takes ${Object.keys(known.inputs).join(", ")}`,
        );
      }
      for (const [name, spec] of Object.entries(known.inputs)) {
        if (spec.required && spec.default === undefined)
          assert.ok(name in (step.with ?? {}), `${where}: ${name} is required`);
      }
    }
    assert.ok(checked >= 60, `checked ${checked} inputs`);
  });

  it("the snapshot reader keeps names, required flags and defaults (control)", () => {
    const parsed = actionInterface(
      "v1.0.0",
      "name: x\ninputs:\n  a:\n    required: true\n  b:\n    default: 3\noutputs:\n  o: {description: d}\nruns: {using: node24, main: i.js}\n",
    );
    assert.deepEqual(parsed, {
      version: "v1.0.0",
      inputs: { a: { required: true }, b: { required: false, default: "3" } },
      outputs: ["o"],
    });
    assert.throws(() => actionInterface("v1.0.0", "name: x\n"), /not an action.yml/);
  });
});

describe("local reusable workflows and the composite action: inputs and outputs", () => {
  it("each caller of a local reusable workflow passes only declared inputs, and every required one", () => {
    let calls = 0;
    for (const file of workflowFiles) {
      const wf = workflow(file);
      for (const [name, job] of Object.entries(wf.jobs)) {
        const called = calledWorkflow(job);
        if (!called) continue;
        calls++;
        const inputs = called.on.workflow_call?.inputs ?? {};
        for (const key of Object.keys(job.with ?? {})) {
          assert.ok(
            key in inputs,
            `${file}: ${name} passes "${key}" to ${job.uses}, which takes ${Object.keys(inputs)}`,
          );
        }
        for (const [input, spec] of Object.entries(inputs)) {
          if (spec.required) assert.ok(input in (job.with ?? {}), `${file}: ${name} must pass ${input}`);
        }
      }
    }
    assert.equal(calls, 2);
  });

  it("`needs.<job>.outputs.<name>` names an output of that job (or of the workflow it calls), and the job is needed", () => {
    let checked = 0;
    for (const file of workflowFiles) {
      const wf = workflow(file);
      for (const [name, job] of Object.entries(wf.jobs)) {
        for (const [needed, output] of refs(job, /needs\.([\w-]+)\.outputs\.([\w-]+)/g)) {
          checked++;
          assert.ok(needsOf(job).includes(needed), `${file}: ${name} reads needs.${needed} without needing it`);
          const producer = wf.jobs[needed];
          assert.ok(producer, `${file}: no job ${needed}`);
          const called = calledWorkflow(producer);
          const offered = called
            ? Object.keys(called.on.workflow_call?.outputs ?? {})
            : Object.keys(producer.outputs ?? {});
          assert.ok(
            offered.includes(output),
            `${file}: ${name} reads needs.${needed}.outputs.${output}; ${needed} has ${offered}`,
          );
        }
      }
    }
    assert.ok(checked >= 20, `checked ${checked}`);
  });

  it("`steps.<id>.outputs.<name>` names an output that step sets, in the same job", () => {
    let checked = 0;
    const jobs: { where: string; job: { steps?: Step[]; outputs?: Record<string, string> } }[] = [
      ...workflowFiles.flatMap((file) =>
        Object.entries(workflow(file).jobs).map(([name, job]) => ({ where: `${file} ${name}`, job })),
      ),
      { where: "actions/setup", job: { steps: setupAction().runs.steps, outputs: {} } },
    ];
    for (const { where, job } of jobs) {
      const steps = job.steps ?? [];
      steps.forEach((step, index) => {
        for (const [id, output] of refs({ ...step, run: undefined }, /steps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
          checked++;
          const producer = steps.findIndex((candidate) => candidate.id === id);
          assert.ok(
            producer >= 0 && producer < index,
            `${where}: steps.${id} is not a step before ${step.name ?? step.uses}`,
          );
          const offered = stepOutputs(steps[producer]);
          assert.ok(offered, `${where}: cannot tell what steps.${id} outputs`);
          assert.ok(
            offered.includes(output),
            `${where}: steps.${id} sets ${offered.join(", ") || "nothing"}, not ${output}`,
          );
        }
      });
      for (const [id, output] of refs(job.outputs ?? {}, /steps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
        checked++;
        const producer = steps.find((candidate) => candidate.id === id);
        assert.ok(producer, `${where}: job output reads steps.${id}, which does not exist`);
        assert.ok(stepOutputs(producer)?.includes(output), `${where}: job output reads steps.${id}.outputs.${output}`);
      }
    }
    assert.ok(checked >= 20, `checked ${checked}`);
  });

  it("a reusable workflow's outputs name outputs of its jobs, and its expressions read only declared inputs", () => {
    for (const file of workflowFiles) {
      const wf = workflow(file);
      const declared = {
        ...(wf.on.workflow_call?.inputs ?? {}),
        ...((wf.on.workflow_dispatch as { inputs?: Record<string, unknown> } | null)?.inputs ?? {}),
      };
      for (const [name, output] of Object.entries(wf.on.workflow_call?.outputs ?? {})) {
        for (const [job, jobOutput] of refs(output.value, /jobs\.([\w-]+)\.outputs\.([\w-]+)/g)) {
          assert.ok(
            wf.jobs[job]?.outputs?.[jobOutput],
            `${file}: output ${name} reads jobs.${job}.outputs.${jobOutput}`,
          );
        }
      }
      for (const [input] of refs(wf.jobs, /\binputs\.([\w-]+)/g)) {
        assert.ok(input in declared, `${file}: reads inputs.${input}, which it does not declare`);
      }
    }
  });

  it("the composite action is given only its inputs and every required one, and reads only those", () => {
    const action = setupAction();
    const inputs = action.inputs ?? {};
    let uses = 0;
    for (const { where, step } of allSteps()) {
      if (step.uses !== LOCAL_ACTION) continue;
      uses++;
      for (const key of Object.keys(step.with ?? {})) {
        assert.ok(key in inputs, `${where}: the set-up action has no input "${key}"; it takes ${Object.keys(inputs)}`);
      }
      for (const [name, spec] of Object.entries(inputs)) {
        if (spec.required) assert.ok(name in (step.with ?? {}), `${where}: ${name} is required`);
      }
    }
    assert.equal(uses, 5);
    for (const [input] of refs(action.runs, /\binputs\.([\w-]+)/g)) assert.ok(input in inputs, `reads inputs.${input}`);
  });
});

describe("stack outputs: every name a script asks Pulumi for is one index.ts exports", () => {
  /** `pulumi stack output NAME`, and `.NAME // empty` read with jq from `pulumi stack output --json`. */
  function outputNames(script: string): string[] {
    const direct = [...script.matchAll(/pulumi stack output\s+([A-Za-z_]\w*)/g)].map((match) => match[1]);
    const viaJson = script.includes("pulumi stack output --json")
      ? [...script.matchAll(/'\.([A-Za-z_]\w*) \/\/ empty'/g)].map((match) => match[1])
      : [];
    return [...direct, ...viaJson];
  }
  const scriptsDir = path.join(ROOT, "scripts");
  const sources = [
    ...allSteps().map(({ where, step }) => ({ where, script: step.run ?? "" })),
    ...readdirSync(scriptsDir)
      .filter((name) => name.endsWith(".sh"))
      .map((name) => ({ where: `scripts/${name}`, script: readFileSync(path.join(scriptsDir, name), "utf8") })),
  ];

  it("index.ts exports the outputs the workflows rely on (control)", () => {
    for (const name of ["version", "candidateRef", "imageRef", "pinnedVersion", "floatingTags"]) {
      assert.ok(STACK_OUTPUTS.includes(name), name);
    }
    assert.deepEqual(outputNames("pulumi stack output candidatRef --stack x"), ["candidatRef"]);
  });

  it("no script reads a stack output index.ts does not export", () => {
    const read = new Set<string>();
    for (const { where, script } of sources) {
      for (const name of outputNames(script)) {
        read.add(name);
        assert.ok(
          STACK_OUTPUTS.includes(name),
          `${where}: pulumi stack output ${name}; index.ts exports ${STACK_OUTPUTS}`,
        );
      }
    }
    assert.deepEqual([...read].sort(), ["candidateRef", "floatingTags", "imageRef", "pinnedVersion", "version"]);
  });
});
