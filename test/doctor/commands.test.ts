import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { runCommand } from "../../src/doctor/commands";
import { tempDir } from "../support/temp";

describe("doctor: every command it runs is bounded in time", () => {
  it("a command that ignores SIGTERM is still stopped at the time limit", () => {
    const bin = tempDir("finsight-doctor-stubborn-");
    // A stand-in that shrugs off the polite signal and would otherwise run for 30 s.
    fs.writeFileSync(path.join(bin, "pulumi"), '#!/bin/sh\ntrap "" TERM\nexec sleep 30\n', { mode: 0o755 });
    const started = Date.now();
    const result = runCommand("pulumi", ["version"], {
      env: { PATH: `${bin}:/usr/bin:/bin` },
      cwd: bin,
      timeoutMs: 1000,
    });
    const elapsed = Date.now() - started;
    assert.deepEqual(result, { ran: false, why: "timeout", message: "pulumi version gave no answer within 1 s" });
    assert.ok(elapsed < 6000, `stopped after ${elapsed} ms`);
  });
});
