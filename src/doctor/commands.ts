import { spawnSync } from "node:child_process";

/** What a command said, or that it could not be run at all. */
export type CommandResult =
  | { ran: true; status: number; stdout: string; stderr: string }
  | { ran: false; why: "missing" | "timeout" | "error"; message: string };

/**
 * Runs a command the way a user's shell would find it (this run's PATH), bounded in time, its output
 * captured and never echoed: whatever it prints (a `pulumi config get` of a secret) stays here.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs?: number },
): CommandResult {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env,
    encoding: "utf8",
    timeout: options.timeoutMs ?? 20_000,
    // SIGKILL, not the default SIGTERM: a command that ignores SIGTERM would hold the doctor forever.
    killSignal: "SIGKILL",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 16 * 1024 * 1024,
  });
  const error = result.error as NodeJS.ErrnoException | undefined;
  if (error?.code === "ENOENT") return { ran: false, why: "missing", message: `${command} is not on PATH` };
  if (error?.code === "ETIMEDOUT" || result.signal === "SIGKILL") {
    return {
      ran: false,
      why: "timeout",
      message: `${command} ${args.join(" ")} gave no answer within ${(options.timeoutMs ?? 20_000) / 1000} s`,
    };
  }
  if (error) return { ran: false, why: "error", message: `${command} could not be run: ${error.message}` };
  return { ran: true, status: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** The first meaningful line a failed command printed, for a one-line report. */
export function firstLine(result: CommandResult): string {
  if (!result.ran) return result.message;
  const text = `${result.stderr}\n${result.stdout}`
    .split("\n")
    .map((line) => line.trim())
    .find((line) => line !== "");
  return text ? text.replace(/^error:\s*/i, "") : `exit status ${result.status}`;
}
