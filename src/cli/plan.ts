/**
 * `npm run plan -- --stack local [--version 1.5.0-rc.1] [--config finsight:pin=1.3.2] [--registry] [--json]`:
 * prints what `pulumi up` would build, push and re-point for a stack, from the shipped stack files
 * and the same planning code as the program, without the Pulumi CLI or Docker. Offline by default;
 * `--registry` reads the registry (with the ambient docker login) as `pulumi up` does.
 */
import { parseArgs } from "node:util";
import { SemVer } from "semver";
import { assembleInputs } from "../inputs/release-inputs";
import { projectName, qualifyKey, readStackConfig, UnknownStackError } from "../inputs/stack-files";
import { ReleaseConfigError } from "../model/errors";
import { releasePipeline } from "../pipeline";
import type { ReleasePlan } from "../plan/release-plan";

export const USAGE = `usage: npm run plan -- --stack <stack> [options]

Prints what \`pulumi up --stack <stack>\` would build, push and re-point, without Pulumi, Docker or credentials.

  --stack <name>          the stack (a Pulumi.<name>.yaml in this directory)
  --version <semver>      the release version, instead of finsight:version / RELEASE_VERSION / VERSION
  --phase candidate       a candidate run: push the exact tags only (as FINSIGHT_PHASE=candidate does)
  --promote-digest <d>    promote exactly this verified candidate digest (as FINSIGHT_PROMOTE_DIGEST does)
  --config, -c key=value  a config override, as pulumi preview --config takes it (pin=1.3.2 means finsight:pin)
  --registry              read the registry with your docker login and apply the same guards as pulumi up;
                          exits 1 when the registry cannot be read
  --json                  the plan as JSON
  --help, -h              this text
`;

export interface PlanOptions {
  version?: string;
  /** Per-run intents, as the environment gives them to `pulumi up` (never saved in a stack file). */
  intent?: { FINSIGHT_PHASE?: string; FINSIGHT_PROMOTE_DIGEST?: string };
  /** Config overrides; bare keys are qualified with the project name, as the Pulumi CLI does. */
  config?: Record<string, string>;
  /** Read the registry as `pulumi up` does; otherwise the plan says it was not read. */
  readRegistry?: boolean;
}

export async function planForStack(
  projectDir: string,
  stack: string,
  processEnv: NodeJS.ProcessEnv,
  options: PlanOptions = {},
): Promise<ReleasePlan> {
  const { values, secretKeys } = readStackConfig(projectDir, stack);
  const project = projectName(projectDir);
  for (const [key, value] of Object.entries(options.config ?? {})) {
    const qualified = qualifyKey(project, key);
    values[qualified] = value;
    secretKeys.delete(qualified);
  }
  const assembled = assembleInputs({
    stack,
    config: { values, secretKeys },
    processEnv: { ...processEnv, ...options.intent },
    preview: true,
    ...(options.version ? { versionFlag: options.version } : {}),
  });
  const { plan } = await releasePipeline(
    assembled,
    options.readRegistry
      ? { readRegistry: true }
      : { readRegistry: false, notRead: "npm run plan reads the registry only with --registry" },
  );
  return plan;
}

const list = (items: readonly string[]) => (items.length ? items.join(", ") : "-");
const pairs = (record: Record<string, string>) => Object.entries(record).map(([k, v]) => `${k}=${v}`);
const cacheText = (entry: object) =>
  Object.entries(entry)
    .map(([type, fields]) => `${type} ${Object.values(fields as Record<string, unknown>)[0]}`)
    .join("");

const PHASES: Record<ReleasePlan["phase"], string> = {
  release: "release: build the candidate, push its exact tags and promote it in one run",
  candidate: "candidate: build and push the exact tags only; floating tags and FINSIGHT_BACKEND_IMAGE stay",
  promote: "promote: the candidate is in the registry; nothing is built, the floating tags move to its digest",
  rollback: "rollback: nothing is built; the floating tags move to the pinned release",
};

function servedText(plan: ReleasePlan): string {
  const { served } = plan;
  if (served.kind === "candidate") return `${plan.releaseTag}@<digest of this build>`;
  if (served.kind === "image") return served.ref;
  return served.ref ? `${served.ref} (unchanged)` : "nothing promoted yet (unchanged)";
}

