/**
 * Mutation test of the workflow tests: plants one known mistake at a time in a copy of the project's workflow
 * files (and what the tests read beside them), runs the workflow tests against that copy
 * (FINSIGHT_WORKFLOW_ROOT), and reports whether they failed, and which tests failed. The unchanged copy must pass.
 *
 *   npm run test:workflows:mutations
 *
 * Exit 0 only when the control passes and every mutation fails the tests.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const PROJECT_DIR = path.resolve(__dirname, "..");
/** What the workflow tests read from FINSIGHT_WORKFLOW_ROOT. */
const COPIED = [".github", "scripts", "docs", "index.ts", "Pulumi.demo.yaml", "Pulumi.prod.yaml"];
const TESTS = [
  "test/workflows.test.ts",
  "test/workflows/interfaces.test.ts",
  "test/workflows/lint.test.ts",
  "test/workflows/scripts.test.ts",
];

interface Mutation {
  /** The mistake, in the words of the issue that listed it. */
  name: string;
  file: string;
  from: string;
  to: string;
  /** One of the 11 mistakes the workflow tests must catch, or one more for the trust boundaries. */
  kind: "listed" | "boundary";
}

const MUTATIONS: Mutation[] = [
  {
    kind: "listed",
    name: "wrong input of a pinned action: persist-credentialz (actions/checkout)",
    file: ".github/workflows/ci.yml",
    from: "persist-credentials: false",
    to: "persist-credentialz: false",
  },
  {
    kind: "listed",
    // anchore/scan-action (only-fixed) is no longer used; the same mistake on a pinned action that is.
    name: "wrong input of a pinned action: the only-fixd kind of typo, on actions/attest (push-to-registy)",
    file: ".github/workflows/stack-release.yml",
    from: "push-to-registry: true",
    to: "push-to-registy: true",
  },
  {
    kind: "listed",
    name: "wrong input of the local reusable workflow (smoke-envs)",
    file: ".github/workflows/release.yml",
    from: "smoke-env: SKIP_ML=1",
    to: "smoke-envs: SKIP_ML=1",
  },
  {
    kind: "listed",
    name: "wrong output of the local reusable workflow (needs.demo.outputs.image-refs)",
    file: ".github/workflows/release.yml",
    from: "needs.demo.outputs.image-ref }}",
    to: "needs.demo.outputs.image-refs }}",
  },
  {
    kind: "listed",
    name: "wrong input of the composite action (app-rev)",
    file: ".github/workflows/stack-release.yml",
    from: `app-ref: \${{ github.ref_name }}`,
    to: `app-rev: \${{ github.ref_name }}`,
  },
  {
    kind: "listed",
    name: "misspelt Pulumi output candidatRef",
    file: ".github/workflows/stack-release.yml",
    from: "pulumi stack output candidateRef",
    to: "pulumi stack output candidatRef",
  },
  {
    kind: "listed",
    name: "unquoted shell variable",
    file: ".github/workflows/stack-release.yml",
    from: `run: scripts/check-candidate.sh "\${REPOSITORY}" "\${DIGEST}"`,
    to: `run: scripts/check-candidate.sh \${REPOSITORY} "\${DIGEST}"`,
  },
  {
    kind: "listed",
    name: "action pinned by a tag, not a commit",
    file: ".github/workflows/ci.yml",
    from: "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
    to: "actions/checkout@v7",
  },
  {
    kind: "listed",
    name: "expression interpolated into a run script",
    file: ".github/workflows/ci.yml",
    from: "- run: bash .ci/run",
    to: `- run: bash .ci/run \${{ github.head_ref }}`,
  },
  {
    kind: "listed",
    name: "permission a job does not need (contents: write in ci.yml)",
    file: ".github/workflows/ci.yml",
    from: "contents: read",
    to: "contents: write",
  },
  {
    kind: "listed",
    name: "a job that needs a job that does not exist (actionlint)",
    file: ".github/workflows/release.yml",
    from: "needs: [demo, prod]",
    to: "needs: [demo, prdo]",
  },
  {
    kind: "boundary",
    name: "admin token selected for the unreviewed demo environment",
    file: ".github/workflows/stack-release.yml",
    from: "inputs.stack == 'prod' && secrets.FINSIGHT_GITHUB_ADMIN_TOKEN",
    to: "inputs.stack == 'demo' && secrets.FINSIGHT_GITHUB_ADMIN_TOKEN",
  },
  {
    kind: "boundary",
    name: "rollbacks back in the default queue (a waiting rollback can be cancelled)",
    file: ".github/workflows/rollback.yml",
    from: `group: finsight-rollback-\${{ inputs.stack }}\n      cancel-in-progress: false\n      queue: max`,
    to: `group: finsight-rollback-\${{ inputs.stack }}\n      cancel-in-progress: false`,
  },
  {
    kind: "boundary",
    name: "Grype free to read an unreviewed .grype.yaml (no --config)",
    file: ".github/workflows/stack-release.yml",
    from: " --config .github/grype.yaml",
    to: "",
  },
  {
    kind: "boundary",
    name: "a secret given to the verify job, which runs the scanners and the image",
    file: ".github/workflows/stack-release.yml",
    from: `          FAIL_ON: \${{ vars.FINSIGHT_SCAN_FAIL_ON || 'high' }}`,
    to: `          FAIL_ON: \${{ vars.FINSIGHT_SCAN_FAIL_ON || 'high' }}\n          PULUMI_ACCESS_TOKEN: \${{ secrets.PULUMI_ACCESS_TOKEN }}`,
  },
];

