import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { PROJECT_DIR } from "../support/program";
import { type Step, stepNamed, workflow } from "./model";

/**
 * The scripts the release jobs run, and the steps that decide something, run here with stand-ins for what
 * only a runner has (grype, pulumi, curl, docker, a GitHub remote). Each stand-in logs how it was called.
 */

const FIXTURES = path.join(__dirname, "fixtures");
const work = mkdtempSync(path.join(tmpdir(), "finsight-scripts-"));
after(() => rmSync(work, { recursive: true, force: true }));
let counter = 0;
const scratch = () => {
  const dir = path.join(work, String(counter++));
  mkdirSync(dir, { recursive: true });
  return dir;
};

/** A directory with executable stand-ins, first on PATH. */
function standIns(commands: Record<string, string>) {
  const bin = scratch();
  for (const [name, body] of Object.entries(commands)) {
    writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  }
  return `${bin}:${process.env.PATH}`;
}

function run(command: string, args: string[], env: Record<string, string>, cwd = PROJECT_DIR) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? "", HOME: work, ...env },
  });
  return { status: result.status, out: `${result.stdout}${result.stderr}`, stdout: result.stdout };
}

/** A step's script run as the runner would, in the project directory, with output and summary files. */
function runStep(step: Step, env: Record<string, string>, cwd = PROJECT_DIR) {
  const dir = scratch();
  const files = { GITHUB_OUTPUT: path.join(dir, "output"), GITHUB_STEP_SUMMARY: path.join(dir, "summary") };
  writeFileSync(files.GITHUB_OUTPUT, "");
  writeFileSync(files.GITHUB_STEP_SUMMARY, "");
  const result = run(
    "bash",
    ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run ?? ""],
    { RUNNER_TEMP: dir, ...env, ...files },
    cwd,
  );
  return {
    ...result,
    output: readFileSync(files.GITHUB_OUTPUT, "utf8"),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, "utf8"),
  };
}

const stackRelease = workflow("stack-release.yml");