export function formatPlan(plan: ReleasePlan): string {
  const candidate =
    plan.candidate.source === "registry"
      ? `${plan.releaseTag}@${plan.candidate.digest} (in the registry: not built, not pushed)`
      : plan.candidate.source === "build"
        ? `${plan.releaseTag} (built by this run)`
        : `${plan.releaseTag} (not known: the registry was not read)`;
  const rows: [string, string][] = [
    ["stack", `${plan.stack} (variant ${plan.variant})`],
    ["phase", PHASES[plan.phase]],
    ["version", `${plan.version.text} (from ${plan.version.source})`],
    ["repository", plan.repository.name],
    ["candidate", candidate],
    ["serves", servedText(plan)],
    ["exact tags", list(plan.tags.exact)],
    ["floating tags", list(plan.tags.floating)],
    ...(plan.pin ? [["pinned", `${plan.pin.version}: ${servedText(plan)}`] as [string, string]] : []),
    [
      "registry",
      plan.registry.status === "read"
        ? `read (${plan.registry.requests} requests), released: ${list(plan.registry.released)}`
        : `${plan.registry.status}: ${plan.registry.reason}`,
    ],
    ...plan.tags.skipped.map((skip): [string, string] => ["not tagged", `${skip.template}: ${skip.reason}`]),
  ];
  for (const build of plan.builds) {
    rows.push(
      ["image", `${build.name} (${list(build.platforms)})${build.push ? ", pushed" : ", not pushed"}`],
      ["  tags", list(build.tags)],
      [
        "  dockerfile",
        `${build.dockerfile.location} in ${build.context.location}${build.target ? `, target ${build.target}` : ""}`,
      ],
      ["  build args", list(pairs(build.buildArgs))],
      ["  builder", build.builder?.name ?? "default"],
      ["  preview build", build.buildOnPreview ? "yes" : "no"],
      ["  cache from", list(build.cacheFrom.map(cacheText))],
      ["  cache to", list(build.cacheTo.map(cacheText))],
      ...pairs(build.labels).map((label): [string, string] => ["  label", label]),
    );
  }
  for (const index of plan.indexes) rows.push(["index", `${index.tag} <- ${list(index.sources)}`]);
  for (const tag of plan.floatingTags) {
    const target = tag.target.kind === "release" ? "this release" : (tag.target.version ?? tag.target.reference);
    rows.push([`tag ${tag.tag}`, `-> ${target}: ${tag.reason}`]);
  }
  if (plan.github) {
    const env = plan.github;
    const reviewerText = (refs: typeof env.users) => refs.map((ref) => ("id" in ref ? `#${ref.id}` : ref.name));
    rows.push(
      ["environment", `${env.owner}/${env.repository} ${env.environment}`],
      ["  reviewers", list([...reviewerText(env.users), ...reviewerText(env.teams).map((team) => `team ${team}`)])],
      [
        "  deploy from",
        list([...env.branchPatterns.map((b) => `branch ${b}`), ...env.tagPatterns.map((t) => `tag ${t}`)]),
      ],
      ["  secrets", list(env.secrets.map((secret) => `${secret.name} <- finsight:${secret.configKey}`))],
      [
        "  variables",
        list(
          Object.entries(env.variables).map(([name, value]) =>
            env.kept.includes(name) ? `${name} (kept as it is; ${value} if GitHub has none)` : `${name}=${value}`,
          ),
        ),
      ],
    );
  }
  for (const note of plan.notes) rows.push(["note", note]);
  for (const warning of plan.warnings) rows.push(["warning", warning]);
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n");
}

/** The plan as JSON; a version's parsed form (SemVer) is left out: its canonical text is beside it. */
export function planJson(plan: ReleasePlan): string {
  return JSON.stringify(plan, (key, value) => (key === "semver" && value instanceof SemVer ? undefined : value), 2);
}

const OPTIONS = {
  stack: { type: "string" },
  version: { type: "string" },
  phase: { type: "string" },
  "promote-digest": { type: "string" },
  config: { type: "string", short: "c", multiple: true },
  registry: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

type Parsed = { help: true } | { help: false; stack: string; options: PlanOptions; json: boolean };

/** The command line, or a one-line error (exit 2): never a stack trace for a typo. */
export function parseCommandLine(argv: string[]): Parsed {
  let parsedArgs: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>;
  try {
    parsedArgs = parseArgs({ args: argv, options: OPTIONS });
  } catch (error) {
    // node:util's own message names the option (ERR_PARSE_ARGS_UNKNOWN_OPTION and friends).
    throw new UsageError((error as Error).message.split("\n")[0]);
  }
  const { values } = parsedArgs;
  if (values.help) return { help: true };
  const config: Record<string, string> = {};
  for (const pair of values.config ?? []) {
    const equals = pair.indexOf("=");
    if (equals <= 0)
      throw new UsageError(`--config takes key=value, such as finsight:pin=1.3.2, got ${JSON.stringify(pair)}`);
    config[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  if (!values.stack) throw new UsageError("--stack is required, such as --stack local");
  return {
    help: false,
    stack: values.stack,
    json: values.json ?? false,
    options: {
      ...(values.version ? { version: values.version } : {}),
      intent: {
        ...(values.phase !== undefined ? { FINSIGHT_PHASE: values.phase } : {}),
        ...(values["promote-digest"] !== undefined ? { FINSIGHT_PROMOTE_DIGEST: values["promote-digest"] } : {}),
      },
      config,
      readRegistry: values.registry ?? false,
    },
  };
}

export class UsageError extends Error {}

export async function main(argv: string[], projectDir = process.cwd()): Promise<number> {
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const plan = await planForStack(projectDir, parsed.stack, process.env, parsed.options);
    process.stdout.write(parsed.json ? `${planJson(plan)}\n` : `${formatPlan(plan)}\n`);
    // Whoever asked for the registry's judgement and did not get it must not see success.
    if (parsed.options.readRegistry && plan.registry.status !== "read") {
      process.stderr.write(
        `error: the registry could not be read: ${plan.registry.status === "unavailable" ? plan.registry.reason : plan.registry.status}\n`,
      );
      return 1;
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof UnknownStackError) {
      process.stderr.write(`error: ${error.message}\n${USAGE.split("\n")[0]} (--help for more)\n`);
      return 2;
    }
    if (error instanceof ReleaseConfigError) {
      process.stderr.write(`${error.problems.map((line) => `error: ${line}`).join("\n")}\n`);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
