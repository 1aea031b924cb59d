import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { readSourceFacts } from "../../src/inputs/source-facts";
import { GIT_ENV } from "../support/git";

describe("readSourceFacts", () => {
  const context = mkdtempSync(path.join(tmpdir(), "finsight-context-"));
  after(() => rmSync(context, { recursive: true, force: true }));
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", context, ...args], {
      encoding: "utf8",
      env: { ...process.env, ...GIT_ENV },
    }).trim();

  it("a directory that is not a checkout gives GITHUB_SHA and no commit time", () => {
    writeFileSync(path.join(context, "VERSION"), "1.4.0\n");
    const facts = readSourceFacts(context, { GITHUB_SHA: "abc1234" });
    assert.deepEqual(facts.versionFile, { path: path.join(context, "VERSION"), content: "1.4.0\n" });
    assert.equal(facts.revision, "abc1234");
    assert.equal(facts.commitEpoch, undefined);
  });

  it("a checkout gives its own HEAD and the commit's time, not the clock", () => {
    git("init", "-q");
    git("add", "VERSION");
    git("commit", "-q", "-m", "release 1.4.0");
    const head = git("rev-parse", "HEAD");
    const facts = readSourceFacts(context, { GITHUB_SHA: "the-workflow-commit" });
    assert.equal(facts.revision, head);
    assert.equal(facts.commitEpoch, Date.parse("2026-11-20T10:00:00Z") / 1000);
  });

  it("SOURCE_DATE_EPOCH wins over the commit time", () => {
    assert.equal(readSourceFacts(context, { SOURCE_DATE_EPOCH: "1700000000" }).commitEpoch, 1700000000);
  });

  it("a missing context yields nothing but that fact: the plan says so, and a pushing release refuses it", () => {
    assert.deepEqual(readSourceFacts(path.join(context, "absent"), {}), {
      contextExists: false,
      revision: undefined,
      uncommitted: [],
    });
  });

  it("names the context's content by git tree: the same on a fresh clone elsewhere, its own inside a larger repository", () => {
    const repo = mkdtempSync(path.join(tmpdir(), "finsight-monorepo-"));
    try {
      const inRepo = (...args: string[]) =>
        execFileSync("git", ["-C", repo, ...args], { encoding: "utf8", env: { ...process.env, ...GIT_ENV } }).trim();
      mkdirSync(path.join(repo, "backend"));
      writeFileSync(path.join(repo, "backend", "Dockerfile.backend"), "FROM scratch\n");
      writeFileSync(path.join(repo, "README.md"), "monorepo\n");
      inRepo("init", "-q", "-b", "main");
      inRepo("add", "-A");
      inRepo("commit", "-q", "-m", "one");
      const first = readSourceFacts(path.join(repo, "backend"), {});
      assert.equal(first.tree, inRepo("rev-parse", "HEAD:backend"));
      // A commit elsewhere in the repository changes the revision, not the context's tree.
      writeFileSync(path.join(repo, "README.md"), "monorepo, edited\n");
      inRepo("commit", "-qam", "two");
      const second = readSourceFacts(path.join(repo, "backend"), {});
      assert.notEqual(second.revision, first.revision);
      assert.equal(second.tree, first.tree);
      // A fresh clone on another path gives the same tree.
      const clone = `${repo}-clone`;
      execFileSync("git", ["clone", "-q", repo, clone]);
      try {
        assert.equal(readSourceFacts(path.join(clone, "backend"), {}).tree, first.tree);
      } finally {
        rmSync(clone, { recursive: true, force: true });
      }
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it("lists what the build would include beyond the commit: tracked changes, and untracked files .dockerignore keeps", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "finsight-dirty-"));
    try {
      const inDir = (...args: string[]) =>
        execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", env: { ...process.env, ...GIT_ENV } }).trim();
      writeFileSync(path.join(dir, "Dockerfile.backend"), "FROM scratch\n");
      writeFileSync(path.join(dir, "app.py"), "print(1)\n");
      writeFileSync(path.join(dir, ".dockerignore"), "*.log\nnotes/\n");
      writeFileSync(path.join(dir, ".gitignore"), ".env\n");
      inDir("init", "-q", "-b", "main");
      inDir("add", "-A");
      inDir("commit", "-q", "-m", "clean");
      assert.deepEqual(readSourceFacts(dir, {}).uncommitted, []);
      writeFileSync(path.join(dir, "app.py"), "print(2)\n"); // tracked, changed
      writeFileSync(path.join(dir, "debug.log"), "x\n"); // untracked, excluded by .dockerignore
      mkdirSync(path.join(dir, "notes"));
      writeFileSync(path.join(dir, "notes", "todo.txt"), "x\n"); // untracked, excluded by .dockerignore
      writeFileSync(path.join(dir, ".env"), "SECRET=1\n"); // git-ignored, but the build would send it
      writeFileSync(path.join(dir, "model.bin"), "x\n"); // untracked, included
      assert.deepEqual(readSourceFacts(dir, {}).uncommitted, [".env", "app.py", "model.bin"]);
      // A Dockerfile-specific ignore file wins over .dockerignore, as BuildKit applies it.
      writeFileSync(path.join(dir, "Dockerfile.backend.dockerignore"), "*.bin\n.env\n");
      assert.deepEqual(readSourceFacts(dir, {}).uncommitted, [
        "Dockerfile.backend.dockerignore",
        "app.py",
        "debug.log",
        "notes/todo.txt",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
