import { createHash } from "node:crypto";
import * as path from "node:path";
import { invalidSetting, ReleaseConfigError } from "../errors";
import type { ReleaseEnvironment } from "../inputs/process-env";
import { MAX_REPOSITORY_LENGTH, repositoryOf } from "../inputs/registry-location";
import type { PlatformName, ReleaseSettings, Variant } from "../inputs/settings";
import type { SourceFacts } from "../inputs/source-facts";
import type { RegistryQuestions, RegistryView } from "../registry/view";
import { type CacheFromEntry, type CacheToEntry, planCache } from "./cache";
import { type FloatingTagPlan, planFloatingTags } from "./floating-tag-moves";
import { type GitHubEnvironmentPlan, planGitHubEnvironment } from "./github-environment";
import { planLabels } from "./labels";
import { BUILD_INPUTS_LABEL, downgradeRefusal, overwriteRefusal, parsePin, pinnedRelease } from "./release-guards";
import { type ReleasedVersion, releasedVersions, tagForVersion, versionTemplateOf } from "./released-versions";
import { DEFAULT_TAG_TEMPLATES, planTags, type TagPlan } from "./tags";
import { type ResolvedVersion, resolveVersion } from "./version";

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

/** A rollback: the released image the stack serves instead of the one it builds. */
export interface PinPlan {
  version: string;
  /** Fully qualified tag of the pinned release (`ghcr.io/acme/finsight-backend:v1.3.2`). */
  tag: string;
  /** Its digest, or undefined in a preview that could not read the registry. */
  digest?: string;
  /** `tag@digest` (or the tag alone, in that preview). */
  ref: string;
}

export interface ReleasePlan {
  stack: string;
  variant: Variant;
  repository: string;
  version: ResolvedVersion;
  tags: TagPlan;
  /** The release's own tag, fully qualified: the stack outputs pin it by digest. */
  releaseTag: string;
  /** The exact tags the build pushes, fully qualified; floating tags are `floatingTags`' to move. */
  pushedTags: string[];
  /** Empty when nothing is built (a pin, unless this checkout is the stack's own release). */
  builds: BuildPlan[];
  /** Empty for a single-platform release, whose one build pushes its tags itself. */
  indexes: IndexPlan[];
  /** Every floating tag this run manages, and where it points. */
  floatingTags: FloatingTagPlan[];
  pin?: PinPlan;
  /** Registry host that credentials (if any) are for. */
  registryHost: string;
  registryUsername?: string;
  /** Plain HTTP to a registry off loopback, on purpose (finsight:registryInsecure). */
  registryInsecure: boolean;
  /** Whether the registry was read for this plan, and how many requests that took. */
  registry:
    | { status: "read"; requests: number; released: string[] }
    | { status: "unavailable" | "not read"; reason: string };
  /** The stack's GitHub Actions environment, when `finsight:github` is enabled. */
  github?: GitHubEnvironmentPlan;
  /** Things a reader of the plan should know (a run-specific tag, a missing label source). */
  notes: string[];
  /** Things a preview could not check; `pulumi up` would refuse them. */
  warnings: string[];
}

export interface PlanInputs {
  stack: string;
  settings: ReleaseSettings;
  env: ReleaseEnvironment;
  source: SourceFacts;
  /** `pulumi preview` (or `npm run plan`): an unreadable registry is a warning, not an error. */
  preview: boolean;
}

/** What can be decided before the registry is read; it also says what to ask the registry. */
export interface ReleaseTargets {
  inputs: PlanInputs;
  version: ResolvedVersion;
  repository: string;
  /** The repository below the registry host (`acme/finsight-backend`), as the registry API names it. */
  repositoryPath: string;
  tags: TagPlan;
  /** The template that names a version alone (`v{{version}}`), to read versions back from tags. */
  versionTemplate?: string;
  /** A rollback: the pinned version, its bare tag (`v1.3.2`) and the floating tags it carries. */
  pin?: { version: string; tag: string; tags: TagPlan };
  /** What to ask the registry; undefined when nothing depends on it (no push and no pin). */
  questions?: RegistryQuestions;
}

const BUILD_ARGS: Record<Variant, Record<string, string>> = {
  demo: { USE_LIGHT: "1", SKIP_ML: "1" },
  full: { USE_LIGHT: "0" },
};

