/**
 * `npm run plan -- --stack demo [--version 1.5.0-rc.1] [--json]`: prints what `pulumi up` would build
 * and push for a stack, from the shipped stack files and the same planning code as the program,
 * without the Pulumi CLI, credentials, Docker or a registry.
 */
import { parseArgs } from "node:util";
import { readReleaseEnvironment } from "../environment";
import { ReleaseConfigError } from "../errors";
import { planRelease, type ReleasePlan } from "../plan/release-plan";
import { CONFIG_KEYS, NAMESPACE, parseSettings, type RawConfig } from "../settings";
import { readSourceFacts } from "../source-facts";
import { readStackConfig } from "../stack-files";

export function planForStack(projectDir: string, stack: string, env: NodeJS.ProcessEnv, version?: string): ReleasePlan {
  const { values, secureKeys } = readStackConfig(projectDir, stack);
  const raw: RawConfig = Object.fromEntries(CONFIG_KEYS.map((key) => [key, values[`${NAMESPACE}:${key}`]]));
  const settings = parseSettings(version ? { ...raw, version } : raw, stack, (key) =>
    secureKeys.includes(`${NAMESPACE}:${key}`),
  );
  const releaseEnv = readReleaseEnvironment(env);
  return planRelease({ stack, settings, env: releaseEnv, source: readSourceFacts(settings.context, releaseEnv) });
}

const list = (items: readonly string[]) => (items.length ? items.join(", ") : "-");
const pairs = (record: Record<string, string>) => Object.entries(record).map(([k, v]) => `${k}=${v}`);
const cacheText = (entry: object) =>
  Object.entries(entry)
    .map(([type, fields]) => `${type} ${Object.values(fields as Record<string, unknown>)[0]}`)
    .join("");

export function formatPlan(plan: ReleasePlan): string {
  const rows: [string, string][] = [
    ["stack", `${plan.stack} (variant ${plan.variant})`],
    ["version", `${plan.version.text} (from ${plan.version.source})`],
    ["repository", plan.repository],
    ["release tag", plan.releaseTag],
    ["exact tags", list(plan.tags.exact)],
    ["floating tags", list(plan.tags.floating)],
    ...plan.tags.skipped.map((skip): [string, string] => ["not tagged", `${skip.template}: ${skip.reason}`]),
    ["credentials", plan.registryUsername ? `${plan.registryUsername} @ ${plan.registryHost}` : "ambient docker login"],
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
      ["  variables", list([...pairs(env.variables), "FINSIGHT_BACKEND_IMAGE=<pushed ref@digest>"])],
    );
  }
  for (const note of plan.notes) rows.push(["note", note]);
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n");
}

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: { stack: { type: "string" }, version: { type: "string" }, json: { type: "boolean", default: false } },
  });
  if (!values.stack) {
    process.stderr.write("usage: npm run plan -- --stack <demo|prod> [--version 1.5.0-rc.1] [--json]\n");
    return 2;
  }
  try {
    const plan = planForStack(process.cwd(), values.stack, process.env, values.version);
    process.stdout.write(values.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatPlan(plan)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof ReleaseConfigError || (error as NodeJS.ErrnoException).code === "ENOENT") {
      process.stderr.write(`error: ${(error as Error).message}\n`);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