describe("the vulnerability gate (verify job) on a planted vulnerable SBOM", () => {
  const step = stackRelease.jobs.verify.steps?.[
    stepNamed(stackRelease.jobs.verify.steps ?? [], /Vulnerability gate/)
  ] as Step;
  const sbom = path.join(FIXTURES, "planted.spdx.json");

  /** Grype as the step calls it: checks the arguments, then writes the report grype would for the planted SBOM. */
  function grypeStandIn(report: string) {
    return standIns({
      grype: `echo "$*" >> "$GRYPE_LOG"
[ "$1" = "sbom:$RUNNER_TEMP/evidence/sbom.spdx.json" ] || { echo "unexpected source $1" >&2; exit 9; }
[ "$2 $3" = "--config .github/grype.yaml" ] || { echo "grype must read the reviewed config only" >&2; exit 9; }
[ "$4 $5 $6" = "--output json --file" ] || exit 9
cp "${report}" "$7"`,
    });
  }
  function gate(report: string, failOn?: string) {
    const dir = scratch();
    mkdirSync(path.join(dir, "evidence"));
    writeFileSync(path.join(dir, "evidence", "sbom.spdx.json"), readFileSync(sbom));
    const log = path.join(dir, "grype.log");
    const result = runStep(step, {
      PATH: grypeStandIn(report),
      RUNNER_TEMP: dir,
      GRYPE_LOG: log,
      ...(failOn ? { FAIL_ON: failOn } : {}),
    });
    return { ...result, grypeCalls: existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [] };
  }

  it("the step reads the severity from the repository variable, default high", () => {
    assert.equal(step.env?.FAIL_ON, `\${{ vars.FINSIGHT_SCAN_FAIL_ON || 'high' }}`);
  });

  it("fails on the planted SBOM's fixable High at the default threshold, naming it in the summary", () => {
    const result = gate(path.join(FIXTURES, "planted.grype.json"), "high");
    assert.equal(result.status, 1, result.out);
    assert.equal(result.grypeCalls.length, 1);
    assert.match(result.summary, /\*\*Failed\*\*: fixable vulnerabilities at high or above/);
    assert.match(result.summary, /\| High \| PLANTED-2026-0001 \| planted-ssl 3\.0\.1-r0 \| 3\.0\.2-r0 \|/);
    assert.doesNotMatch(result.summary, /\| Critical \| PLANTED-2026-0002/, "an unfixable critical does not block");
    assert.match(result.summary, /\| Critical \| 0 \| 1 \|/);
  });

  it("passes the same SBOM when the repository variable raises the threshold to critical", () => {
    const result = gate(path.join(FIXTURES, "planted.grype.json"), "critical");
    assert.equal(result.status, 0, result.out);
    assert.match(result.summary, /\*\*Passed\*\*/);
  });

  it("fails on a fixable Medium when the threshold is medium (case-insensitive)", () => {
    const report = JSON.parse(readFileSync(path.join(FIXTURES, "planted.grype.json"), "utf8"));
    report.matches[1].vulnerability.severity = "Medium";
    report.matches[1].vulnerability.fix = { versions: ["1.2.12-r0"], state: "fixed" };
    const file = path.join(scratch(), "medium.json");
    writeFileSync(file, JSON.stringify(report));
    assert.equal(gate(file, "high").status, 1, "the High still blocks");
    report.matches.splice(0, 1);
    writeFileSync(file, JSON.stringify(report));
    assert.equal(gate(file, "high").status, 0, "a fixable Medium passes at high");
    assert.equal(gate(file, "MEDIUM").status, 1, "and fails at medium");
  });

  it("what the reviewed ignore rules set aside does not block, and is counted", () => {
    const report = JSON.parse(readFileSync(path.join(FIXTURES, "planted.grype.json"), "utf8"));
    const [ignored] = report.matches.splice(0, 1);
    report.ignoredMatches = [
      { ...ignored, appliedIgnoreRules: [{ vulnerability: "PLANTED-2026-0001", namespace: "" }] },
    ];
    const file = path.join(scratch(), "ignored.json");
    writeFileSync(file, JSON.stringify(report));
    const result = gate(file);
    assert.equal(result.status, 0, result.out);
    assert.match(result.summary, /Set aside by the reviewed ignore rules in `\.github\/grype\.yaml`: 1\./);
  });

  it("refuses a report that is not Grype's shape, and a threshold it does not know", () => {
    const file = path.join(scratch(), "bad.json");
    writeFileSync(file, JSON.stringify({ matches: [{ vulnerability: { id: "X" } }] }));
    const bad = run("scripts/scan-gate.sh", [file], {});
    assert.equal(bad.status, 2);
    assert.match(bad.out, /is not a Grype JSON report/);
    const threshold = run("scripts/scan-gate.sh", [path.join(FIXTURES, "planted.grype.json")], { FAIL_ON: "severe" });
    assert.equal(threshold.status, 2);
    assert.match(
      threshold.out,
      /FINSIGHT_SCAN_FAIL_ON must be negligible, low, medium, high or critical, got 'severe'/,
    );
  });

  it("the reviewed Grype config holds no ignore rule yet, and no other Grype config is in the repository", () => {
    assert.match(readFileSync(path.join(PROJECT_DIR, ".github", "grype.yaml"), "utf8"), /^ignore: \[\]$/m);
    for (const name of [".grype.yaml", ".grype.yml", ".grype"])
      assert.ok(!existsSync(path.join(PROJECT_DIR, name)), name);
    const owners = readFileSync(path.join(PROJECT_DIR, ".github", "CODEOWNERS"), "utf8");
    for (const pattern of ["/.github/", "/.grype.yaml", "/scripts/", "/Pulumi.*.yaml"]) {
      assert.match(owners, new RegExp(`^${pattern.replace(/[.*]/g, "\\$&")}\\s+@acme/release-managers$`, "m"), pattern);
    }
  });
});

