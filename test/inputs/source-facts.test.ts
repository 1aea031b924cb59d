import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { readSourceFacts } from "../../src/inputs/source-facts";

describe("readSourceFacts", () => {
  const context = mkdtempSync(path.join(tmpdir(), "finsight-context-"));
  after(() => rmSync(context, { recursive: true, force: true }));
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", context, ...args], {
      encoding: "utf8",
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "FinSight release tests",
        GIT_AUTHOR_EMAIL: "release-tests@finsight.invalid",
        GIT_COMMITTER_NAME: "FinSight release tests",
        GIT_COMMITTER_EMAIL: "release-tests@finsight.invalid",
        GIT_AUTHOR_DATE: "2026-11-20T10:00:00Z",
        GIT_COMMITTER_DATE: "2026-11-20T10:00:00Z",
      },
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
});
