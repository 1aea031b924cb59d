import { compare } from "semver";
import { ReleaseConfigError } from "../errors";
import type { ImageRepository } from "../inputs/registry-location";
import type { PlanInputs } from "../inputs/release-inputs";
import type { Variant } from "../inputs/settings";
import type { ImageFacts, RegistryView } from "../registry/view";
import { type BuildPlan, type IndexPlan, planBuilds } from "./builds";
import { type FloatingTagMode, type FloatingTagPlan, onLine, planFloatingTags } from "./floating-tag-moves";
import { type GitHubEnvironmentPlan, planGitHubEnvironment } from "./github-environment";
import { type ImageInputs, planImageInputs } from "./image-inputs";
import { type PinnedRelease, pinnedRelease } from "./pin";
import { brokenPromises, holderOf, isExactTemplate, type RegistryFacts, rivalOf, servedTagOf } from "./promises";
import { downgradeRefusal, overwriteRefusal } from "./release-guards";
import { type ReleasedVersion, releasedVersions } from "./released-versions";
import { slug } from "./slug";
import { DEFAULT_TAG_TEMPLATES, type TagLine, type TagPlan } from "./tags";
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
  | { kind: "unchanged"; ref?: string; version?: string };

export interface ReleasePlan {
  stack: string;
  variant: Variant;
  phase: Phase;
  repository: ImageRepository;
  version: ResolvedVersion;
  /**
   * The release the stack stands on after this run, what workflows check the application out at: this
   * version, except in a candidate run, where it stays the promoted release when the registry names it.
   */
  stackVersion: string;
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
    : { tags: [] as string[], digests: {} as Record<string, string>, releaseLabels: undefined, images: undefined };
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
  if (source.uncommittedUnknown) {
    return `finsight:context ${JSON.stringify(settings.context)}: ${source.uncommittedUnknown}, so a pushed release could not be shown to be exactly its commit; repair the checkout (git status must work) and run again`;
  }
  if (source.uncommitted.length > 0) {
    const shown = source.uncommitted.slice(0, 5).join(", ");
    const more = source.uncommitted.length > 5 ? ` and ${source.uncommitted.length - 5} more` : "";
    return `finsight:context ${JSON.stringify(settings.context)} has uncommitted changes the build would include (${shown}${more}): commit or stash them, or exclude them in the context's .dockerignore, so the release is exactly its commit`;
  }
  return undefined;
}

/**
 * What the registry shows served before this run: the floating tag of every release, else the widest
 * line this version has, the first the registry holds; named by its release when the registry shows one.
 */
function servedNow(context: PlanContext): { tag?: string; ref?: string; version?: string } {
  const facts = registryFactsOf(context);
  const tag = servedTagOf(context.targets.tags, context.targets.servedTags, (floating) => !!facts.digests[floating]);
  if (!tag) return {};
  const holder = holderOf(tag, facts);
  const name = context.targets.repository.name;
  return holder.kind === "release"
    ? { tag, ref: `${name}:${holder.tag}@${holder.digest}`, version: holder.version }
    : { tag, ref: `${name}:${tag}@${facts.digests[tag]}` };
}

/** The registry facts the promises are judged on (plan/promises.ts). */
function registryFactsOf(context: PlanContext): RegistryFacts {
  const { view, read, released } = context;
  return { read, tags: view.tags, digests: view.digests, ...(view.images ? { images: view.images } : {}), released };
}

/** What every step of a plan reads: the inputs, the targets and the registry as this run saw it. */
interface PlanContext {
  inputs: PlanInputs;
  targets: ReleaseTargets;
  view: {
    tags: string[];
    digests: Record<string, string>;
    releaseLabels?: Record<string, string>;
    images?: Record<string, ImageFacts>;
  };
  read: boolean;
  released: ReleasedVersion[];
  /** The release's own tag, bare (`v1.4.0`). */
  releaseTag: string;
  qualify: (tag: string) => string;
  verdict: Judge;
}

