import * as path from "node:path";
import { type CacheFromEntry, type CacheToEntry, planCache } from "../cache";
import type { ReleaseEnvironment } from "../environment";
import { invalidSetting } from "../errors";
import { type GitHubEnvironmentPlan, planGitHubEnvironment } from "../github-environment";
import { planLabels } from "../labels";
import { MAX_REPOSITORY_LENGTH, repositoryOf } from "../registry-reference";
import type { PlatformName, ReleaseSettings, Variant } from "../settings";
import type { SourceFacts } from "../source-facts";
import { DEFAULT_TAG_TEMPLATES, planTags, type TagPlan } from "../tags";
import { type ResolvedVersion, resolveVersion } from "../version";

/** The inputs of one docker-build `Image`, as plain data. */
export interface BuildPlan {
  /** Pulumi resource name: stable per variant (and platform), never per version or run. */
  name: string;
  platforms: PlatformName[];
  /** Fully qualified tags (`ghcr.io/acme/finsight-backend:v1.4.0`). */
  tags: string[];
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  context: { location: string };
  dockerfile: { location: string };
  target?: string;
  builder?: { name: string };
  push: boolean;
  buildOnPreview: boolean;
  cacheFrom: CacheFromEntry[];
  cacheTo: CacheToEntry[];
}

/** A docker-build `Index` joining the per-platform builds under one tag. */
export interface IndexPlan {
  name: string;
  tag: string;
  /** Names of the builds (in `builds`) whose pushed refs make up the index. */
  sources: string[];
  push: boolean;
}

export interface ReleasePlan {
  stack: string;
  variant: Variant;
  repository: string;
  version: ResolvedVersion;
  tags: TagPlan;
  /** The release's own tag, fully qualified: the stack outputs pin it by digest. */
  releaseTag: string;
  /** Every tag the release pushes, fully qualified, exact ones first. */
  pushedTags: string[];
  builds: BuildPlan[];
  /** Empty for a single-platform release, whose one build pushes every tag itself. */
  indexes: IndexPlan[];
  /** Registry host that credentials (if any) are for. */
  registryHost: string;
  registryUsername?: string;
  /** The stack's GitHub Actions environment, when `finsight:github` is enabled. */
  github?: GitHubEnvironmentPlan;
  /** Things a reader of the plan should know (a run-specific tag, a missing label source). */
  notes: string[];
}

export interface PlanInputs {
  stack: string;
  settings: ReleaseSettings;
  env: ReleaseEnvironment;
  source: SourceFacts;
}

const BUILD_ARGS: Record<Variant, Record<string, string>> = {
  demo: { USE_LIGHT: "1", SKIP_ML: "1" },
  full: { USE_LIGHT: "0" },
};

/** `linux/arm64` → `linux-arm64`, for names and tag suffixes. */
const platformSlug = (platform: string) => platform.replace(/\//g, "-");

/**
 * Everything `pulumi up` will build and push for one stack, decided without Pulumi, credentials,
 * Docker or a registry. The resource code projects this onto resources and decides nothing.
 */
export function planRelease({ stack, settings, env, source }: PlanInputs): ReleasePlan {
  const version = resolveVersion({ configured: settings.version, env, versionFile: source.versionFile });
  const repository = repositoryOf(settings.registry, settings.imageName);
  if (repository.length > MAX_REPOSITORY_LENGTH) {
    throw invalidSetting(
      "finsight:imageName",
      `a name that keeps the repository within ${MAX_REPOSITORY_LENGTH} characters`,
      repository,
    );
  }
  const tags = planTags(settings.tags ?? DEFAULT_TAG_TEMPLATES[settings.variant], {
    version,
    revision: source.revision,
    runId: env.GITHUB_RUN_ID,
  });
  const qualify = (tag: string) => `${repository}:${tag}`;
  const pushedTags = [...tags.exact, ...tags.floating].map(qualify);

  const buildArgs: Record<string, string> = { ...BUILD_ARGS[settings.variant] };
  // BuildKit clamps file and image timestamps to this build arg, so a rebuild of one commit is byte-identical.
  if (source.commitEpoch !== undefined) buildArgs.SOURCE_DATE_EPOCH = String(source.commitEpoch);

  const common = {
    buildArgs,
    labels: planLabels({
      variant: settings.variant,
      version,
      revision: source.revision,
      commitEpoch: source.commitEpoch,
      sourceUrl: settings.sourceUrl,
      licenses: settings.licenses,
    }),
    context: { location: settings.context },
    dockerfile: { location: path.posix.join(settings.context, settings.dockerfile) },
    ...(settings.target ? { target: settings.target } : {}),
    ...(settings.builder ? { builder: { name: settings.builder } } : {}),
    push: settings.push,
    buildOnPreview: settings.buildOnPreview,
  };
  const baseName = `${settings.imageName.replace(/\//g, "-")}-${settings.variant}`;
  const cacheScope = { repository, imageName: settings.imageName, variant: settings.variant };

  let builds: BuildPlan[];
  let indexes: IndexPlan[] = [];
  if (settings.platforms.length === 1) {
    builds = [
      {
        name: baseName,
        platforms: settings.platforms,
        tags: pushedTags,
        ...common,
        ...planCache(settings.cache, cacheScope),
      },
    ];
  } else {
    // docker-build keeps only one platform's cache when one Image exports several (its own warning);
    // the provider's documented shape is one cached Image per platform joined by an Index per tag.
    builds = settings.platforms.map((platform) => ({
      name: `${baseName}-${platformSlug(platform)}`,
      platforms: [platform],
      tags: [qualify(`${tags.exact[0]}-${platformSlug(platform)}`)],
      ...common,
      ...planCache(settings.cache, { ...cacheScope, platform }),
    }));
    indexes = pushedTags.map((tag) => ({
      name: `${baseName}-index-${tag.slice(repository.length + 1)}`,
      tag,
      sources: builds.map((build) => build.name),
      push: settings.push,
    }));
  }

  const notes: string[] = [];
  if (tags.changesEveryRun)
    notes.push("a {{runId}} tag changes on every run, so every `pulumi up` builds and pushes again");
  if (!source.revision)
    notes.push("no git checkout at the build context and no GITHUB_SHA: the image has no revision label");
  if (source.commitEpoch === undefined) {
    notes.push(
      "no commit time (git checkout or SOURCE_DATE_EPOCH): the image has no created label and timestamps are not clamped",
    );
  }
  if (!settings.push) notes.push("finsight:push is false: the image is built but not pushed, so it has no digest");

  return {
    stack,
    variant: settings.variant,
    repository,
    version,
    tags,
    releaseTag: qualify(tags.exact[0]),
    pushedTags,
    builds,
    indexes,
    registryHost: settings.registry.host,
    ...(settings.registryUsername ? { registryUsername: settings.registryUsername } : {}),
    ...(settings.github
      ? {
          github: planGitHubEnvironment(settings.github, {
            variant: settings.variant,
            version: version.text,
            registryHost: settings.registry.host,
            registryUsername: settings.registryUsername,
            hasPulumiAccessToken: settings.hasPulumiAccessToken,
            push: settings.push,
          }),
        }
      : {}),
    notes,
  };
}
