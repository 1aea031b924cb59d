/**
 * `npm run plan -- --stack local [--version 1.5.0-rc.1] [--config finsight:pin=1.3.2] [--registry] [--json]`:
 * prints what `pulumi up` would build, push and re-point for a stack, from the shipped stack files
 * and the same planning code as the program, without the Pulumi CLI or Docker. Offline by default;
 * `--registry` reads the registry (with the ambient docker login) as `pulumi up` does.
 */
import { parseArgs } from "node:util";
import { SemVer } from "semver";
import { UnknownStackError } from "../inputs/stack-files";
import { assembleForStack, type StackOverrides } from "../inputs/stack-inputs";
import { closestName, ReleaseConfigError } from "../model/errors";
import { releasedListing, releasePipeline } from "../pipeline";
import type { ReleasePlan } from "../plan/release-plan";
import type { ReleasedListing } from "../plan/released-listing";
import { versionGiven } from "../plan/version";

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

export interface PlanOptions extends StackOverrides {
  /** Read the registry as `pulumi up` does; otherwise the plan says it was not read. */
  readRegistry?: boolean;
}

export async function planForStack(
  projectDir: string,
  stack: string,
  processEnv: NodeJS.ProcessEnv,
  options: PlanOptions = {},
): Promise<ReleasePlan> {
  const { plan } = await releasePipeline(
    assembleForStack(projectDir, stack, processEnv, options),
    options.readRegistry
      ? { readRegistry: true }
      : { readRegistry: false, notRead: "npm run plan reads the registry only with --registry" },
  );
  return plan;
}

/**
 * `--registry` with no release version from any source (and no pin): there is nothing to plan, so the
 * registry's releases are listed instead, which is what a user choosing a pin needs.
 */
async function listingForStack(
  projectDir: string,
  stack: string,
  processEnv: NodeJS.ProcessEnv,
  options: PlanOptions,
): Promise<ReleasedListing | undefined> {
  if (!options.readRegistry || options.version) return undefined;
  const assembled = assembleForStack(projectDir, stack, processEnv, options);
  const { settings, env, source } = assembled.inputs;
  if (
    settings.intent.kind !== "release" ||
    versionGiven({ configured: settings.version, env, versionFile: source.versionFile })
  ) {
    return undefined;
  }
  return releasedListing(assembled);
}