/** Step 1: a rollback's pin, confirmed by the registry, or the release's guards against it. */
function pinOrGuards(context: PlanContext, labels: Record<string, string>): PinnedRelease | undefined {
  const { inputs, targets, view, read, released, releaseTag, qualify } = context;
  if (targets.pin && targets.versionTemplate) {
    return read
      ? pinnedRelease(targets.pin, released, view.digests, targets.repository.name, targets.versionTemplate)
      : targets.pin;
  }
  // Listed but unlabelled (deleted meanwhile, an index of attestations only): building would push no
  // exact tag, yet move the floating tags to that untagged build.
  if (!view.releaseLabels && (view.tags.includes(releaseTag) || view.digests[releaseTag])) {
    throw new ReleaseConfigError(
      `finsight:version: ${qualify(releaseTag)} is listed in the registry but its image labels could not be read, so it cannot be checked against this build, and a released version tag is never overwritten; try again, and check that the tag was not deleted meanwhile`,
    );
  }
  const refusal =
    overwriteRefusal({ ref: qualify(releaseTag), digest: view.digests[releaseTag] }, labels, view.releaseLabels) ??
    (view.releaseLabels ? undefined : downgradeRefusal(targets.version.text, released, inputs.settings.allowDowngrade));
  if (refusal) throw refusal;
  return undefined;
}

/**
 * Step 2: the candidate. An exact tag in the registry is never pushed again; it is served by its
 * digest. A promotion that names the verified digest gets exactly that image or nothing.
 */
function candidateOf(context: PlanContext, pin: PinnedRelease | undefined): CandidatePlan {
  const { settings } = context.inputs;
  const { view, read, releaseTag, qualify } = context;
  const digest = view.digests[releaseTag];
  const candidate: CandidatePlan =
    view.releaseLabels && digest
      ? { source: "registry", digest }
      : pin || (settings.promoteDigest && !read)
        ? { source: "unknown" }
        : { source: "build" };
  const wanted = settings.promoteDigest;
  if (!wanted || pin) return candidate;
  if (!settings.promote) {
    throw new ReleaseConfigError(
      `finsight:promoteDigest must be unset when finsight:promote is false, got ${wanted}: a candidate run promotes nothing`,
    );
  }
  if (read && candidate.source !== "registry") {
    throw new ReleaseConfigError(
      `finsight:promoteDigest ${wanted}: the candidate ${qualify(releaseTag)} is not in the registry, so there is nothing verified to promote; run the candidate phase first (pulumi up with finsight:promote=false) and its checks`,
    );
  }
  if (candidate.source === "registry" && candidate.digest !== wanted) {
    throw new ReleaseConfigError(
      `finsight:promoteDigest must be the digest of ${qualify(releaseTag)}, got ${wanted}, but the registry has ${candidate.digest}: the tag does not hold what was verified, so nothing is promoted`,
    );
  }
  if (!read) context.verdict.notes.push("the candidate's digest is checked against the registry at pulumi up");
  return candidate;
}

/** Step 3: what is built, and under which exact tags; only a candidate not yet in the registry is built. */
function buildStep(context: PlanContext, candidate: CandidatePlan, baseName: string, image: ImageInputs) {
  const { inputs, targets, view, releaseTag, verdict } = context;
  const { settings, source } = inputs;
  if (candidate.source !== "build") return { builds: [], indexes: [], buildTags: [] as string[] };
  const partial = settings.platforms
    .map((platform) => `${releaseTag}-${slug(platform)}`)
    .filter((tag) => view.digests[tag]);
  if (settings.platforms.length > 1 && partial.length > 0) {
    throw new ReleaseConfigError(
      `finsight:version ${targets.version.text}: per-platform tags ${partial.join(", ")} are already in ${targets.repository.name} without ${releaseTag} (an earlier run stopped half way); an exact tag is never pushed again, so bump the version`,
    );
  }
  // Present means the registry served its manifest, whatever its tag list says.
  const present = targets.tags.exact.filter((tag) => view.digests[tag] || view.tags.includes(tag));
  for (const tag of present) {
    verdict.notes.push(`${tag} is already in the registry and is never pushed again: this build does not carry it`);
  }
  if (settings.push) {
    const refusal = sourceRefusal(inputs);
    if (refusal) verdict.refuse(refusal);
  } else if (source.uncommitted.length > 0) {
    verdict.notes.push(
      `building from uncommitted changes (${source.uncommitted.length} files); allowed because nothing is pushed`,
    );
  }
  const buildTags = targets.tags.exact.filter((tag) => !present.includes(tag));
  return { ...planBuilds(settings, targets.repository, baseName, releaseTag, buildTags, image), buildTags };
}

