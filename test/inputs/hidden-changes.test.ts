/**
 * Promise 6: the clean-tree check looks at the files the build would send, as they are on disk. Git
 * can be told not to look (skip-worktree, assume-unchanged, an ignore rule, core.fileMode=false);
 * the build still sends the file, so each is an uncommitted change, named.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { readSourceFacts } from "../../src/inputs/source-facts";
import { PROJECT_DIR, runProcess } from "../support/cli";
import { GIT_ENV } from "../support/git";

function checkout(files: Record<string, string>): { dir: string; git: (...args: string[]) => string } {
  const dir = mkdtempSync(path.join(tmpdir(), "finsight-hidden-"));
  dirs.push(dir);
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", env: { ...process.env, ...GIT_ENV } }).trim();
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "FinSight backend");
  return { dir, git };
}
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("the clean-tree check cannot be told not to look", () => {
  const files = { "Dockerfile.backend": "FROM scratch\n", "app.py": "print('finsight')\n" };

  it("an edit hidden by git update-index --skip-worktree is uncommitted, named", () => {
    const { dir, git } = checkout(files);
    writeFileSync(path.join(dir, "Dockerfile.backend"), "FROM scratch\nLABEL edited=yes\n");
    git("update-index", "--skip-worktree", "Dockerfile.backend");
    assert.equal(git("status", "--porcelain"), "", "git itself reports a clean tree");
    assert.deepEqual(readSourceFacts(dir, {}).uncommitted, ["Dockerfile.backend (skip-worktree)"]);
  });

  it("an edit hidden by --assume-unchanged is uncommitted, named", () => {
    const { dir, git } = checkout(files);
    writeFileSync(path.join(dir, "app.py"), "print('not what was committed')\n");
    git("update-index", "--assume-unchanged", "app.py");
    assert.equal(git("status", "--porcelain"), "");
    assert.deepEqual(readSourceFacts(dir, {}).uncommitted, ["app.py (assume-unchanged)"]);
  });

  it("a file deleted under skip-worktree (the build would not send it) is uncommitted, named", () => {
    const { dir, git } = checkout(files);
    git("update-index", "--skip-worktree", "app.py");
    rmSync(path.join(dir, "app.py"));
    assert.deepEqual(readSourceFacts(dir, {}).uncommitted, ["app.py (skip-worktree)"]);
  });

  it("a mode change git is told to ignore (core.fileMode=false) is uncommitted: the build sends the mode", () => {
    const { dir, git } = checkout(files);
    git("config", "core.fileMode", "false");
    chmodSync(path.join(dir, "app.py"), 0o755);
    assert.equal(git("status", "--porcelain"), "");
    assert.deepEqual(readSourceFacts(dir, {}).uncommitted, ["app.py"]);
  });

  it("an untracked file that .gitignore hides is uncommitted unless .dockerignore excludes it", () => {
    const { dir, git } = checkout({
      ...files,
      ".gitignore": "secrets.env\nbuild.log\n",
      ".dockerignore": "build.log\n",
    });
    writeFileSync(path.join(dir, "secrets.env"), "TOKEN=x\n");
    writeFileSync(path.join(dir, "build.log"), "noise\n");
    assert.equal(git("status", "--porcelain"), "");
    assert.deepEqual(readSourceFacts(dir, {}).uncommitted, ["secrets.env"]);
  });

  it("in a context that is one folder of a larger repository, the hidden edit is named relative to the context", () => {
    const { dir, git } = checkout({ "README.md": "monorepo\n" });
    mkdirSync(path.join(dir, "backend"));
    writeFileSync(path.join(dir, "backend", "Dockerfile.backend"), "FROM scratch\n");
    git("add", "-A");
    git("commit", "-q", "-m", "the backend");
    writeFileSync(path.join(dir, "backend", "Dockerfile.backend"), "FROM scratch\nLABEL edited=yes\n");
    git("update-index", "--skip-worktree", "backend/Dockerfile.backend");
    assert.deepEqual(readSourceFacts(path.join(dir, "backend"), {}).uncommitted, [
      "Dockerfile.backend (skip-worktree)",
    ]);
  });

  it("a flagged file whose content is unchanged is clean: the flag alone changes nothing the build sends", () => {
    const { dir, git } = checkout(files);
    git("update-index", "--skip-worktree", "Dockerfile.backend");
    git("update-index", "--assume-unchanged", "app.py");
    assert.deepEqual(readSourceFacts(dir, {}).uncommitted, []);
  });
});

describe("a hidden file that is not a regular file on disk never hangs the check", () => {
  it("a FIFO in place of a skip-worktree file is uncommitted, named, at once", async () => {
    const { dir, git } = checkout({ "Dockerfile.backend": "FROM scratch\n", "app.py": "print('finsight')\n" });
    git("update-index", "--skip-worktree", "app.py");
    rmSync(path.join(dir, "app.py"));
    execFileSync("mkfifo", [path.join(dir, "app.py")]);
    // In a child process, bounded: git hash-object opens a FIFO and waits for a writer forever.
    const run = await runProcess(
      path.join(PROJECT_DIR, "node_modules", ".bin", "tsx"),
      [
        "-e",
        `const { readSourceFacts } = require(${JSON.stringify(path.join(PROJECT_DIR, "src/inputs/source-facts.ts"))});
         console.log(JSON.stringify(readSourceFacts(${JSON.stringify(dir)}, {}).uncommitted));`,
      ],
      { env: { PATH: process.env.PATH ?? "" }, timeoutMs: 15_000 },
    );
    assert.notEqual(run.code, null, "reading the source facts hung on a FIFO");
    assert.equal(run.stdout.trim(), JSON.stringify(["app.py (skip-worktree)"]), run.stderr);
  });
});
