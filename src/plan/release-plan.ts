import { ReleaseConfigError } from "../errors";
import type { ImageRepository } from "../inputs/registry-location";
import type { PlanInputs } from "../inputs/release-inputs";
import type { Variant } from "../inputs/settings";
import type { RegistryView } from "../registry/view";
import { type BuildPlan, type IndexPlan, planBuilds } from "./builds";
import { type FloatingTagMode, type FloatingTagPlan, planFloatingTags } from "./floating-tag-moves";
import { type GitHubEnvironmentPlan, planGitHubEnvironment } from "./github-environment";
import { planImageInputs } from "./image-inputs";
import { type PinnedRelease, pinnedRelease } from "./pin";
import { nameSlug, platformSlug } from "./platforms";
import { downgradeRefusal, overwriteRefusal } from "./release-guards";
import { type ReleasedVersion, releasedVersions } from "./released-versions";
import type { TagPlan } from "./tags";
import type { ReleaseTargets } from "./targets";
import type { ResolvedVersion } from "./version";

export type { BuildPlan, IndexPlan } from "./builds";

/**
 * What this run does, in a release manager's words: `release` builds and promotes in one go (a
 * laptop), `candidate` pushes the exact tags only, `promote` moves the floating tags to a candidate
 * already in the registry, `rollback` moves them to a pinned release. Only `release` and `candidate` build.
 */
export type Phase = "release" | "candidate" | "promote" | "rollback";

/** The image under the release's own tag: built by this run, or already in the registry. */
export type CandidatePlan =
  | { source: "build" }
  | { source: "registry"; digest: string }
  /** A preview that could not read the registry: nothing is known, nothing is built. */
  | { source: "unknown" };

/** What FINSIGHT_BACKEND_IMAGE and the `imageRef` output name: what users deploy. */
export type ServedPlan =
  | { kind: "candidate" }
  | { kind: "image"; ref: string; version?: string }
  /** A candidate run: the previously promoted release stays, as the registry shows it (none yet: empty). */
  | { kind: "unchanged"; ref?: string };

export interface ReleasePlan {
  stack: string;
  variant: Variant;
  phase: Phase;
  repository: ImageRepository;
  version: ResolvedVersion;
  tags: TagPlan;
  /** The release's own tag, fully qualified: the candidate is this tag by digest. */
  releaseTag: string;
  candidate: CandidatePlan;
  /** The exact tags this run pushes, fully qualified; empty when nothing is built. */
  pushedTags: string[];
  builds: BuildPlan[];
  /** Empty for a single-platform release, whose one build pushes its tags itself. */
  indexes: IndexPlan[];
  /** Every floating tag this run manages, and where it points. */
  floatingTags: FloatingTagPlan[];
  served: ServedPlan;
  pin?: PinnedRelease;
  /** Plain HTTP to a registry off loopback, on purpose (finsight:registryInsecure). */
  registryInsecure: boolean;
  /** Token services besides the registry's own that may get the credentials (finsight:registryTokenHosts). */
  registryTokenHosts: string[];
  /** Whether the registry was read for this plan, and how many requests that took. */
  registry:
    | { status: "read"; requests: number; released: string[] }
    | { status: "unavailable" | "not read"; reason: string };
  /** The stack's GitHub Actions environment, when `finsight:github` is enabled. */
  github?: GitHubEnvironmentPlan;
  /** Things a reader of the plan should know. */
  notes: string[];
  /** Things a preview could not check or would refuse; `pulumi up` refuses them. */
  warnings: string[];
}

interface Judge {
  notes: string[];
  warnings: string[];
  /** In a preview a problem is a warning that `pulumi up` will refuse; in `pulumi up` it stops the run. */
  refuse(message: string): void;
}

function judge(preview: boolean): Judge {
  const notes: string[] = [];
  const warnings: string[] = [];
  return {
    notes,
    warnings,
    refuse(message) {
      if (!preview) throw new ReleaseConfigError(message);
      warnings.push(`${message}; pulumi up will refuse this`);
    },
  };
}

/** The registry as the plan may rely on it: read, or (in a preview only) empty with a warning. */
function registryFacts(inputs: PlanInputs, registry: RegistryView, verdict: Judge) {
  if (registry.status === "unavailable") {
    const message = `the registry could not be read (${registry.reason}), so the pin, the floating-tag rules, the downgrade check and the overwrite check were not applied`;
    if (!inputs.preview) {
      throw new ReleaseConfigError(
        `finsight:registry ${inputs.settings.registry.host}: ${message}; pulumi up needs them, so nothing was built, pushed or re-pointed`,
      );
    }
    verdict.warnings.push(`${message}; pulumi up will refuse to run until it can read it`);
  }
  return registry.status === "read"
    ? registry
    : { tags: [] as string[], digests: {} as Record<string, string>, releaseLabels: undefined };
}