/** Step 4: how the floating tags move this run: with the release, held (a candidate), or to the pin. */
function floatingMode(context: PlanContext, pin: PinnedRelease | undefined, candidate: CandidatePlan): FloatingTagMode {
  const version = context.targets.version.text;
  if (pin) return { kind: "pin", pin };
  if (!context.inputs.settings.promote) return { kind: "hold", version };
  return { kind: "promote", version, ...(candidate.source === "registry" ? { digest: candidate.digest } : {}) };
}

/**
 * Step 5: what users deploy after this run (FINSIGHT_BACKEND_IMAGE, the `imageRef` output): what the
 * tag that shows the served release holds after the run (promise 3). A release that does not move it
 * (an older re-run, a maintenance release below `latest`, a prerelease) leaves the served release as it is.
 */
function servedOf(
  context: PlanContext,
  pin: PinnedRelease | undefined,
  candidate: CandidatePlan,
  floating: FloatingTagPlan[],
): ServedPlan {
  const { inputs, targets, releaseTag, qualify, read } = context;
  if (pin)
    return { kind: "image", ref: `${qualify(pin.tag)}${pin.digest ? `@${pin.digest}` : ""}`, version: pin.version };
  const now = servedNow(context);
  if (!inputs.settings.promote) {
    return {
      kind: "unchanged",
      ...(now.ref ? { ref: now.ref } : {}),
      ...(now.version ? { version: now.version } : {}),
    };
  }
  const mine = (plan: FloatingTagPlan) =>
    plan.target.kind === "release" || (candidate.source === "registry" && plan.target.reference === candidate.digest);
  // The widest tag shows the served release after the run, when it exists or this run creates it; one
  // held back while missing (a higher release is on its line) shows nothing, and no narrower one speaks for it.
  const widest = servedTagOf(targets.tags, targets.servedTags, () => true);
  const shown =
    widest && (floating.some((plan) => plan.tag === widest) || context.view.digests[widest]) ? widest : undefined;
  const moved = floating.find((plan) => plan.tag === shown);
  if (read && shown && !(moved && mine(moved)) && now.ref) {
    const why = targets.version.prerelease ? "a prerelease moves no floating tag" : `${shown} stays where it is`;
    context.verdict.notes.push(
      `${now.version ?? now.ref} stays served: ${shown} holds it, and ${targets.version.text} does not move it (${why}); only finsight:pin serves a lower version`,
    );
    return { kind: "unchanged", ref: now.ref, ...(now.version ? { version: now.version } : {}) };
  }
  const highest = context.released.filter((release) => release.stable).at(-1);
  if (read && !shown && highest && compare(targets.version.text, highest.version) < 0) {
    // No floating tag shows what is served, and a higher release exists: it may be the one users run.
    context.verdict.notes.push(
      `what is served stays as it is: no floating tag shows which release is served, and ${targets.version.text} is below ${highest.version}; set finsight:pin to serve it`,
    );
    return { kind: "unchanged" };
  }
  if (candidate.source === "registry") {
    return { kind: "image", ref: `${qualify(releaseTag)}@${candidate.digest}`, version: targets.version.text };
  }
  return { kind: "candidate" };
}

/** Step 6: what a reader of the plan should know about the source and the run. */
function sourceNotes(context: PlanContext, pin: PinnedRelease | undefined, candidate: CandidatePlan): string[] {
  const { settings, source } = context.inputs;
  const notes: string[] = [];
  if (pin)
    notes.push(`finsight:pin is set: nothing is built; the floating tags and the environment serve ${pin.version}`);
  if (candidate.source === "registry" && !pin) {
    notes.push(
      `${context.releaseTag} is already in the registry from this source: served by its digest, nothing is built or pushed`,
    );
  }
  if (candidate.source === "build" && !settings.push && !source.contextExists) {
    notes.push(`finsight:context ${JSON.stringify(settings.context)} does not exist`);
  }
  if (context.targets.tags.changesEveryRun) {
    notes.push("a {{runId}} tag changes on every run, so every `pulumi up` builds and pushes again");
  }
  if (!source.revision)
    notes.push("no git checkout at the build context and no GITHUB_SHA: the image has no revision label");
  if (source.commitEpoch === undefined) {
    notes.push(
      "no commit time (git checkout or SOURCE_DATE_EPOCH): the image has no created label and timestamps are not clamped",
    );
  }
  if (!settings.push) notes.push("finsight:push is false: the image is built but not pushed, so it has no digest");
  return notes;
}

