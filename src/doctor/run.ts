import { checkBuilder } from "./builder";
import type { DoctorContext } from "./context";
import { checkGitHub } from "./github";
import { checkRegistry } from "./registry";
import { type CheckResult, type DoctorReport, fail, redactReport } from "./report";
import { checkCheckout, checkPlaceholders, checkSettings } from "./stack-files";
import { checkLogin, checkNode, checkPulumiCli, checkStack } from "./toolchain";

type Check = (context: DoctorContext) => CheckResult | CheckResult[] | Promise<CheckResult | CheckResult[]>;

/**
 * Every check, in the order a user fixes them: the tools, the Pulumi backend and stack, the stack's
 * own file, the application checkout, the registry, the builder, then GitHub. A later check that
 * needs an earlier one's answer says so instead of guessing.
 */
const CHECKS: [string, Check][] = [
  ["node", checkNode],
  ["pulumi-cli", checkPulumiCli],
  ["pulumi-login", checkLogin],
  ["pulumi-stack", checkStack],
  ["settings", checkSettings],
  ["placeholders", checkPlaceholders],
  ["checkout", checkCheckout],
  ["registry", checkRegistry],
  ["builder", checkBuilder],
  ["github", checkGitHub],
];

export async function runDoctor(context: DoctorContext): Promise<DoctorReport> {
  const checks: CheckResult[] = [];
  for (const [id, check] of CHECKS) {
    try {
      const result = await check(context);
      checks.push(...(Array.isArray(result) ? result : [result]));
    } catch (error) {
      // A check that breaks is a failed line, never a stack trace (and its message is redacted below).
      checks.push(
        fail(
          id,
          id,
          `the check itself failed: ${(error as Error)?.message ?? String(error)}`,
          "report this with the line above",
        ),
      );
    }
  }
  const report: DoctorReport = {
    stack: context.stack,
    readOnly: context.readOnly,
    ok: checks.every((check) => check.status !== "fail"),
    checks,
  };
  return redactReport(report, context.secrets);
}