function copyProject(): string {
  const root = mkdtempSync(path.join(tmpdir(), "finsight-mutant-"));
  for (const entry of COPIED) cpSync(path.join(PROJECT_DIR, entry), path.join(root, entry), { recursive: true });
  return root;
}

/** Runs the workflow tests against a copy; returns whether they passed and the names of the failing tests. */
function runTests(root: string): { passed: boolean; failing: string[]; seconds: number } {
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "--test", "--test-concurrency=2", "--test-reporter=tap", ...TESTS],
    { cwd: PROJECT_DIR, encoding: "utf8", env: { ...process.env, FINSIGHT_WORKFLOW_ROOT: root }, maxBuffer: 64 << 20 },
  );
  const failing = [...result.stdout.matchAll(/^\s+not ok \d+ - (.*)$/gm)].map((match) => match[1]);
  return { passed: result.status === 0, failing, seconds: (Date.now() - started) / 1000 };
}

function main() {
  const control = copyProject();
  try {
    const run = runTests(control);
    console.log(`control (no mutation): ${run.passed ? "passes" : "FAILS"} (${run.seconds.toFixed(1)} s)`);
    if (!run.passed) {
      console.log(`  failing: ${run.failing.join("; ")}`);
      process.exit(1);
    }
  } finally {
    rmSync(control, { recursive: true, force: true });
  }

  let caught = 0;
  for (const [index, mutation] of MUTATIONS.entries()) {
    const root = copyProject();
    try {
      const file = path.join(root, mutation.file);
      const source = readFileSync(file, "utf8");
      if (!source.includes(mutation.from)) throw new Error(`${mutation.file} no longer contains: ${mutation.from}`);
      writeFileSync(file, source.replace(mutation.from, mutation.to));
      const run = runTests(root);
      if (!run.passed) caught++;
      console.log(
        `${String(index + 1).padStart(2)}. [${mutation.kind}] ${mutation.name}: ${run.passed ? "NOT CAUGHT" : "caught"} (${run.seconds.toFixed(1)} s)`,
      );
      for (const name of run.failing.slice(0, 4)) console.log(`      ✖ ${name}`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  const listed = MUTATIONS.filter((mutation) => mutation.kind === "listed").length;
  console.log(
    `caught ${caught} of ${MUTATIONS.length} mutations (${listed} listed, ${MUTATIONS.length - listed} boundary)`,
  );
  process.exit(caught === MUTATIONS.length ? 0 : 1);
}

main();
