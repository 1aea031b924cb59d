/**
 * No stack trace, ever: `npm run plan` and the program (index.ts under the mock runtime, its error
 * printed as the Pulumi CLI prints it) over a corpus of bad inputs, odd files in the build context,
 * malformed docker configs and stack files. Every output is checked for a stack frame (`    at `);
 * each run is bounded in time, so a read that blocks fails the test instead of hanging it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { runPlanCli } from "../support/cli";
import { makeContext, PROJECT_DIR, printedError, runProgram } from "../support/program";

const ENV = { GITHUB_SHA: "4f2a9c0e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39", SOURCE_DATE_EPOCH: "1795168800" };
/** Set in every run's environment: a VERSION that leaks the environment would print it. */
const CANARY = "FINSIGHT_CANARY=canary-d41d8cd98f00b204";
const STACK_FRAME = /^ {4}at /m;

const scratch: string[] = [];
after(() => {
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
};

/** A build context whose VERSION is made odd by `make` (after the commit, so the checkout is otherwise clean). */
function contextWith(make: (version: string) => void): string {
  const dir = makeContext();
  make(path.join(dir, "VERSION"));
  return dir;
}

function dockerConfig(text: string): string {
  const dir = tempDir("finsight-docker-");
  fs.writeFileSync(path.join(dir, "config.json"), text);
  return dir;
}

interface BadInput {
  name: string;
  /** The build context (a clean checkout by default). */
  context?: () => string;
  config?: Record<string, string>;
  env?: Record<string, string>;
  dockerConfig?: () => string;
  /** What the one-line error must say; undefined when the run must succeed (the odd input is not read). */
  error?: RegExp;
  /** Blocks forever if read: only the CLI (its own process, killed on overrun) runs it. */
  blocking?: boolean;
}

const CORPUS: BadInput[] = [
  {
    name: "VERSION is a directory (the version source)",
    context: () => contextWith((file) => fs.mkdirSync(file)),
    error: /VERSION file .* must be a regular file of at most 1024 bytes, got a directory/,
  },
  {
    name: "VERSION is a directory, RELEASE_VERSION decides",
    context: () => contextWith((file) => fs.mkdirSync(file)),
    env: { RELEASE_VERSION: "1.4.0" },
  },
  {
    name: "VERSION is a FIFO, RELEASE_VERSION decides",
    context: () => contextWith((file) => execFileSync("mkfifo", [file])),
    env: { RELEASE_VERSION: "1.4.0" },
    blocking: true,
  },
  {
    name: "VERSION is a FIFO (the version source)",
    context: () => contextWith((file) => execFileSync("mkfifo", [file])),
    error: /VERSION file .* got a FIFO/,
    blocking: true,
  },
  {
    name: "VERSION links to /dev/zero, finsight:version decides",
    context: () => contextWith((file) => fs.symlinkSync("/dev/zero", file)),
    config: { "finsight:version": "1.4.0" },
    blocking: true,
  },
  {
    name: "VERSION links to /proc/self/environ (the version source)",
    context: () => contextWith((file) => fs.symlinkSync("/proc/self/environ", file)),
    error: /VERSION file .*VERSION is a symbolic link that leads out of the build context/,
  },
  {
    name: "VERSION is 600 MB (sparse)",
    context: () =>
      contextWith((file) => {
        fs.writeFileSync(file, "");
        fs.truncateSync(file, 600 * 1024 * 1024);
      }),
    error: /VERSION file .* got 629145600 bytes/,
  },
  {
    name: "VERSION holds 50 MB of text",
    context: () => contextWith((file) => fs.writeFileSync(file, Buffer.alloc(50 * 1024 * 1024, "1"))),
    error: /VERSION file .* got 52428800 bytes/,
  },
  {
    name: "docker config.json is null",
    dockerConfig: () => dockerConfig("null"),
    env: { RELEASE_VERSION: "1.4.0" },
    error: /config\.json must be a JSON object/,
  },
  {
    name: 'docker config.json has "auth": 5',
    dockerConfig: () => dockerConfig('{"auths": {"127.0.0.1:9": {"auth": 5}, "ghcr.io": {"auth": 5}}}'),
    env: { RELEASE_VERSION: "1.4.0" },
    error: /auth must be base64 of user:password, got a number/,
  },
  {
    name: "credentials inside finsight:registry",
    config: { "finsight:registry": "bot:hunter2hunter2@ghcr.io/acme" },
    env: { RELEASE_VERSION: "1.4.0" },
    error: /finsight:registry must not hold credentials/,
  },
  {
    name: "finsight:version 1.4 with other bad settings",
    config: { "finsight:version": "1.4", "finsight:variant": "ful", "finsight:registryDeadline": "soon" },
    error:
      /^(?=[\s\S]*finsight:version must be .*got "1\.4")(?=[\s\S]*finsight:variant must be)(?=[\s\S]*finsight:registryDeadline must be)/,
  },
];

describe("npm run plan over bad input: one line per problem, never a stack trace, never a hang", () => {
  for (const input of CORPUS) {
    it(input.name, async () => {
      const context = input.context?.() ?? makeContext();
      const docker = input.dockerConfig?.() ?? tempDir("finsight-docker-");
      const args = ["--stack", "prod", "--config", `finsight:context=${context}`];
      for (const [key, value] of Object.entries(input.config ?? {})) args.push("--config", `${key}=${value}`);
      const run = await runPlanCli(args, {
        env: { ...ENV, ...input.env, DOCKER_CONFIG: docker, [CANARY.split("=")[0]]: CANARY.split("=")[1] },
        timeoutMs: 20_000,
      });
      const printed = `${run.stdout}\n${run.stderr}`;
      assert.notEqual(run.code, null, `still running after 20 s: ${printed.slice(0, 300)}`);
      assert.doesNotMatch(printed, STACK_FRAME);
      assert.ok(!printed.includes(CANARY.split("=")[1]), "the process environment was printed");
      assert.ok(printed.length < 20_000, `printed ${printed.length} characters`);
      if (input.error) {
        assert.equal(run.code, 1, printed);
        assert.match(run.stderr, input.error);
        for (const line of run.stderr.trim().split("\n")) assert.match(line, /^error: /);
      } else {
        assert.equal(run.code, 0, printed);
      }
    });
  }

  it("a malformed stack file", async () => {
    const project = tempDir("finsight-project-");
    fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
    fs.writeFileSync(path.join(project, "Pulumi.broken.yaml"), "config:\n  finsight:variant: [full\n");
    const run = await runPlanCli(["--stack", "broken"], { cwd: project, env: ENV, timeoutMs: 20_000 });
    assert.equal(run.code, 1, run.stderr);
    assert.doesNotMatch(`${run.stdout}${run.stderr}`, STACK_FRAME);
    assert.match(run.stderr, /^error: Pulumi\.broken\.yaml is not valid YAML/);
  });
});

describe("the program over bad input: the Pulumi CLI would print one line per problem, never a stack trace", () => {
  // A blocking read would block this process too, where no time limit can stop it: those inputs run
  // through the CLI above, in a process of its own.
  for (const input of CORPUS.filter((entry) => !entry.blocking)) {
    it(input.name, async () => {
      const run = await runProgram({
        stack: "prod",
        offline: true,
        env: {
          ...ENV,
          ...input.env,
          ...(input.dockerConfig ? { DOCKER_CONFIG: input.dockerConfig() } : {}),
        },
        config: { "finsight:context": input.context?.() ?? makeContext(), ...input.config },
      });
      const printed = [run.error ? printedError(run.error) : "", ...run.warnings, ...run.infos].join("\n");
      assert.doesNotMatch(printed, STACK_FRAME);
      assert.doesNotMatch(printed, /\bPATH=\//, "the process environment was printed");
      assert.ok(printed.length < 20_000, `printed ${printed.length} characters`);
      // Offline, a run that gets past its input fails at the registry read, also in one line.
      assert.match(printed, input.error ?? /the registry could not be read/);
    });
  }
});