describe("scripts/install-pinned-tool.sh: nothing runs that does not match its pinned SHA-256", () => {
  const lock = JSON.parse(readFileSync(path.join(PROJECT_DIR, ".github", "pinned-tools.json"), "utf8")) as Record<
    string,
    { version: string; url: string; sha256: string; member: string }
  >;

  it("pins Syft and Grype by version, release URL and SHA-256 (the versions sbom-action and scan-action used)", () => {
    assert.deepEqual(Object.keys(lock).sort(), ["grype", "syft"]);
    assert.equal(lock.syft.version, "1.42.3");
    assert.equal(lock.grype.version, "0.110.0");
    for (const [name, tool] of Object.entries(lock)) {
      assert.equal(
        tool.url,
        `https://github.com/anchore/${name}/releases/download/v${tool.version}/${name}_${tool.version}_linux_amd64.tar.gz`,
      );
      assert.match(tool.sha256, /^[0-9a-f]{64}$/);
      assert.equal(tool.member, name);
    }
  });

  /** A tarball holding one executable, and a curl that serves it whatever the URL (logging the URL). */
  function served(member: string) {
    const dir = scratch();
    writeFileSync(path.join(dir, member), "#!/bin/sh\necho planted tool\n");
    chmodSync(path.join(dir, member), 0o755);
    const tarball = path.join(dir, "tool.tar.gz");
    execFileSync("tar", ["-czf", tarball, "-C", dir, member]);
    const sha256 = execFileSync("sha256sum", [tarball], { encoding: "utf8" }).split(" ")[0];
    const log = path.join(dir, "curl.log");
    const PATH = standIns({
      curl: `echo "$*" >> "${log}"
while [ "$#" -gt 0 ]; do case "$1" in --output) out="$2"; shift 2;; *) shift;; esac; done
cp "${tarball}" "$out"`,
    });
    return { PATH, sha256, log };
  }

  it("installs the tool when the archive matches the pin, over https only", () => {
    const { PATH, sha256, log } = served("syft");
    const lockFile = path.join(scratch(), "tools.json");
    writeFileSync(lockFile, JSON.stringify({ syft: { ...lock.syft, sha256 } }));
    const dest = scratch();
    const result = run("scripts/install-pinned-tool.sh", ["syft", dest], { PATH, FINSIGHT_PINNED_TOOLS: lockFile });
    assert.equal(result.status, 0, result.out);
    assert.equal(execFileSync(path.join(dest, "syft"), { encoding: "utf8" }), "planted tool\n");
    assert.match(readFileSync(log, "utf8"), new RegExp(`--proto =https .*${lock.syft.url.replace(/[.]/g, "\\.")}`));
  });

  it("refuses an archive whose SHA-256 is not the pinned one, and installs nothing", () => {
    const { PATH } = served("grype");
    const dest = scratch();
    const result = run("scripts/install-pinned-tool.sh", ["grype", dest], { PATH });
    assert.equal(result.status, 1);
    assert.match(
      result.out,
      new RegExp(
        `grype 0\\.110\\.0: .* has SHA-256 [0-9a-f]{64}, not the pinned ${lock.grype.sha256}; nothing was installed`,
      ),
    );
    assert.ok(!existsSync(path.join(dest, "grype")));
  });

  it("refuses a tool the lock does not list", () => {
    const result = run("scripts/install-pinned-tool.sh", ["trivy", scratch()], {});
    assert.equal(result.status, 2);
    assert.match(result.out, /has no tool named trivy; it lists: grype, syft/);
  });

  it("the verify job installs both through it, and no job uses an action that installs a scanner at run time", () => {
    const install = stackRelease.jobs.verify.steps?.find((step) => /Install Syft and Grype/.test(step.name ?? ""));
    assert.match(install?.run ?? "", /scripts\/install-pinned-tool\.sh syft /);
    assert.match(install?.run ?? "", /scripts\/install-pinned-tool\.sh grype /);
    const all = ["ci.yml", "drift.yml", "preview.yml", "release.yml", "rollback.yml", "stack-release.yml"]
      .map((file) => readFileSync(path.join(PROJECT_DIR, ".github", "workflows", file), "utf8"))
      .join("\n");
    assert.doesNotMatch(all, /anchore\/(sbom|scan)-action|install\.sh|curl [^\n]*\| *(ba)?sh/);
  });
});

