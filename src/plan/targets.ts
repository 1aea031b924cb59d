import { invalidSetting, Problems, ReleaseConfigError } from "../model/errors";
import { type ImageRepository, PLATFORM_SUFFIXES, platformTag } from "../model/image-repository";
import type { PlanInputs } from "../model/plan-inputs";
import type { RegistryQuestions } from "../model/registry";
import type { TagTemplate, VersionTemplate } from "../model/tag-template";
import type { RequestedPin } from "./pin";
import { templateProblems } from "./promises";
import { releasedVersions } from "./released-versions";
import { planTags, type TagFacts, type TagPlan, tagForVersion, versionTemplateOf } from "./tags";
import { type ResolvedVersion, resolveVersion } from "./version";

/** What can be decided before the registry is read; it also says what to ask the registry. */
export interface ReleaseTargets {
  version: ResolvedVersion;
  repository: ImageRepository;
  tags: TagPlan;
  /** The release's own tag (bare): the one naming the version alone when a template does, else the first exact tag. */
  releaseTag: string;
  /** The template that names a version alone (`v{{version}}`), to read versions back from tags. */
  versionTemplate?: VersionTemplate;
  /** A rollback, before the registry has confirmed it. */
  pin?: RequestedPin;
  /** The stack's tag templates, for the tags of another release (a rollback's roll-forward release). */
  templates: TagTemplate[];
  /** What to ask the registry; undefined when nothing depends on it (no push and no pin). */
  questions?: RegistryQuestions;
  /** Floating tags of every release (`latest`, `demo`): they show what the stack serves, whatever this version gets. */
  servedTags: string[];
}

/** How many of the latest stable releases a candidate run reads, to name the release users are on. */
const RECENT_RELEASES = 5;

/** Tags the stack writes for its own purposes: a template must never render one of them. */
const CACHE_TAG_PREFIX = "buildcache-";

/**
 * A rendered tag that the stack also writes as a build cache (`buildcache-full`) or a per-platform
 * build (`v1.4.0-linux-arm64`) would overwrite it, or be overwritten: refused, whatever the platforms.
 */
function collisions(tags: TagPlan): string[] {
  const problems: string[] = [];
  for (const tag of [...tags.exact, ...tags.floating]) {
    if (tag.startsWith(CACHE_TAG_PREFIX)) {
      problems.push(
        invalidSetting(
          "finsight:tags",
          `templates whose tags do not start with ${CACHE_TAG_PREFIX} (the registry build cache's tags); one yields ${JSON.stringify(tag)}`,
          tag,
        ).message,
      );
    }
    const suffix = PLATFORM_SUFFIXES.find((platformSuffix) => tag.endsWith(platformSuffix));
    if (suffix) {
      problems.push(
        invalidSetting(
          "finsight:tags",
          `templates whose tags do not end in a platform (${suffix} names the per-platform build of a multi-platform release); one yields ${JSON.stringify(tag)}`,
          tag,
        ).message,
      );
    }
  }
  return problems;
}

/** A rollback's pin as asked: its version tag and the tags that version carries. */
function requestedPin(
  pinVersion: string,
  templates: readonly TagTemplate[],
  versionTemplate: VersionTemplate | undefined,
  facts: Omit<TagFacts, "version">,
): RequestedPin {
  if (!versionTemplate) {
    throw new ReleaseConfigError(
      `finsight:pin needs a tag template that names the version alone (such as v{{version}}) in finsight:tags, got ${JSON.stringify(templates.map((template) => template.text))}`,
    );
  }
  const version = resolveVersion({ configured: { text: pinVersion, from: "config" }, env: {} });
  return {
    version: pinVersion,
    tag: tagForVersion(versionTemplate, pinVersion),
    tags: planTags(templates, { version, ...facts }),
  };
}

/**
 * Version, tags and pin, checked before the registry is asked anything: a bad value fails here,
 * before any request or resource. Every problem is reported at once.
 */
