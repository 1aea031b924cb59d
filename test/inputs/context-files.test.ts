/**
 * Files read from the build context (VERSION, the ignore file) are read safely: only regular files
 * inside the context, a small size cap, never a FIFO, a device or a directory, and VERSION not at all
 * when another source decides the version. What could block forever is run in a child process with
 * a time limit, so a regression fails the test instead of hanging it.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { readSourceFacts } from "../../src/inputs/source-facts";
import { ReleaseConfigError } from "../../src/model/errors";
import { resolveVersion } from "../../src/plan/version";
import { GIT_ENV } from "../support/git";

const PROJECT_DIR = path.resolve(__dirname, "../..");
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function context(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "finsight-context-"));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

/** The error readSourceFacts throws for `dir`, or undefined; its message must be one line. */
function refusal(dir: string): ReleaseConfigError | undefined {
  try {
    readSourceFacts(dir, {});
    return undefined;
  } catch (error) {
    assert.ok(error instanceof ReleaseConfigError, `not a ReleaseConfigError: ${(error as Error).stack}`);
    assert.doesNotMatch(error.message, /\n/);
    return error;
  }
}

/**
 * readSourceFacts in a child process, killed after 10 s: `{ facts }`, `{ error }` (the message), or
 * `{ hung: true }`.
 */
function inChild(dir: string, readVersionFile: boolean): { facts?: unknown; error?: string; hung?: boolean } {
  const script = `
    const { readSourceFacts } = require(${JSON.stringify(path.join(PROJECT_DIR, "src/inputs/source-facts.ts"))});
    try {
      const facts = readSourceFacts(${JSON.stringify(dir)}, {}, "Dockerfile.backend", { readVersionFile: ${readVersionFile} });
      process.stdout.write(JSON.stringify({ facts }));
    } catch (error) {
      process.stdout.write(JSON.stringify({ error: error.message, name: error.name }));
    }`;
  const run = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
    cwd: PROJECT_DIR,
    encoding: "utf8",
    timeout: 10_000,
    killSignal: "SIGKILL",
  });
  if (run.signal === "SIGKILL") return { hung: true };
  return JSON.parse(run.stdout);
}

describe("VERSION and the ignore file: regular files inside the context only", () => {
  it("a VERSION symlink that leads out of the context is refused, naming the link; nothing it points at is read", () => {
    const outside = context({ secret: "TOKEN=ghp_leaked_secret_value\n" });
    for (const target of ["/proc/self/environ", path.join(outside, "secret"), "../"]) {
      const dir = context();
      fs.symlinkSync(target, path.join(dir, "VERSION"));
      const error = refusal(dir);
      assert.ok(error, `a VERSION linking to ${target} was read`);
      assert.match(
        error.message,
        new RegExp(`VERSION file ${path.join(dir, "VERSION")} is a symbolic link that leads out of the build context`),
      );
      assert.doesNotMatch(error.message, /ghp_leaked|PATH=|HOME=/);
    }
  });

  it("a symlink inside the context is followed", () => {
    const dir = context({ "RELEASE-VERSION": "1.4.0\n" });
    fs.symlinkSync("RELEASE-VERSION", path.join(dir, "VERSION"));
    assert.deepEqual(readSourceFacts(dir, {}).versionFile, { path: path.join(dir, "VERSION"), content: "1.4.0\n" });
  });

  it("a directory or a file over the size cap is refused in one line, its content never read", () => {
    const directory = context();
    fs.mkdirSync(path.join(directory, "VERSION"));
    assert.match(
      refusal(directory)?.message ?? "",
      /VERSION file .* must be a regular file of at most 1024 bytes, got a directory/,
    );
    const large = context();
    fs.writeFileSync(path.join(large, "VERSION"), "");
    fs.truncateSync(path.join(large, "VERSION"), 50 * 1024 * 1024); // sparse: no disk used
    assert.match(refusal(large)?.message ?? "", /must be a regular file of at most 1024 bytes, got 52428800 bytes/);
  });

  it("a FIFO or a device is refused at once when VERSION decides the version, and never opened when it does not", () => {
    const fifo = context();
    execFileSync("mkfifo", [path.join(fifo, "VERSION")]);
    const zero = context();
    fs.symlinkSync("/dev/zero", path.join(zero, "VERSION"));
    for (const [dir, got] of [
      [fifo, /got a FIFO/],
      [zero, /is a symbolic link that leads out of the build context/],
    ] as const) {
      const decided = inChild(dir, true);
      assert.equal(decided.hung, undefined, `reading ${dir}/VERSION hung`);
      assert.match(decided.error ?? "", got);
      const elsewhere = inChild(dir, false);
      assert.equal(elsewhere.hung, undefined, `${dir}/VERSION was read though another source decides the version`);
      assert.equal((elsewhere.facts as { versionFile?: unknown }).versionFile, undefined);
    }
  });

  it("an ignore file that is a FIFO is refused, not waited on", () => {
    const dir = context({ "Dockerfile.backend": "FROM scratch\n", VERSION: "1.4.0\n" });
    execFileSync("git", ["-C", dir, "init", "-q"], { env: { ...process.env, ...GIT_ENV } });
    execFileSync("git", ["-C", dir, "add", "-A"], { env: { ...process.env, ...GIT_ENV } });
    execFileSync("git", ["-C", dir, "commit", "-q", "-m", "x"], { env: { ...process.env, ...GIT_ENV } });
    execFileSync("mkfifo", [path.join(dir, ".dockerignore")]);
    const read = inChild(dir, false);
    assert.equal(read.hung, undefined, ".dockerignore as a FIFO hung the read");
    assert.match(
      read.error ?? "",
      /ignore file .*\.dockerignore must be a regular file of at most \d+ bytes, got a FIFO/,
    );
  });
});

describe("what a VERSION file holds reaches a message only when short and printable", () => {
  const file = (content: string) => ({ path: "/ctx/VERSION", content });
  const rejected = (content: string) => {
    try {
      resolveVersion({ env: {}, versionFile: file(content) });
    } catch (error) {
      return (error as Error).message;
    }
    assert.fail(`${JSON.stringify(content)} was accepted`);
  };

  it("a short, printable wrong value is quoted", () => {
    assert.match(rejected("1.4\n"), /VERSION file \/ctx\/VERSION must be a semantic version .*, got "1\.4\\n"/);
  });

  it("a long or unprintable one is described, not quoted", () => {
    const long = rejected(`${"A".repeat(300)}\n`);
    assert.match(long, /got 301 bytes that are not a version \(not shown\)/);
    assert.doesNotMatch(long, /AAAAAAAA/);
    const escapes = rejected("\u001b]0;owned\u0007 1.4.0");
    assert.match(escapes, /got \d+ bytes with unprintable characters \(not shown\)/);
    assert.doesNotMatch(escapes, /owned/);
  });
});