describe("scripts/pulumi-up.sh: waits for the stack's Pulumi lock, never runs over a rollback pin", () => {
  /** A pulumi that answers "[409] Conflict" CONFLICTS times, then succeeds; `stack output --json` prints OUTPUTS. */
  function pulumi(conflicts: number, outputs = "{}", failWith = "") {
    const dir = scratch();
    const log = path.join(dir, "pulumi.log");
    writeFileSync(path.join(dir, "count"), "0");
    const PATH = standIns({
      pulumi: `echo "$*" >> "${log}"
if [ "$1 $2" = "stack output" ]; then echo '${outputs}'; exit 0; fi
n=$(cat "${dir}/count"); echo $((n + 1)) > "${dir}/count"
if [ -n "${failWith}" ]; then echo "${failWith}" >&2; exit 255; fi
if [ "$n" -lt ${conflicts} ]; then echo "error: [409] Conflict: Another update is currently in progress." >&2; exit 255; fi
echo "Resources: 3 unchanged"`,
    });
    return { PATH, calls: () => readFileSync(log, "utf8").trim().split("\n") };
  }

  it("tries again after a conflict, checking the pin before each attempt, and passes the arguments on", () => {
    const { PATH, calls } = pulumi(2);
    const result = run("scripts/pulumi-up.sh", ["prod", "--refuse-if-pinned", "--", "--diff"], {
      PATH,
      PULUMI_UP_RETRY: "1",
    });
    assert.equal(result.status, 0, result.out);
    assert.match(result.out, /stack prod is busy with another update; trying again in 1 s/);
    assert.deepEqual(calls(), [
      "stack output --json --stack prod",
      "up --yes --non-interactive --stack prod --diff",
      "stack output --json --stack prod",
      "up --yes --non-interactive --stack prod --diff",
      "stack output --json --stack prod",
      "up --yes --non-interactive --stack prod --diff",
    ]);
  });

  it("refuses, before any update, while the stack serves a rollback pin", () => {
    const { PATH, calls } = pulumi(0, '{"pinnedVersion": "1.3.2", "version": "1.4.0"}');
    const result = run("scripts/pulumi-up.sh", ["prod", "--refuse-if-pinned"], { PATH });
    assert.equal(result.status, 1);
    assert.match(result.out, /stack prod is rolled back to 1\.3\.2 \(finsight:pin\); roll forward first/);
    assert.deepEqual(calls(), ["stack output --json --stack prod"]);
  });

  it("a release that waited behind a rollback stops once the rollback has pinned the stack", () => {
    // The first attempt conflicts (a rollback is updating); by the next, the stack reports the pin.
    const dir = scratch();
    const PATH = standIns({
      pulumi: `if [ "$1 $2" = "stack output" ]; then
  if [ -e "${dir}/rolled-back" ]; then echo '{"pinnedVersion": "1.3.2"}'; else echo '{}'; fi; exit 0; fi
touch "${dir}/rolled-back"; echo "error: [409] Conflict: Another update is currently in progress." >&2; exit 255`,
    });
    const result = run("scripts/pulumi-up.sh", ["demo", "--refuse-if-pinned"], { PATH, PULUMI_UP_RETRY: "1" });
    assert.equal(result.status, 1);
    assert.match(result.out, /stack demo is rolled back to 1\.3\.2/);
  });

  it("fails at once on any other error, and after PULUMI_UP_WAIT on a lock that stays taken", () => {
    const other = pulumi(0, "{}", "error: program failed");
    const failed = run("scripts/pulumi-up.sh", ["demo"], { PATH: other.PATH });
    assert.equal(failed.status, 255);
    assert.equal(other.calls().length, 1);
    const stuck = pulumi(1000);
    const gaveUp = run("scripts/pulumi-up.sh", ["demo"], {
      PATH: stuck.PATH,
      PULUMI_UP_WAIT: "2",
      PULUMI_UP_RETRY: "1",
    });
    assert.equal(gaveUp.status, 1);
    assert.match(gaveUp.out, /stack demo was busy with another update for 2 s\. .*pulumi cancel --stack demo/);
  });

  it("every pulumi up of a release or rollback goes through it; releases refuse over a pin, rollbacks do not", () => {
    const ups = ["stack-release.yml", "rollback.yml"].flatMap((file) =>
      Object.entries(workflow(file).jobs).flatMap(([job, spec]) =>
        (spec.steps ?? [])
          .filter((step) => /scripts\/pulumi-up\.sh/.test(step.run ?? ""))
          .map((step) => ({ file, job, run: step.run ?? "" })),
      ),
    );
    for (const file of ["ci.yml", "drift.yml", "preview.yml", "release.yml", "rollback.yml", "stack-release.yml"]) {
      for (const [job, spec] of Object.entries(workflow(file).jobs)) {
        for (const step of spec.steps ?? []) {
          assert.doesNotMatch(step.run ?? "", /^\s*pulumi up\b/m, `${file} ${job}: pulumi up only through the script`);
          assert.ok(!(step.uses?.startsWith("pulumi/actions@") && step.with?.command === "up"), `${file} ${job}`);
        }
      }
    }
    assert.deepEqual(
      ups.map(({ file, job }) => `${file} ${job}`),
      ["stack-release.yml candidate", "stack-release.yml promote", "rollback.yml rollback"],
    );
    for (const { file, run: script } of ups) {
      assert.match(script, /^scripts\/pulumi-up\.sh "\$\{STACK\}"/);
      assert.equal(/--refuse-if-pinned/.test(script), file === "stack-release.yml");
    }
  });
});

