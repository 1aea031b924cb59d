import { redactCredentials } from "../registry/client";

/**
 * One line of `npm run doctor`: what was checked, what was found, and the command that fixes it.
 * `skip` is a check that does not apply to this stack or run (`--read-only`, no GitHub environment);
 * it never counts as a failure, and never as a pass either: the line says why it was not checked.
 */
type CheckStatus = "pass" | "fail" | "skip";

export interface CheckResult {
  /** Stable id for --json readers: `pulumi-cli`, `registry-push`, … */
  id: string;
  /** What is checked, in a few words. */
  title: string;
  status: CheckStatus;
  /** What was found (on a pass) or what is wrong (on a failure). */
  detail: string;
  /** The command (or setting) that fixes a failure. */
  fix?: string;
}

export interface DoctorReport {
  stack: string;
  readOnly: boolean;
  /** True only when no check failed. */
  ok: boolean;
  checks: CheckResult[];
}

export const pass = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: "pass", detail });
export const fail = (id: string, title: string, detail: string, fix?: string): CheckResult => ({
  id,
  title,
  status: "fail",
  detail,
  ...(fix ? { fix } : {}),
});
export const skip = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: "skip", detail });

/**
 * Every text of the report passes here before it is printed: the registry client's one redaction step
 * (Authorization values, basic pairs, JWTs, token fields) plus the secret values this run held.
 */
export function redactReport(report: DoctorReport, secrets: readonly string[]): DoctorReport {
  const clean = (text: string) => redactCredentials(text, secrets);
  return {
    ...report,
    checks: report.checks.map((check) => ({
      ...check,
      detail: clean(check.detail),
      ...(check.fix ? { fix: clean(check.fix) } : {}),
    })),
  };
}

const MARKS: Record<CheckStatus, string> = { pass: "✔", fail: "✘", skip: "-" };

/** One line per check: mark, title, what was found, and for a failure the fix. */
export function formatReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((check) => check.title.length));
  const lines = report.checks.map((check) => {
    const fix = check.status === "fail" && check.fix ? `  → ${check.fix}` : "";
    return `${MARKS[check.status]} ${check.title.padEnd(width)}  ${check.detail}${fix}`;
  });
  const failed = report.checks.filter((check) => check.status === "fail").length;
  const skipped = report.checks.filter((check) => check.status === "skip").length;
  const passed = report.checks.length - failed - skipped;
  lines.push(
    "",
    failed === 0
      ? `stack ${report.stack}: ready for pulumi up (${passed} passed${skipped ? `, ${skipped} not checked` : ""})`
      : `stack ${report.stack}: ${failed} to fix, in the order above (${passed} passed${skipped ? `, ${skipped} not checked` : ""})`,
  );
  return lines.join("\n");
}
