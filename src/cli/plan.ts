/**
 * `npm run plan -- --stack demo [--version 1.5.0-rc.1] [--config finsight:pin=1.3.2] [--registry] [--json]`:
 * prints what `pulumi up` would build, push and re-point for a stack, from the shipped stack files
 * and the same planning code as the program, without the Pulumi CLI or Docker. Offline by default;
 * `--registry` reads the registry (with the ambient docker login) as `pulumi up` does.
 */
import { parseArgs } from "node:util";
import { ReleaseConfigError } from "../errors";
import { dockerCredentials } from "../inputs/docker-login";
import { readReleaseEnvironment } from "../inputs/process-env";
import { CONFIG_KEYS, NAMESPACE, parseSettings, type RawConfig } from "../inputs/settings";
import { readSourceFacts } from "../inputs/source-facts";
import { readStackConfig } from "../inputs/stack-files";
import { planRelease, type ReleasePlan, releaseTargets } from "../plan/release-plan";
import { type RegistryView, registryViewFor } from "../registry/view";

export interface PlanOptions {
  version?: string;
  /** Fully qualified config overrides (`finsight:pin` → `1.3.2`), as `pulumi preview --config` takes them. */
  config?: Record<string, string>;
  /** Read the registry as `pulumi up` does; otherwise the plan says it was not read. */
  readRegistry?: boolean;
}

export async function planForStack(
  projectDir: string,
  stack: string,
  env: NodeJS.ProcessEnv,
  options: PlanOptions = {},
): Promise<ReleasePlan> {
  const { values, secureKeys } = readStackConfig(projectDir, stack);
  const merged = { ...values, ...options.config };
  const raw: RawConfig = Object.fromEntries(CONFIG_KEYS.map((key) => [key, merged[`${NAMESPACE}:${key}`]]));
  const settings = parseSettings(options.version ? { ...raw, version: options.version } : raw, stack, (key) =>
    secureKeys.includes(`${NAMESPACE}:${key}`),
  );
  const releaseEnv = readReleaseEnvironment(env);
  const targets = releaseTargets({
    stack,
    settings,
    env: releaseEnv,
    source: readSourceFacts(settings.context, releaseEnv),
    preview: true,
  });
  let registry: RegistryView = { status: "not read", reason: "npm run plan reads the registry only with --registry" };
  if (options.readRegistry) {
    const credentials = dockerCredentials(settings.registry.host, env);
    registry = await registryViewFor(
      { host: settings.registry.host, insecure: settings.registryInsecure, ...(credentials ? { credentials } : {}) },
      targets,
    );
  }
  return planRelease(targets, registry);
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
    ...(plan.pin
      ? [["pinned", `${plan.pin.version}: ${plan.pin.ref} (rollback: nothing is built)`] as [string, string]]
      : []),
    [
      "registry",
      plan.registry.status === "read"
        ? `read (${plan.registry.requests} requests), released: ${list(plan.registry.released)}`
        : `${plan.registry.status}: ${plan.registry.reason}`,
    ],
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
        list([...pairs(env.variables), `FINSIGHT_BACKEND_IMAGE=${plan.pin?.ref ?? "<pushed ref@digest>"}`]),
      ],
    );
  }
  for (const note of plan.notes) rows.push(["note", note]);
  for (const warning of plan.warnings) rows.push(["warning", warning]);
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n");
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      stack: { type: "string" },
      version: { type: "string" },
      config: { type: "string", short: "c", multiple: true },
      registry: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const config: Record<string, string> = {};
  for (const pair of values.config ?? []) {
    const equals = pair.indexOf("=");
    if (equals <= 0) {
      process.stderr.write(
        `error: --config takes key=value, such as finsight:pin=1.3.2, got ${JSON.stringify(pair)}\n`,
      );
      return 2;
    }
    config[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  if (!values.stack) {
    process.stderr.write(
      "usage: npm run plan -- --stack <demo|prod> [--version 1.5.0-rc.1] [--config finsight:key=value ...] [--registry] [--json]\n",
    );
    return 2;
  }
  try {
    const plan = await planForStack(process.cwd(), values.stack, process.env, {
      version: values.version,
      config,
      readRegistry: values.registry,
    });
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

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