export function releaseTargets(inputs: PlanInputs): ReleaseTargets {
  const { settings, env, source } = inputs;
  const { intent } = settings;
  const problems = new Problems();
  const templates = settings.tags;
  const versionTemplate = versionTemplateOf(templates);
  const facts = { revision: source.revision, runId: env.GITHUB_RUN_ID };
  const pin =
    intent.kind === "rollback"
      ? problems.check(() => requestedPin(intent.pin, templates, versionTemplate, facts))
      : undefined;
  // A rollback builds nothing: its version is the pin's, whatever the checkout, RELEASE_VERSION or the
  // stack's version say, so a rollback plans the same from a laptop and from CI.
  const version = problems.check(() =>
    intent.kind === "rollback"
      ? resolveVersion({ env: {}, fallback: intent.pin })
      : resolveVersion({ configured: settings.version, env, versionFile: source.versionFile }),
  );
  const tags = version ? problems.check(() => planTags(templates, { version, ...facts })) : undefined;
  if (tags) for (const line of collisions(tags)) problems.add(line);
  // Promise 1 at config time: no template may write a tag that names another release (plan/promises.ts).
  if (tags && version) {
    for (const line of templateProblems(
      templates.map((template) => template.text),
      { version, ...facts },
    ))
      problems.add(line);
  }
  problems.throwIfAny();
  if (!version || !tags) throw new ReleaseConfigError("finsight:version could not be resolved"); // unreachable

  // The release's own tag is the one naming the version alone, wherever it stands among the templates:
  // it is what a released version is recognised by, so it is what the overwrite guard must compare.
  const versionTag = versionTemplate ? tagForVersion(versionTemplate, version.text) : undefined;
  const releaseTag = versionTag && tags.exact.includes(versionTag) ? versionTag : tags.exact[0];
  const targets = {
    version,
    repository: settings.repository,
    tags,
    releaseTag,
    templates,
    servedTags: templates.filter((template) => template.uses.length === 0).map((template) => template.text),
    ...(versionTemplate ? { versionTemplate } : {}),
    ...(pin ? { pin } : {}),
  };
  return settings.push || pin ? { ...targets, questions: registryQuestions(inputs, targets) } : targets;
}

/** How many of the latest stable releases a rollback asks about, to find the promoted one to return to. */
const ROLL_FORWARD_CANDIDATES = 5;

/** The latest stable releases above the pin, highest first, each with its tags. */
function rollForwardCandidates(
  targets: Pick<ReleaseTargets, "templates" | "versionTemplate" | "pin">,
  listed: readonly string[],
): { version: string; tag: string; tags: TagPlan }[] {
  if (!targets.versionTemplate) return [];
  return releasedVersions(listed, targets.versionTemplate)
    .filter((release) => release.stable && release.version !== targets.pin?.version)
    .slice(-ROLL_FORWARD_CANDIDATES)
    .reverse()
    .map((release) => ({
      version: release.version,
      tag: release.tag,
      tags: planTags(targets.templates, { version: resolveVersion({ env: {}, fallback: release.version }) }),
    }));
}

/** A rollback asks for the recent releases' own tags and floating tags, to find the promoted one and hold its tags. */
function rollForwardTags(targets: Omit<ReleaseTargets, "questions">, listed: readonly string[]): string[] {
  return [
    ...new Set(rollForwardCandidates(targets, listed).flatMap((release) => [release.tag, ...release.tags.floating])),
  ];
}

/**
 * The release removing a pin returns to: the highest recent stable release that a floating tag still
 * holds (a promoted release the pin did not cover, such as 1.4.0 under `v1.4` while 1.3.2 is pinned), so
 * a candidate that failed its checks is never returned to; when no floating tag shows one (`demo` alone,
 * moved by the pin), the highest stable release. Undefined when the registry lists none.
 */
export function rollForwardOf(
  targets: Pick<ReleaseTargets, "templates" | "versionTemplate" | "pin">,
  listed: readonly string[],
  digests: Readonly<Record<string, string>>,
): { version: string; tag: string; tags: TagPlan } | undefined {
  const candidates = rollForwardCandidates(targets, listed);
  const held = candidates.find((release) => {
    const digest = digests[release.tag];
    return digest !== undefined && release.tags.floating.some((tag) => digests[tag] === digest);
  });
  return held ?? candidates[0];
}

/** What to ask the registry: the exact tags by manifest whatever the list says, the digests the rules need. */
function registryQuestions(inputs: PlanInputs, targets: Omit<ReleaseTargets, "questions">): RegistryQuestions {
  const { settings } = inputs;
  const { releaseTag, tags, pin, versionTemplate, version, servedTags } = targets;
  const platformTags =
    settings.platforms.length > 1 ? settings.platforms.map((platform) => platformTag(releaseTag, platform)) : [];
  // A candidate run names the release users are on: one of the latest stable releases, found by digest.
  const recentReleases = (listed: readonly string[]) =>
    versionTemplate
      ? releasedVersions(listed, versionTemplate)
          .filter((release) => release.stable && release.version !== version.text)
          .slice(-RECENT_RELEASES)
          .map((release) => release.tag)
      : [];
  return {
    releaseTag,
    exactTags: [releaseTag, ...tags.exact.filter((tag) => tag !== releaseTag), ...platformTags],
    digestsOf: [...(pin ? [pin.tag] : []), ...servedTags, ...tags.floating, ...(pin?.tags.floating ?? [])],
    // Promises 2 to 4: the platforms and the release of whatever may be served, pinned or floated.
    imagesOf: [releaseTag, ...(pin ? [pin.tag] : []), ...servedTags, ...tags.floating, ...(pin?.tags.floating ?? [])],
    ...(versionTemplate ? { releaseTagFor: (released: string) => tagForVersion(versionTemplate, released) } : {}),
    ...(settings.intent.kind === "candidate" ? { digestsAfterListing: recentReleases } : {}),
    ...(pin ? { digestsAfterListing: (listed) => rollForwardTags(targets, listed) } : {}),
  };
}
