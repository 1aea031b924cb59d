/**
 * Runs `npm run plan` (src/cli/plan.ts under tsx), or another command, as its own process and collects
 * what it printed.
 * Asynchronous on purpose: a fault proxy or registry served by the test's own process must keep
 * answering while the CLI runs. Every run is bounded in time and killed when it overruns.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";

export const PROJECT_DIR = path.resolve(__dirname, "../..");
const TSX = path.join(PROJECT_DIR, "node_modules", ".bin", "tsx");
const CLI = path.join(PROJECT_DIR, "src", "cli", "plan.ts");

export interface CliRun {
  /** Exit code; null when it was killed for overrunning `timeoutMs`. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time of the whole process, in ms. */
  elapsedMs: number;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}

export function runPlanCli(args: string[], options: RunOptions = {}): Promise<CliRun> {
  return runProcess(TSX, [CLI, ...args], { ...options, env: { PATH: process.env.PATH ?? "", ...options.env } });
}

/** Runs a command as its own process group, bounded in time, collecting both output streams. */
export function runProcess(command: string, args: string[], options: RunOptions = {}): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? PROJECT_DIR,
      env: options.env ?? {},
      stdio: ["ignore", "pipe", "pipe"],
      // A group of its own: tsx runs the CLI in a child process, and an overrun kills both.
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    }, options.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM"); // anything the command left running
      } catch {
        // the group is gone: the command stopped everything it started
      }
      resolve({ code: killed ? null : code, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });
}