describe("scripts/check-candidate.sh: the digest is re-checked where it is used", () => {
  const digest = `sha256:${"ab".repeat(32)}`;

  it("accepts a repository and digest, refuses anything else", () => {
    assert.equal(run("scripts/check-candidate.sh", ["ghcr.io/acme/finsight-backend", digest], {}).status, 0);
    assert.equal(run("scripts/check-candidate.sh", ["localhost:5000/finsight", digest], {}).status, 0);
    for (const [repository, bad] of [
      ["ghcr.io/acme/finsight-backend", "sha256:abc"],
      ["ghcr.io/acme/finsight-backend", ""],
      ["", digest],
      ["ghcr.io/acme/finsight-backend:v1.4.0", digest],
    ]) {
      const result = run("scripts/check-candidate.sh", [repository, bad], {});
      assert.equal(result.status, 1, `${repository} ${bad}`);
      assert.match(result.out, /the candidate (digest|repository) is not/);
    }
  });

  it("--in-registry asks the registry for exactly repo@digest", () => {
    const dir = scratch();
    const ok = standIns({ docker: `echo "$*" > "${dir}/docker.log"` });
    assert.equal(
      run("scripts/check-candidate.sh", ["ghcr.io/acme/x", digest, "--in-registry"], { PATH: ok }).status,
      0,
    );
    assert.equal(
      readFileSync(path.join(dir, "docker.log"), "utf8").trim(),
      `buildx imagetools inspect ghcr.io/acme/x@${digest}`,
    );
    const missing = standIns({ docker: "exit 1" });
    const result = run("scripts/check-candidate.sh", ["ghcr.io/acme/x", digest, "--in-registry"], { PATH: missing });
    assert.equal(result.status, 1);
    assert.match(result.out, /the registry does not serve ghcr\.io\/acme\/x@sha256:/);
  });

  it("verify, sign and promote each re-check it; sign asks the registry", () => {
    for (const job of ["verify", "sign", "promote"]) {
      const steps = stackRelease.jobs[job].steps ?? [];
      const check = steps.find((step) => /scripts\/check-candidate\.sh/.test(step.run ?? ""));
      assert.ok(check, job);
      assert.equal(check.env?.DIGEST, `\${{ needs.candidate.outputs.digest }}`, job);
      assert.equal(/--in-registry/.test(check.run ?? ""), job === "sign", job);
    }
  });
});