/** `linux/arm64` → `linux-arm64`, for names and tag suffixes. */
const platformSlug = (platform: string) => platform.replace(/\//g, "-");

/**
 * Version, repository and tags, checked before the registry is asked anything: a bad value fails
 * here, before any request or resource.
 */
export function releaseTargets(inputs: PlanInputs): ReleaseTargets {
  const { settings, env, source } = inputs;
  const version = resolveVersion({ configured: settings.version, env, versionFile: source.versionFile });
  const repository = repositoryOf(settings.registry, settings.imageName);
  if (repository.length > MAX_REPOSITORY_LENGTH) {
    throw invalidSetting(
      "finsight:imageName",
      `a name that keeps the repository within ${MAX_REPOSITORY_LENGTH} characters`,
      repository,
    );
  }
  const templates = settings.tags ?? DEFAULT_TAG_TEMPLATES[settings.variant];
  const facts = { revision: source.revision, runId: env.GITHUB_RUN_ID };
  const tags = planTags(templates, { version, ...facts });
  const versionTemplate = versionTemplateOf(templates);
  let pin: ReleaseTargets["pin"];
  if (settings.pin !== undefined) {
    const pinVersion = parsePin(settings.pin);
    if (!versionTemplate) {
      throw new ReleaseConfigError(
        `finsight:pin needs a tag template that names the version alone (such as v{{version}}) in finsight:tags, got ${JSON.stringify(templates)}`,
      );
    }
    const pinTags = planTags(templates, { version: resolveVersion({ configured: pinVersion, env: {} }), ...facts });
    pin = { version: pinVersion, tag: tagForVersion(versionTemplate, pinVersion), tags: pinTags };
  }
  return {
    inputs,
    version,
    repository,
    repositoryPath: repository.slice(settings.registry.host.length + 1),
    tags,
    ...(versionTemplate ? { versionTemplate } : {}),
    ...(pin ? { pin } : {}),
    ...(settings.push || pin
      ? {
          questions: {
            releaseTag: tags.exact[0],
            digestsOf: [...(pin ? [pin.tag] : []), ...tags.floating, ...(pin?.tags.floating ?? [])],
          },
        }
      : {}),
  };
}

/** A digest of what decides an image's content, kept as a label so a re-run can be told from a change. */
function buildInputsDigest(fields: object): string {
  return `sha256:${createHash("sha256").update(JSON.stringify(fields)).digest("hex")}`;
}

/**
 * Everything `pulumi up` will build, push and re-point for one stack, decided without Pulumi,
 * credentials or Docker, from the registry view read once before. The resource code projects
 * this onto resources and decides nothing.
 */
export function planRelease(targets: ReleaseTargets, registry: RegistryView): ReleasePlan {
  const { inputs, version, repository, tags, versionTemplate } = targets;
  const { stack, settings, source, preview } = inputs;
  const qualify = (tag: string) => `${repository}:${tag}`;
  const notes: string[] = [];
  const warnings: string[] = [];

  if (registry.status === "unavailable") {
    const message = `the registry could not be read (${registry.reason}), so the pin, the floating-tag rules, the downgrade check and the overwrite check were not applied`;
    if (!preview) {
      throw new ReleaseConfigError(
        `finsight:registry ${settings.registry.host}: ${message}; pulumi up needs them, so nothing was built, pushed or re-pointed`,
      );
    }
    warnings.push(`${message}; pulumi up will refuse to run until it can read it`);
  }
  const view = registry.status === "read" ? registry : { tags: [], digests: {} as Record<string, string> };
  const released: ReleasedVersion[] = versionTemplate ? releasedVersions(view.tags, versionTemplate) : [];
  if (!versionTemplate) {
    notes.push("no tag template names the version alone, so released versions cannot be read from the registry");
  }

  const buildArgs: Record<string, string> = { ...BUILD_ARGS[settings.variant] };
  // BuildKit clamps file and image timestamps to this build arg, so a rebuild of one commit is byte-identical.
  if (source.commitEpoch !== undefined) buildArgs.SOURCE_DATE_EPOCH = String(source.commitEpoch);
  const labels = planLabels({
    variant: settings.variant,
    version,
    revision: source.revision,
    commitEpoch: source.commitEpoch,
    sourceUrl: settings.sourceUrl,
    licenses: settings.licenses,
  });
  const dockerfile = { location: path.posix.join(settings.context, settings.dockerfile) };
  const buildInputs = buildInputsDigest({
    buildArgs,
    labels,
    dockerfile: dockerfile.location,
    target: settings.target ?? "",
    platforms: settings.platforms,
  });
  labels[BUILD_INPUTS_LABEL] = buildInputs;

  const releaseTag = qualify(tags.exact[0]);
  const overwrite = overwriteRefusal(
    releaseTag,
    buildInputs,
    registry.status === "read" ? registry.releaseLabels : undefined,
  );
  const alreadyReleased = registry.status === "read" && registry.releaseLabels !== undefined;

  let pin: PinPlan | undefined;
  if (targets.pin) {
    let digest: string | undefined;
    if (registry.status === "read") {
      const release = pinnedRelease(
        settings.pin as string,
        targets.pin.version,
        released,
        repository,
        versionTemplate as string,
      );
      digest = view.digests[release.tag];
      if (!digest) {
        throw new ReleaseConfigError(
          `finsight:pin ${settings.pin}: the registry lists ${qualify(release.tag)} but its manifest could not be read; try again, and check that the tag was not deleted meanwhile`,
        );
      }
    }
    const tag = qualify(targets.pin.tag);
    pin = { version: targets.pin.version, tag, ...(digest ? { digest } : {}), ref: digest ? `${tag}@${digest}` : tag };
  } else {
    const refusal = overwrite ?? downgradeRefusal(version.text, released, settings.allowDowngrade);
    if (refusal) throw refusal;
  }

  // With a pin nothing is built; the one exception keeps the stack's own release in place when this
  // checkout is exactly what it was built from, so rolling forward is a pointer move, not a rebuild.
  const build = !pin || (alreadyReleased && overwrite === undefined);
  if (pin && !build) {
    notes.push(
      `finsight:pin is set: nothing is built${alreadyReleased ? "" : `, and ${version.text} is not released yet`}`,
    );
  }

  const common = {
    buildArgs,
    labels,
    context: { location: settings.context },
    dockerfile,
    ...(settings.target ? { target: settings.target } : {}),
    ...(settings.builder ? { builder: { name: settings.builder } } : {}),
    push: settings.push,
    buildOnPreview: settings.buildOnPreview,
  };
  const baseName = `${settings.imageName.replace(/\//g, "-")}-${settings.variant}`;
  const cacheScope = { repository, imageName: settings.imageName, variant: settings.variant };
  const pushedTags = build ? tags.exact.map(qualify) : [];

  let builds: BuildPlan[] = [];
  let indexes: IndexPlan[] = [];
  if (!build) {
    // nothing to build
  } else if (settings.platforms.length === 1) {
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

  const decided = planFloatingTags({
    baseName,
    version: version.text,
    tags,
    released,
    digests: view.digests,
    registryRead: registry.status === "read",
    ...(pin && targets.pin
      ? { pin: { version: pin.version, tags: targets.pin.tags, reference: pin.digest ?? targets.pin.tag } }
      : {}),
  });
  if (!pin) {
    for (const tag of tags.floating.filter((tag) => !decided.some((floating) => floating.tag === tag))) {
      notes.push(
        `${tag} is not touched: a higher stable release exists on its line and the tag is not in the registry`,
      );
    }
  }
  // Without a push there is no digest for a tag to point at.
  const floatingTags = decided.filter((floating) => settings.push || floating.target.kind !== "release");

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
    releaseTag,
    pushedTags,
    builds,
    indexes,
    floatingTags,
    ...(pin ? { pin } : {}),
    registryHost: settings.registry.host,
    ...(settings.registryUsername ? { registryUsername: settings.registryUsername } : {}),
    registryInsecure: settings.registryInsecure,
    registry:
      registry.status === "read"
        ? { status: "read", requests: registry.requests, released: released.map((release) => release.version) }
        : { status: registry.status, reason: registry.reason },
    ...(settings.github
      ? {
          github: planGitHubEnvironment(settings.github, {
            variant: settings.variant,
            version: pin?.version ?? version.text,
            registryHost: settings.registry.host,
            registryUsername: settings.registryUsername,
            hasPulumiAccessToken: settings.hasPulumiAccessToken,
            push: settings.push,
          }),
        }
      : {}),
    notes,
    warnings,
  };
}