/**
 * A pushing build must name its source exactly: the context exists, is a git checkout, and has
 * nothing uncommitted that the build would include. Otherwise the build-inputs label would vouch
 * for content it does not describe.
 */
function sourceRefusal(inputs: PlanInputs): string | undefined {
  const { settings, source } = inputs;
  if (!source.contextExists) {
    return `finsight:context ${JSON.stringify(settings.context)} does not exist: check out the FinSight application there or point finsight:context at it`;
  }
  if (!source.tree) {
    return `finsight:context ${JSON.stringify(settings.context)} is not a git checkout with a commit, so a pushed release could not name its source; release from a git checkout, or set finsight:push to false to build without pushing`;
  }
  if (source.uncommitted.length > 0) {
    const shown = source.uncommitted.slice(0, 5).join(", ");
    const more = source.uncommitted.length > 5 ? ` and ${source.uncommitted.length - 5} more` : "";
    return `finsight:context ${JSON.stringify(settings.context)} has uncommitted changes the build would include (${shown}${more}): commit or stash them, or exclude them in the context's .dockerignore, so the release is exactly its commit`;
  }
  return undefined;
}

/** The previously promoted release, as the registry's floating tags show it (widest line first). */
function promotedRef(repository: ImageRepository, tags: TagPlan, digests: Readonly<Record<string, string>>) {
  const order = { all: 0, major: 1, minor: 2 };
  const tag = [...tags.floating]
    .sort((a, b) => order[tags.floatingLines[a]] - order[tags.floatingLines[b]])
    .find((floating) => digests[floating]);
  return tag ? `${repository.name}:${tag}@${digests[tag]}` : undefined;
}

/**
 * Everything `pulumi up` will build, push and re-point for one stack, decided without Pulumi,
 * credentials or Docker, from the inputs and the registry view read once before. A short
 * composition of named steps; the resource code projects the result and decides nothing.
 */