describe("git-facing steps, against real repositories", () => {
  const git = (cwd: string, ...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.invalid", ...args], {
      cwd,
      encoding: "utf8",
    }).trim();

  /** A bare origin whose main has two commits, a clone of it, and a commit off main. */
  function repositories() {
    const dir = scratch();
    const origin = path.join(dir, "origin.git");
    const clone = path.join(dir, "clone");
    git(dir, "init", "--quiet", "--bare", "--initial-branch=main", origin);
    git(dir, "clone", "--quiet", origin, clone);
    writeFileSync(path.join(clone, "Pulumi.demo.yaml"), "config:\n  finsight:variant: demo\n");
    git(clone, "add", ".");
    git(clone, "commit", "--quiet", "-m", "one");
    git(clone, "push", "--quiet", "origin", "HEAD:main");
    const onMain = git(clone, "rev-parse", "HEAD");
    git(clone, "checkout", "--quiet", "-b", "side");
    git(clone, "commit", "--quiet", "--allow-empty", "-m", "off main");
    const offMain = git(clone, "rev-parse", "HEAD");
    git(clone, "checkout", "--quiet", "main");
    return { origin, clone, onMain, offMain };
  }

  it("release.yml refuses a tag whose commit is not on main", () => {
    const step = workflow("release.yml").jobs.test.steps?.find((candidate) =>
      /release tag on main/.test(candidate.name ?? ""),
    );
    assert.ok(step);
    const { clone, onMain, offMain } = repositories();
    const env = { GITHUB_REF_TYPE: "tag", GITHUB_REF_NAME: "v1.4.0" };
    assert.equal(runStep(step, { ...env, GITHUB_SHA: onMain }, clone).status, 0);
    const refused = runStep(step, { ...env, GITHUB_SHA: offMain }, clone);
    assert.equal(refused.status, 1);
    assert.match(refused.out, new RegExp(`tag v1\\.4\\.0 points at ${offMain}, which is not on main`));
    assert.equal(
      runStep(step, { GITHUB_REF_TYPE: "branch", GITHUB_REF_NAME: "main", GITHUB_SHA: onMain }, clone).status,
      1,
    );
  });

  describe("rollback.yml's record job", () => {
    const steps = workflow("rollback.yml").jobs.record.steps ?? [];
    const commit = steps[stepNamed(steps, /Commit the stack file change/)];
    const patchFor = (clone: string) => {
      writeFileSync(path.join(clone, "Pulumi.demo.yaml"), "config:\n  finsight:variant: demo\n  finsight:pin: 1.3.2\n");
      const patch = execFileSync("git", ["diff", "--", "Pulumi.demo.yaml"], { cwd: clone, encoding: "utf8" });
      git(clone, "checkout", "--quiet", "--", "Pulumi.demo.yaml");
      return Buffer.from(patch).toString("base64");
    };
    const env = (patch: string) => ({
      STACK: "demo",
      PIN: "1.3.2",
      PATCH: patch,
      GITHUB_RUN_ID: "4242",
      RUN_URL: "https://github.com/acme/finsight-release/actions/runs/4242",
    });

    it("pushes a branch of the run's own, never forcing over an older one", () => {
      const { origin, clone } = repositories();
      git(clone, "push", "--quiet", "origin", "main:refs/heads/rollback/demo-1");
      const result = runStep(commit, env(patchFor(clone)), clone);
      assert.equal(result.status, 0, result.out);
      assert.match(result.output, /^branch=rollback\/demo-4242$/m);
      assert.equal(
        git(origin, "log", "-1", "--format=%s", "rollback/demo-4242"),
        "Record rollback: demo serves 1.3.2 (finsight:pin)",
      );
      assert.match(git(origin, "show", "rollback/demo-4242:Pulumi.demo.yaml"), /finsight:pin: 1\.3\.2/);
      assert.equal(
        git(origin, "rev-parse", "rollback/demo-1"),
        git(origin, "rev-parse", "main"),
        "the older branch is untouched",
      );
      assert.doesNotMatch(commit.run ?? "", /--force/);
    });

    it("a push GitHub refuses fails the job, saying the rollback is live and how to record it by hand", () => {
      const { origin, clone } = repositories();
      const hook = path.join(origin, "hooks", "pre-receive");
      writeFileSync(
        hook,
        "#!/bin/sh\necho 'refusing to allow a GitHub App to create or update workflow' >&2\nexit 1\n",
      );
      chmodSync(hook, 0o755);
      const result = runStep(commit, env(patchFor(clone)), clone);
      assert.equal(result.status, 1);
      assert.match(
        result.out,
        /::error::the rollback of demo is live, but it could not be recorded on main \(GitHub refused the push of rollback\/demo-4242\)\. Record it by hand/,
      );
      assert.match(result.summary, /### :warning: demo is rolled back, but not recorded on main/);
      assert.match(result.summary, /```diff\n[\s\S]*\+ {2}finsight:pin: 1\.3\.2\n[\s\S]*```/);
    });

    it("says so when the change no longer applies to main", () => {
      const { clone } = repositories();
      const patch = patchFor(clone);
      writeFileSync(path.join(clone, "Pulumi.demo.yaml"), "config:\n  finsight:variant: full\n");
      git(clone, "commit", "--quiet", "-am", "main moved on");
      const result = runStep(commit, env(patch), clone);
      assert.equal(result.status, 1);
      assert.match(
        result.out,
        /could not be recorded on main \(the change no longer applies to main's Pulumi\.demo\.yaml\)/,
      );
    });
  });

  it("drift.yml runs from the default branch only, before anything else", () => {
    const steps = workflow("drift.yml").jobs.drift.steps ?? [];
    assert.equal(stepNamed(steps, /Refuse a ref other than the default branch/), 0);
    const step = steps[0];
    assert.equal(step.env?.DEFAULT_BRANCH, `\${{ github.event.repository.default_branch || 'main' }}`);
    assert.equal(runStep(step, { DEFAULT_BRANCH: "main", GITHUB_REF: "refs/heads/main" }).status, 0);
    const refused = runStep(step, { DEFAULT_BRANCH: "main", GITHUB_REF: "refs/heads/feature" });
    assert.equal(refused.status, 1);
    assert.match(refused.out, /drift checks run from main .*not refs\/heads\/feature/);
    assert.ok(
      steps.slice(1).every((later) => later.if === undefined || !/always\(\)/.test(later.if)),
      "nothing runs after a refusal",
    );
  });
});