function formatListing(listing: ReleasedListing): string {
  const rows: [string, string][] = [
    ["stack", listing.stack],
    ["repository", listing.repository],
    [
      "registry",
      listing.registry.status === "read"
        ? `read (${listing.registry.requests} requests)`
        : `${listing.registry.status}: ${listing.registry.reason}`,
    ],
    ["released", versionsText(listing.released.filter((release) => release.stable).map((release) => release.version))],
    [
      "prereleases",
      versionsText(
        listing.released.filter((release) => !release.stable).map((release) => release.version),
        "prereleases",
      ),
    ],
    ...listing.serving.map((tag): [string, string] => [`tag ${tag.tag}`, `-> ${tag.version ?? tag.digest}`]),
    [
      "note",
      "no release version was given (--version, finsight:version, RELEASE_VERSION, a v* tag or a VERSION file), so this lists what is released; add --version X to plan a release, or -c finsight:pin=X to plan a rollback",
    ],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n");
}

const list = (items: readonly string[]) => (items.length ? items.join(", ") : "-");
const pairs = (record: Record<string, string>) => Object.entries(record).map(([k, v]) => `${k}=${v}`);
const cacheText = (entry: object) =>
  Object.entries(entry)
    .map(([type, fields]) => `${type} ${Object.values(fields as Record<string, unknown>)[0]}`)
    .join("");

/** Up to this many released versions are listed one by one; more are summarised (--json lists them all). */
const RELEASES_LISTED = 10;

/** Versions (oldest first): all of a few, or the count, the range and the newest of many. */
function versionsText(versions: readonly string[], what = "released versions"): string {
  if (versions.length <= RELEASES_LISTED) return list(versions);
  const newest = versions.slice(-5).join(", ");
  return `${versions.length} ${what} from ${versions[0]} to ${versions.at(-1)}; newest: ${newest} (--json lists all)`;
}

/** The registry row's released versions: listed when few, summarised when many. */
const releasedText = (released: readonly string[]) =>
  released.length <= RELEASES_LISTED ? `released: ${list(released)}` : versionsText(released);

/** What this run does, as the plan decided it: the phase and, where it matters, what the registry already holds. */
function phaseText(plan: ReleasePlan): string {
  const inRegistry = plan.candidate.source === "registry";
  switch (plan.phase) {
    case "release":
      return "release: build the candidate, push its exact tags and promote it in one run";
    case "candidate":
      return inRegistry
        ? "candidate: the candidate is already in the registry, so nothing is built or pushed; floating tags and FINSIGHT_BACKEND_IMAGE stay"
        : "candidate: build and push the exact tags only; floating tags and FINSIGHT_BACKEND_IMAGE stay";
    case "promote":
      return inRegistry
        ? "promote: the candidate is in the registry; nothing is built, the floating tags move to its digest"
        : "promote: nothing is built; the floating tags move to the verified candidate, whose digest is checked against the registry at pulumi up";
    case "rollback":
      return "rollback: nothing is built; the floating tags move to the pinned release";
  }
}

function candidateText(plan: ReleasePlan): string {
  const { candidate } = plan;
  switch (candidate.source) {
    case "registry":
      return `${plan.releaseTag}@${candidate.digest} (in the registry: not built, not pushed)`;
    case "build":
      return `${plan.releaseTag} (built by this run${plan.pushedTags.length ? "" : ", not pushed"})`;
    case "unknown":
      return `${plan.releaseTag} (not known: the registry was not read)`;
    case "none":
      return "none: a rollback builds nothing";
  }
}

function servedText(plan: ReleasePlan): string {
  const { served } = plan;
  if (served.kind === "candidate") return `${plan.releaseTag}@<digest of this build>`;
  if (served.kind === "image") return served.ref;
  return served.ref ? `${served.ref} (unchanged)` : "nothing promoted yet (unchanged)";
}

/** What the run is and what it stands on; a rollback speaks of the pinned release, not of the checkout's. */
function headerRows(plan: ReleasePlan): [string, string][] {
  const { pin } = plan;
  const rollForward = plan.rollForwardVersion
    ? `${plan.rollForwardVersion} (the promoted release removing the pin returns to)`
    : "known once the registry is read";
  return [
    ["stack", `${plan.stack} (variant ${plan.variant})`],
    ["phase", phaseText(plan)],
    pin
      ? ["version", `${pin.version} (finsight:pin)`]
      : ["version", `${plan.version.text} (from ${plan.version.source})`],
    ...(pin ? [["roll forward", rollForward] as [string, string]] : []),
    ["repository", plan.repository.name],
    ["candidate", candidateText(plan)],
    ["serves", servedText(plan)],
    ["exact tags", pin ? `${list(pin.tags.exact)} (released: nothing is pushed)` : list(plan.tags.exact)],
    ["floating tags", list(pin ? pin.tags.floating : plan.tags.floating)],
    [
      "registry",
      plan.registry.status === "read"
        ? `read (${plan.registry.requests} requests), ${releasedText(plan.registry.released)}`
        : `${plan.registry.status}: ${plan.registry.reason}`,
    ],
    ...(pin
      ? []
      : plan.tags.skipped.map((skip): [string, string] => ["not tagged", `${skip.template}: ${skip.reason}`])),
  ];
}

function buildRows(plan: ReleasePlan): [string, string][] {
  return plan.builds.flatMap((build): [string, string][] => [
    ["image", `${build.name} (${list(build.platforms)})${build.push ? ", pushed" : ", not pushed"}`],
    ["  tags", list(build.tags)],
    [
      "  dockerfile",
      `${build.dockerfile.location} in ${build.context.location}${build.target ? `, target ${build.target}` : ""}`,
    ],
    ["  build args", list(pairs(build.buildArgs))],
    // No finsight:builder: docker-build uses the active buildx builder, which must use the docker-container driver.
    ["  builder", build.builder?.name ?? "the active buildx builder (docker buildx use; docker-container driver)"],
    ["  preview build", build.buildOnPreview ? "yes" : "no"],
    ["  cache from", list(build.cacheFrom.map(cacheText))],
    ["  cache to", list(build.cacheTo.map(cacheText))],
    ...pairs(build.labels).map((label): [string, string] => ["  label", label]),
  ]);
}

function environmentRows(plan: ReleasePlan): [string, string][] {
  const env = plan.github;
  if (!env) return [];
  const reviewerText = (refs: typeof env.users) => refs.map((ref) => ("id" in ref ? `#${ref.id}` : ref.name));
  return [
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
  ];
}

/** The plan as a table: the same facts as `--json`, in the order a release manager reads them. */
export function formatPlan(plan: ReleasePlan): string {
  const rows: [string, string][] = [
    ...headerRows(plan),
    ...buildRows(plan),
    ...plan.indexes.map((index): [string, string] => ["index", `${index.tag} <- ${list(index.sources)}`]),
    ...plan.floatingTags.map((tag): [string, string] => [
      `tag ${tag.tag}`,
      `-> ${tag.target.kind === "release" ? "this release" : (tag.target.version ?? tag.target.reference)}: ${tag.reason}`,
    ]),
    ...environmentRows(plan),
    ...plan.notes.map((note): [string, string] => ["note", note]),
    ...plan.warnings.map((warning): [string, string] => ["warning", warning]),
  ];
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
    // node:util's own message names the option (ERR_PARSE_ARGS_UNKNOWN_OPTION and friends); a typo gets the closest one.
    const message = (error as Error).message.split("\n")[0];
    const unknown = /^Unknown option '--?([^'=]+)'/.exec(message)?.[1];
    const suggestion = unknown ? closestName(unknown, Object.keys(OPTIONS)) : undefined;
    throw new UsageError(suggestion ? `unknown option --${unknown}: did you mean --${suggestion}?` : message);
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
    const listing = await listingForStack(projectDir, parsed.stack, process.env, parsed.options);
    if (listing) {
      process.stdout.write(parsed.json ? `${JSON.stringify(listing, null, 2)}\n` : `${formatListing(listing)}\n`);
      if (listing.registry.status === "read") return 0;
      process.stderr.write(`error: the registry could not be read: ${listing.registry.reason}\n`);
      return 1;
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
    // Anything else is a fault of this tool, still said in one line: a stack trace is no message.
    process.stderr.write(
      `error: ${String((error as Error)?.message ?? error).split("\n")[0]} (unexpected: please report it)\n`,
    );
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
