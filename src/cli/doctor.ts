/**
 * `npm run doctor -- --stack prod [--read-only] [--json]`: checks, in the order they are fixed,
 * everything a `pulumi up` of the stack needs, one line each with the command that fixes it.
 * Reads only, except one blob upload that is started and cancelled to prove push rights
 * (`--read-only` skips it). Exits 0 only when every check passes.
 */
import { parseArgs } from "node:util";
import { formatReport } from "../doctor/report";
import { runDoctor } from "../doctor/run";
import { readStackConfig, UnknownStackError } from "../inputs/stack-files";
import { closestName, ReleaseConfigError } from "../model/errors";

export const USAGE = `usage: npm run doctor -- --stack <stack> [--read-only] [--json]

Checks everything \`pulumi up --stack <stack>\` needs, in the order to fix it, one line each.

  --stack <name>   the stack (a Pulumi.<name>.yaml in this directory)
  --read-only      start no blob upload (the push check is skipped)
  --json           the checks as JSON
  --help, -h       this text
`;

const OPTIONS = {
  stack: { type: "string" },
  "read-only": { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

class UsageError extends Error {}

function parse(argv: string[]): { help: true } | { help: false; stack: string; readOnly: boolean; json: boolean } {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS }));
  } catch (error) {
    const message = (error as Error).message.split("\n")[0];
    const unknown = /Unknown option '(--?[^']+)'/.exec(message)?.[1];
    const known = Object.keys(OPTIONS).map((name) => `--${name}`);
    const suggestion = unknown ? closestName(unknown, known) : undefined;
    throw new UsageError(suggestion ? `${message}: did you mean ${suggestion}?` : message);
  }
  if (values.help) return { help: true };
  if (!values.stack) throw new UsageError("--stack is required, such as --stack prod");
  return { help: false, stack: values.stack, readOnly: values["read-only"] ?? false, json: values.json ?? false };
}

export async function main(argv: string[], projectDir = process.cwd(), env = process.env): Promise<number> {
  try {
    const parsed = parse(argv);
    if (parsed.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    // The one unknown-stack check of the project (it names the stacks there are); a stack file that
    // does not parse is the settings line's to report, with the rest of the checks.
    try {
      readStackConfig(projectDir, parsed.stack);
    } catch (error) {
      if (error instanceof UnknownStackError || !(error instanceof ReleaseConfigError)) throw error;
    }
    const report = await runDoctor({
      projectDir,
      stack: parsed.stack,
      env,
      readOnly: parsed.readOnly,
      nodeVersion: process.versions.node,
      secrets: [],
    });
    process.stdout.write(parsed.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    return report.ok ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError || error instanceof UnknownStackError) {
      process.stderr.write(`error: ${error.message}\n${USAGE.split("\n")[0]} (--help for more)\n`);
      return 2;
    }
    // Never a stack trace: one line, and the exit status says the doctor itself failed.
    process.stderr.write(`error: npm run doctor failed: ${(error as Error)?.message ?? String(error)}\n`);
    return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