export function planRelease(inputs: PlanInputs, targets: ReleaseTargets, registry: RegistryView): ReleasePlan {
  const { stack, settings, source, preview } = inputs;
  const { version, repository, tags, versionTemplate } = targets;
  const qualify = (tag: string) => `${repository.name}:${tag}`;
  const verdict = judge(preview);
  const { notes } = verdict;

  const view = registryFacts(inputs, registry, verdict);
  const read = registry.status === "read";
  const released: ReleasedVersion[] = versionTemplate ? releasedVersions(view.tags, versionTemplate) : [];
  if (!versionTemplate) {
    notes.push("no tag template names the version alone, so released versions cannot be read from the registry");
  }
  const image = planImageInputs(settings, version, source);
  const releaseTag = tags.exact[0];
  const releaseDigest = view.digests[releaseTag];

  // 1. The pin (a rollback) or the release's own guards.
  let pin: PinnedRelease | undefined;
  if (targets.pin && versionTemplate) {
    pin = read ? pinnedRelease(targets.pin, released, view.digests, repository.name, versionTemplate) : targets.pin;
  }
  const existing = view.releaseLabels;
  // Listed but unlabelled (deleted meanwhile, an index of attestations only): building would push no
  // exact tag, yet move the floating tags to that untagged build.
  if (!pin && !existing && view.tags.includes(releaseTag)) {
    throw new ReleaseConfigError(
      `finsight:version: ${qualify(releaseTag)} is listed in the registry but its image labels could not be read, so it cannot be checked against this build, and a released version tag is never overwritten; try again, and check that the tag was not deleted meanwhile`,
    );
  }
  if (!pin) {
    const refusal =
      overwriteRefusal({ ref: qualify(releaseTag), digest: releaseDigest }, image.labels, existing) ??
      (existing ? undefined : downgradeRefusal(version.text, released, settings.allowDowngrade));
    if (refusal) throw refusal;
  }

  // 2. The candidate: an exact tag in the registry is never pushed again; it is served by its digest.
  const candidate: CandidatePlan =
    existing && releaseDigest
      ? { source: "registry", digest: releaseDigest }
      : pin || (settings.promoteDigest && !read)
        ? { source: "unknown" }
        : { source: "build" };
  if (settings.promoteDigest && !pin) {
    if (!settings.promote) {
      throw new ReleaseConfigError(
        `finsight:promoteDigest must be unset when finsight:promote is false, got ${settings.promoteDigest}: a candidate run promotes nothing`,
      );
    }
    if (read && candidate.source !== "registry") {
      throw new ReleaseConfigError(
        `finsight:promoteDigest ${settings.promoteDigest}: the candidate ${qualify(releaseTag)} is not in the registry, so there is nothing verified to promote; run the candidate phase first (pulumi up with finsight:promote=false) and its checks`,
      );
    }
    if (candidate.source === "registry" && candidate.digest !== settings.promoteDigest) {
      throw new ReleaseConfigError(
        `finsight:promoteDigest must be the digest of ${qualify(releaseTag)}, got ${settings.promoteDigest}, but the registry has ${candidate.digest}: the tag does not hold what was verified, so nothing is promoted`,
      );
    }
  }
  if (!read && settings.promoteDigest)
    notes.push("the candidate's digest is checked against the registry at pulumi up");

  // 3. What is built and pushed.
  const baseName = `${nameSlug(settings.imageName)}-${settings.variant}`;
  const building = candidate.source === "build";
  const presentExact = tags.exact.filter((tag) => view.tags.includes(tag));
  if (building) {
    const partial = settings.platforms
      .map((platform) => `${releaseTag}-${platformSlug(platform)}`)
      .filter((tag) => view.tags.includes(tag));
    if (settings.platforms.length > 1 && partial.length > 0) {
      throw new ReleaseConfigError(
        `finsight:version ${version.text}: per-platform tags ${partial.join(", ")} are already in ${repository.name} without ${releaseTag} (an earlier run stopped half way); an exact tag is never pushed again, so bump the version`,
      );
    }
    for (const tag of presentExact) {
      notes.push(`${tag} is already in the registry and is never pushed again: this build does not carry it`);
    }
    if (settings.push) {
      const refusal = sourceRefusal(inputs);
      if (refusal) verdict.refuse(refusal);
    } else if (source.uncommitted.length > 0) {
      notes.push(
        `building from uncommitted changes (${source.uncommitted.length} files); allowed because nothing is pushed`,
      );
    }
  } else if (!source.contextExists && !pin && candidate.source !== "registry") {
    notes.push(`finsight:context ${JSON.stringify(settings.context)} does not exist`);
  }
  const buildTags = building ? tags.exact.filter((tag) => !presentExact.includes(tag)) : [];
  const { builds, indexes } = building
    ? planBuilds(settings, repository, baseName, releaseTag, buildTags, image)
    : { builds: [], indexes: [] };

  // 4. Where the floating tags point, and what users deploy.
  const phase: Phase = pin ? "rollback" : !settings.promote ? "candidate" : building ? "release" : "promote";
  const mode: FloatingTagMode = pin
    ? { kind: "pin", pin }
    : !settings.promote
      ? { kind: "hold", version: version.text }
      : {
          kind: "promote",
          version: version.text,
          ...(candidate.source === "registry" ? { digest: candidate.digest } : {}),
        };
  const decided = planFloatingTags({ baseName, tags, released, digests: view.digests, registryRead: read, mode });
  if (mode.kind === "promote") {
    for (const tag of tags.floating.filter((tag) => !decided.some((floating) => floating.tag === tag))) {
      notes.push(
        `${tag} is not touched: a higher stable release exists on its line and the tag is not in the registry`,
      );
    }
  }
  // Without a push there is no digest for a tag to point at.
  const floatingTags = decided.filter((floating) => settings.push || floating.target.kind !== "release");
  let served: ServedPlan;
  if (pin)
    served = { kind: "image", ref: `${qualify(pin.tag)}${pin.digest ? `@${pin.digest}` : ""}`, version: pin.version };
  else if (!settings.promote) {
    const ref = promotedRef(repository, tags, view.digests);
    served = { kind: "unchanged", ...(ref ? { ref } : {}) };
  } else if (candidate.source === "registry") {
    served = { kind: "image", ref: `${qualify(releaseTag)}@${candidate.digest}`, version: version.text };
  } else served = { kind: "candidate" };

  // 5. Notes a reader of the plan should see.
  if (pin)
    notes.push(`finsight:pin is set: nothing is built; the floating tags and the environment serve ${pin.version}`);
  if (candidate.source === "registry" && !pin) {
    notes.push(
      `${releaseTag} is already in the registry from this source: served by its digest, nothing is built or pushed`,
    );
  }
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
    phase,
    repository,
    version,
    tags,
    releaseTag: qualify(releaseTag),
    candidate,
    pushedTags: settings.push ? buildTags.map(qualify) : [],
    builds,
    indexes,
    floatingTags,
    served,
    ...(pin ? { pin } : {}),
    registryInsecure: settings.registryInsecure,
    registryTokenHosts: settings.registryTokenHosts,
    registry:
      registry.status === "read"
        ? { status: "read", requests: registry.requests, released: released.map((release) => release.version) }
        : { status: registry.status, reason: registry.reason },
    ...(settings.github
      ? {
          github: planGitHubEnvironment(settings.github, {
            variant: settings.variant,
            ...(served.kind === "unchanged" ? {} : { servedVersion: pin?.version ?? version.text }),
            registryHost: repository.host,
            registryUsername: settings.registryUsername,
            hasPulumiAccessToken: settings.hasPulumiAccessToken,
            push: settings.push,
          }),
        }
      : {}),
    notes,
    warnings: verdict.warnings,
  };
}