/**
 * Everything `pulumi up` will build, push and re-point for one stack, decided without Pulumi,
 * credentials or Docker, from the inputs and the registry view read once before: the named steps
 * above, in order. The resource code projects the result and decides nothing.
 */
export function planRelease(inputs: PlanInputs, targets: ReleaseTargets, registry: RegistryView): ReleasePlan {
  const { settings } = inputs;
  const { version, repository, tags, versionTemplate } = targets;
  const verdict = judge(inputs.preview);
  const view = registryFacts(inputs, registry, verdict);
  const released = versionTemplate ? releasedVersions(view.tags, versionTemplate) : [];
  if (!versionTemplate) {
    verdict.notes.push(
      "no tag template names the version alone, so released versions cannot be read from the registry",
    );
  }
  const qualify = (tag: string) => `${repository.name}:${tag}`;
  const context: PlanContext = {
    inputs,
    targets,
    view,
    read: registry.status === "read",
    released,
    releaseTag: targets.releaseTag,
    qualify,
    verdict,
  };
  const image = planImageInputs(settings, version, inputs.source);
  const baseName = `${slug(settings.imageName)}-${settings.variant}`;

  const pin = pinOrGuards(context, image.labels);
  const candidate = candidateOf(context, pin);
  const { builds, indexes, buildTags } = buildStep(context, candidate, baseName, image);
  const mode = floatingMode(context, pin, candidate);
  const facts = registryFactsOf(context);
  const decided = planFloatingTags({
    baseName,
    tags,
    released,
    digests: view.digests,
    registryRead: context.read,
    mode,
    ...(context.read
      ? {
          rivalOf: (tag: string, line: TagLine) =>
            rivalOf(tag, (release) => onLine(line, version.text, release.version), facts),
        }
      : {}),
  });
  if (mode.kind === "promote") {
    for (const tag of tags.floating.filter((tag) => !decided.some((floating) => floating.tag === tag))) {
      verdict.notes.push(
        `${tag} is not touched: a higher stable release exists on its line and the tag is not in the registry`,
      );
    }
  }
  const shownBefore = servedNow(context).tag;
  const served = servedOf(context, pin, candidate, decided);
  // Without a push there is no digest for a tag to point at.
  const floatingTags = decided.filter((floating) => settings.push || floating.target.kind !== "release");

  // The one gate (plan/promises.ts): every push and every tag move of this plan keeps every promise.
  const broken = brokenPromises(
    {
      pushes: [...builds.flatMap((build) => build.tags), ...indexes.map((index) => index.tag)].map((tag) =>
        tag.slice(repository.name.length + 1),
      ),
      floating: floatingTags,
      served,
    },
    {
      registry: facts,
      version: pin?.version ?? version.text,
      stable: pin ? true : !version.prerelease,
      platforms: settings.platforms,
      builtPlatforms: builds.flatMap((build) => build.platforms),
      ...(pin ? { pin } : {}),
      ...(settings.promoteDigest ? { promoteDigest: settings.promoteDigest } : {}),
      ...(candidate.source === "registry" ? { candidateDigest: candidate.digest } : {}),
      exactTemplates: (settings.tags ?? DEFAULT_TAG_TEMPLATES[settings.variant]).filter(isExactTemplate),
      ...(shownBefore ? { servedTag: shownBefore } : {}),
      repository: repository.name,
    },
  );
  if (broken.length > 0 && !inputs.preview) throw new ReleaseConfigError(broken.join("\n"), broken);
  for (const line of broken) verdict.refuse(line);

  return {
    stack: inputs.stack,
    variant: settings.variant,
    phase: pin ? "rollback" : !settings.promote ? "candidate" : candidate.source === "build" ? "release" : "promote",
    repository,
    version,
    stackVersion: served.kind === "unchanged" && served.version ? served.version : version.text,
    tags,
    releaseTag: qualify(context.releaseTag),
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
            keep: served.kind === "unchanged",
            ...(served.kind === "unchanged"
              ? served.version
                ? { servedVersion: served.version }
                : {}
              : { servedVersion: pin?.version ?? version.text }),
            registryHost: repository.host,
            registryUsername: settings.registryUsername,
            hasPulumiAccessToken: settings.hasPulumiAccessToken,
            push: settings.push,
          }),
        }
      : {}),
    notes: [...verdict.notes, ...sourceNotes(context, pin, candidate)],
    warnings: verdict.warnings,
  };
}
