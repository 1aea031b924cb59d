/**
 * Strict config through the real program: a key nobody reads, a secret key holding a plain value,
 * and a reviewer GitHub does not know each stop the run before the release declares anything.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertRefused, runProgram, UNKNOWN_LOGIN_PREFIX } from "../support/program";

const ENV = { RELEASE_VERSION: "1.4.0", SOURCE_DATE_EPOCH: "1795168800" };
const GITHUB = { owner: "acme", repository: "finsight" };

describe("unknown and misplaced keys are refused before anything is registered", () => {
  it("finsight:github with `reviewer` suggests reviewers", async () => {
    const run = await runProgram({
      stack: "prod",
      env: ENV,
      config: { "finsight:github": JSON.stringify({ ...GITHUB, reviewer: { users: ["alice"] } }) },
    });
    assertRefused(
      run,
      /^finsight:github\.reviewer is not a known setting, got "reviewer": did you mean finsight:github\.reviewers\? Known: /,
    );
    assert.equal(run.error?.message.split("\n").length, 1);
  });

  it("finsight:verison suggests finsight:version", async () => {
    assertRefused(
      await runProgram({ stack: "prod", env: ENV, config: { "finsight:verison": "1.5.0" } }),
      /^finsight:verison is not a known setting, got "verison": did you mean finsight:version\? Known: variant, version, /,
    );
  });

  it("a plaintext finsight:registryPassword is refused and its value is not shown", async () => {
    const password = "plain-text-registry-pw-7f3a";
    const run = await runProgram({
      stack: "prod",
      env: ENV,
      config: { "finsight:registryUsername": "release-bot", "finsight:registryPassword": password },
    });
    assertRefused(
      run,
      /^finsight:registryPassword must be a secret, got a plain value \(not shown\): run pulumi config set --secret finsight:registryPassword/,
    );
    assert.ok(!run.error?.message.includes(password), "the password must not be in the message");
    assert.ok(!run.error?.stack?.includes(password), "nor in the stack trace");
  });

  it("three bad settings at once: one error, one line each", async () => {
    const run = await runProgram({
      stack: "prod",
      env: ENV,
      config: {
        "finsight:verison": "1.5.0",
        "finsight:github": JSON.stringify({ ...GITHUB, reviewer: { users: ["alice"] } }),
        "finsight:registryPassword": "another-plain-pw",
        "finsight:registryUsername": "release-bot",
      },
    });
    assert.ok(run.error);
    assert.equal(run.error.name, "ReleaseConfigError");
    const lines = run.error.message.split("\n");
    assert.equal(lines.length, 3, run.error.message);
    assert.match(
      lines[0],
      /^finsight:github\.reviewer is not a known setting.*did you mean finsight:github\.reviewers\?/,
    );
    assert.equal(lines.filter((line) => /^finsight:verison is not a known setting/.test(line)).length, 1);
    assert.equal(lines.filter((line) => /^finsight:registryPassword must be a secret/.test(line)).length, 1);
    assert.doesNotMatch(run.error.message, /another-plain-pw/);
    assert.deepEqual(run.registered, []);
  });
});

describe("reviewers are resolved before the release is declared", () => {
  it("a login GitHub does not know fails the run; only the environment component and its provider exist", async () => {
    const ghost = `${UNKNOWN_LOGIN_PREFIX}reviewer`;
    const run = await runProgram({
      stack: "prod",
      env: ENV,
      config: {
        "finsight:github": JSON.stringify({ ...GITHUB, reviewers: { users: ["alice", ghost] } }),
      },
    });
    assert.ok(run.error, "the run must fail");
    assert.match(
      run.error.message,
      new RegExp(`^finsight:github\\.reviewers\\.users must name GitHub users that exist, got "${ghost}": .*404`),
    );
    assert.deepEqual(
      run.registered.map((r) => [r.type, r.name]),
      [
        ["finsight:github:Environment", "prod"],
        ["pulumi:providers:github", "prod-github"],
      ],
    );
  });
});
