/**
 * The doctor's first lines: Node.js, the Pulumi CLI and its version, the backend login, the stack.
 * The Pulumi CLI is a stand-in written by each test onto a PATH that holds nothing else.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import type { DoctorContext } from "../../src/doctor/context";
import { checkLogin, checkNode, checkPulumiCli, checkStack } from "../../src/doctor/toolchain";
import { doctorContext, type FakeAnswer, type FakeTools, fakeTools, goodPulumi } from "../support/doctor";
import { PROJECT_DIR } from "../support/program";

const PINNED = fs.readFileSync(path.join(PROJECT_DIR, ".github", "pulumi-version"), "utf8").trim();
const made: FakeTools[] = [];
after(() => {
  for (const tools of made) tools.remove();
});

function withPulumi(answers: FakeAnswer[] | undefined, stack = "demo"): DoctorContext {
  const tools = fakeTools(answers ? { pulumi: answers } : {});
  made.push(tools);
  return doctorContext({ path: tools.path, stack });
}

/** The first three Pulumi lines, in order, as the doctor runs them. */
function pulumiLines(context: DoctorContext) {
  return [checkPulumiCli(context), checkLogin(context), checkStack(context)];
}

describe("doctor: Node.js", () => {
  it("passes a Node that package.json admits, naming it", () => {
    const result = checkNode({ ...withPulumi([]), nodeVersion: "24.11.1" });
    assert.equal(result.status, "pass");
    assert.match(result.detail, /^v24\.11\.1 \(package\.json asks >=22; the workflows use 24\)$/);
  });

  it("fails Node 20 with the command that puts Node 24 first on PATH", () => {
    const result = checkNode({ ...withPulumi([]), nodeVersion: "20.19.0" });
    assert.equal(result.status, "fail");
    assert.match(result.detail, /^20\.19\.0 is older than package\.json asks \(>=22/);
    assert.equal(
      result.fix,
      'export PATH="$(dirname "$(npm exec --yes --package=node@24 -- node -p process.execPath)"):$PATH"',
    );
  });
});

describe("doctor: Pulumi CLI, login and stack", () => {
  it("all pass for a CLI at .github/pulumi-version, logged in, with the stack", () => {
    const [cli, login, stack] = pulumiLines(withPulumi(goodPulumi("demo")));
    assert.deepEqual(
      [cli.status, login.status, stack.status],
      ["pass", "pass", "pass"],
      JSON.stringify([cli, login, stack]),
    );
    assert.equal(cli.detail, `v${PINNED}, as .github/pulumi-version`);
    assert.equal(login.detail, "release-admin at https://api.pulumi.com");
    assert.equal(stack.detail, "exists (finsight-test/finsight/demo)");
  });

  it("no CLI on PATH: its install command at the pinned version, and the lines that need it say so", () => {
    const [cli, login, stack] = pulumiLines(withPulumi(undefined));
    assert.equal(cli.status, "fail");
    assert.equal(cli.detail, "pulumi is not on PATH");
    assert.equal(cli.fix, `curl -fsSL https://get.pulumi.com | sh -s -- --version ${PINNED}`);
    for (const line of [login, stack]) {
      assert.equal(line.status, "fail");
      assert.equal(line.detail, "not checked: needs the Pulumi CLI (above)");
    }
  });

  it("another CLI version: refused, naming both, with the pinned install command", () => {
    const [cli] = pulumiLines(withPulumi([{ args: "version", stdout: "v3.100.0\n" }]));
    assert.equal(cli.status, "fail");
    assert.equal(cli.detail, `v3.100.0, but the workflows use v${PINNED} (.github/pulumi-version)`);
    assert.match(cli.fix ?? "", new RegExp(`--version ${PINNED.replace(/\./g, "\\.")}$`));
  });

  it("a CLI that prints no version is not believed", () => {
    const [cli] = pulumiLines(withPulumi([{ args: "version", stdout: "warning: something\n" }]));
    assert.equal(cli.status, "fail");
    assert.match(cli.detail, /^pulumi version printed "warning: something", not a version$/);
  });

  it("not logged in: the CLI's own reason and `pulumi login`; the stack is not asked", () => {
    const context = withPulumi([
      { args: "version", stdout: `v${PINNED}\n` },
      {
        args: "whoami --json",
        status: 255,
        stderr: "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions\n",
      },
    ]);
    const [, login, stack] = pulumiLines(context);
    assert.equal(login.status, "fail");
    assert.equal(
      login.detail,
      "not logged in: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions",
    );
    assert.match(login.fix ?? "", /^pulumi login /);
    assert.equal(stack.status, "fail");
    assert.equal(stack.detail, "not checked: needs a backend login (above)");
  });

  it("the local stack's login fix is the file backend the README uses", () => {
    const context = withPulumi(
      [
        { args: "version", stdout: `v${PINNED}\n` },
        { args: "whoami", status: 1, stderr: "error: no\n" },
      ],
      "local",
    );
    const [, login] = pulumiLines(context);
    assert.equal(
      login.fix,
      'mkdir -p .pulumi-local && export PULUMI_BACKEND_URL="file://$PWD/.pulumi-local" PULUMI_CONFIG_PASSPHRASE=local-only',
    );
  });

  it("whoami output without a user is not a login", () => {
    const [, login] = pulumiLines(
      withPulumi([
        { args: "version", stdout: `v${PINNED}\n` },
        { args: "whoami --json", stdout: '{"url":"x"}' },
      ]),
    );
    assert.equal(login.status, "fail");
    assert.match(login.detail, /did not name a user and a backend URL/);
  });

  it("a backend without the stack: the stacks it has, and `pulumi stack init`", () => {
    const context = withPulumi(
      goodPulumi("demo", [
        { args: "stack ls --json", stdout: '[{"name":"finsight-test/finsight/prod","current":true}]' },
      ]),
    );
    const [, , stack] = pulumiLines(context);
    assert.equal(stack.status, "fail");
    assert.equal(stack.detail, "not in this backend (it has: finsight-test/finsight/prod)");
    assert.match(stack.fix ?? "", /^pulumi stack init demo /);
  });

  it("a stack whose name only ends like this one's is another stack", () => {
    const context = withPulumi(
      goodPulumi("demo", [{ args: "stack ls --json", stdout: '[{"name":"org/finsight/predemo"}]' }]),
    );
    assert.equal(pulumiLines(context)[2].status, "fail");
  });

  it("stack ls failing or printing something else fails with the reason", () => {
    const failing = withPulumi(
      goodPulumi("demo", [{ args: "stack ls --json", status: 1, stderr: "error: could not reach the backend\n" }]),
    );
    assert.equal(pulumiLines(failing)[2].detail, "pulumi stack ls failed: could not reach the backend");
    const garbage = withPulumi(goodPulumi("demo", [{ args: "stack ls --json", stdout: '{"name":"demo"}' }]));
    assert.equal(pulumiLines(garbage)[2].detail, "pulumi stack ls --json did not print a list");
  });
});
