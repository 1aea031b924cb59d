import { ReleaseConfigError } from "../model/errors";
import type { GitHubSettings } from "../model/github-settings";
import type { ImageRepository } from "../model/image-repository";
import { platformTag, qualify } from "../model/image-repository";
import { PHASE_VARIABLE, PROMOTE_DIGEST_VARIABLE, type RunIntent } from "../model/intent";
import type { PlanInputs } from "../model/plan-inputs";
import type { ImageFacts, RegistryView } from "../model/registry";
import { slug } from "../model/slug";
import type { TagLine } from "../model/tag-template";
import type { Variant } from "../model/variant";
import { type BuildPlan, type IndexPlan, indexName, planBuilds } from "./builds";
import { type FloatingTagMode, type FloatingTagPlan, onLine, planFloatingTags } from "./floating-tag-moves";
import { type GitHubEnvironmentPlan, planGitHubEnvironment } from "./github-environment";
import { type ImageInputs, planImageInputs } from "./image-inputs";
import { confirmPin, isConfirmed, type PinnedRelease, type RequestedPin } from "./pin";
import { brokenPromises, type RegistryFacts, rivalOf, type ServedPlan, servedByTags, servedNow } from "./promises";
import { downgradeRefusal, overwriteRefusal } from "./release-guards";
import { type ReleasedVersion, releasedVersions } from "./released-versions";
import type { TagPlan } from "./tags";
import { type ReleaseTargets, rollForwardOf } from "./targets";
import type { ResolvedVersion } from "./version";

export type { BuildPlan, IndexPlan } from "./builds";

/**
 * What this run does, in a release manager's words: `release` builds and promotes in one go (a
 * laptop), `candidate` pushes the exact tags only, `promote` moves the floating tags to a candidate
 * already in the registry, `rollback` moves them to a pinned release. Only `release` and `candidate` build.
 */
type Phase = "release" | "candidate" | "promote" | "rollback";

/** The image under the release's own tag: built by this run, or already in the registry. */
export type CandidatePlan =
  /** Built by this run: its digest is the one of the Index (several platforms) or Image named here. */
  | { source: "build"; digestOf: { index: string } | { image: string } }
  | { source: "registry"; digest: string }
  /** A preview that could not read the registry: nothing is known, nothing is built. */
  | { source: "unknown" }
  /** A rollback: nothing is built and nothing is a candidate; the pinned release is served. */
  | { source: "none" };

export type { ServedPlan } from "./promises";

export interface ReleasePlan {
  stack: string;
  variant: Variant;
  phase: Phase;
  repository: ImageRepository;
  version: ResolvedVersion;
  /**
   * The release the stack stands on after this run, what workflows check the application out at: this
   * version, except in a candidate run, where it stays the promoted release when the registry names it,
   * and in a rollback, where it is the release a roll forward returns to (whatever the checkout).
   */
  stackVersion: string;
  /** A rollback: the release removing the pin returns to, the highest stable release the registry holds. */
  rollForwardVersion?: string;
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

/** The release the registry shows served before this run (promise 3), by ref and version when it names one. */
function promotedNow(context: PlanContext): { ref?: string; version?: string } {
  const { targets } = context;
  const { ref, version } = servedNow(registryFactsOf(context), targets.tags, targets.servedTags, targets.repository);
  return { ...(ref ? { ref } : {}), ...(version ? { version } : {}) };
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
  image: ImageInputs;
  /** Resource name prefix, per variant (`finsight-backend-full`). */
  baseName: string;
}

/** What one intent decided: the steps below fill it, the plan is assembled from it. */
interface RunDecisions {
  phase: Phase;
  pin?: PinnedRelease;
  candidate: CandidatePlan;
  builds: BuildPlan[];
  indexes: IndexPlan[];
  buildTags: string[];
  mode: FloatingTagMode;
  served: ServedPlan;
  /** A rollback: the release removing the pin returns to, when the registry was read. */
  rollForward?: { version: string; tags: TagPlan };
}

/** The candidate as the registry holds it under the release's own tag, when it does (with its labels). */
function candidateInRegistry(context: PlanContext): CandidatePlan | undefined {
  const digest = context.view.digests[context.releaseTag];
  return context.view.releaseLabels && digest ? { source: "registry", digest } : undefined;
}

/** A rollback: the pin, confirmed by the registry (or as asked, in a preview that could not read it); nothing is built. */
function rollback(context: PlanContext, requested: RequestedPin): RunDecisions {
  const { targets, view, read, released, qualify } = context;
  const pin: PinnedRelease =
    read && targets.versionTemplate
      ? confirmPin(requested, released, view.digests, targets.repository.name, targets.versionTemplate)
      : requested;
  return {
    phase: "rollback",
    pin,
    candidate: { source: "none" },
    builds: [],
    indexes: [],
    buildTags: [],
    mode: { kind: "pin", pin },
    ...(read ? rollForwardStep(context) : {}),
    served: {
      kind: "image",
      ref: `${qualify(pin.tag)}${isConfirmed(pin) ? `@${pin.digest}` : ""}`,
      version: pin.version,
    },
  };
}

/** The release's guards against the registry: never overwrite a released tag, never go backwards unasked. */
function guards(context: PlanContext): void {
  const { inputs, targets, view, released, releaseTag, qualify } = context;
  if (!inputs.source.contextExists && view.releaseLabels && view.digests[releaseTag]) {
    // Nothing will be built, so there is no build to compare: the release in the registry is served as it is.
    context.verdict.notes.push(
      `no application checkout at finsight:context ${JSON.stringify(inputs.settings.context)}: ${releaseTag} is in the registry and is served by its digest; nothing is built, so the source is not needed`,
    );
    return;
  }
  // Listed but unlabelled (deleted meanwhile, an index of attestations only): building would push no
  // exact tag, yet move the floating tags to that untagged build.
  if (!view.releaseLabels && (view.tags.includes(releaseTag) || view.digests[releaseTag])) {
    throw new ReleaseConfigError(
      `finsight:version: ${qualify(releaseTag)} is listed in the registry but its image labels could not be read, so it cannot be checked against this build, and a released version tag is never overwritten; try again, and check that the tag was not deleted meanwhile`,
    );
  }
  const refusal =
    overwriteRefusal(
      { ref: qualify(releaseTag), digest: view.digests[releaseTag] },
      context.image.labels,
      view.releaseLabels,
    ) ?? (view.releaseLabels ? undefined : downgradeRefusal(targets.version, released, inputs.settings.allowDowngrade));
  if (refusal) throw refusal;
}

/**
 * The candidate of a release, candidate or promotion run. An exact tag in the registry is never pushed
 * again; it is served by its digest. A promotion gets exactly the verified digest, or nothing.
 */
function candidateOf(context: PlanContext, intent: RunIntent): CandidatePlan {
  const { read, releaseTag, qualify } = context;
  const inRegistry = candidateInRegistry(context);
  if (intent.kind !== "promotion") return inRegistry ?? buildCandidate(context);
  const wanted = intent.digest;
  if (!read) {
    context.verdict.notes.push("the candidate's digest is checked against the registry at pulumi up");
    return inRegistry ?? { source: "unknown" };
  }
  if (inRegistry?.source !== "registry") {
    throw new ReleaseConfigError(
      `${PROMOTE_DIGEST_VARIABLE} ${wanted}: the candidate ${qualify(releaseTag)} is not in the registry, so there is nothing verified to promote; run the candidate phase first (pulumi up with ${PHASE_VARIABLE}=candidate) and its checks`,
    );
  }
  if (inRegistry.digest !== wanted) {
    throw new ReleaseConfigError(
      `${PROMOTE_DIGEST_VARIABLE} must be the digest of ${qualify(releaseTag)}, got ${wanted}, but the registry has ${inRegistry.digest}: the tag does not hold what was verified, so nothing is promoted`,
    );
  }
  return inRegistry;
}

/** A candidate this run builds: its digest is the release tag's Index (several platforms) or the one Image. */
function buildCandidate(context: PlanContext): CandidatePlan {
  const { settings } = context.inputs;
  return settings.platforms.length > 1
    ? { source: "build", digestOf: { index: indexName(context.baseName, context.releaseTag) } }
    : { source: "build", digestOf: { image: context.baseName } };
}

/** What is built, and under which exact tags; only a candidate not yet in the registry is built. */
function buildStep(context: PlanContext, candidate: CandidatePlan) {
  const { inputs, targets, view, releaseTag, verdict } = context;
  const { settings, source } = inputs;
  if (candidate.source !== "build") return { builds: [], indexes: [], buildTags: [] as string[] };
  const partial = settings.platforms
    .map((platform) => platformTag(releaseTag, platform))
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
  return {
    ...planBuilds(settings, targets.repository, context.baseName, releaseTag, buildTags, context.image),
    buildTags,
  };
}

/** A release, a candidate or a promotion: guards, the candidate, its build, and how the floating tags move. */
function release(context: PlanContext, intent: Exclude<RunIntent, { kind: "rollback" }>): RunDecisions {
  const { targets, releaseTag, qualify } = context;
  const version = targets.version;
  guards(context);
  const candidate = candidateOf(context, intent);
  const built = buildStep(context, candidate);
  if (intent.kind === "candidate") {
    return {
      phase: "candidate",
      candidate,
      ...built,
      mode: { kind: "hold", version },
      served: { kind: "unchanged", ...promotedNow(context) },
    };
  }
  return {
    phase: candidate.source === "build" ? "release" : "promote",
    candidate,
    ...built,
    mode: { kind: "promote", version, ...(candidate.source === "registry" ? { digest: candidate.digest } : {}) },
    served:
      candidate.source === "registry"
        ? { kind: "image", ref: `${qualify(releaseTag)}@${candidate.digest}`, version: version.text }
        : { kind: "candidate" },
  };
}

/** What a reader of the plan should know about the source and the run. */
function sourceNotes(context: PlanContext, run: RunDecisions): string[] {
  const { settings, source } = context.inputs;
  const { pin, candidate } = run;
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

/** The environment's served image and version, as the run decided them. */
function githubFacts(context: PlanContext, run: RunDecisions) {
  const { served } = run;
  const version = run.pin?.version ?? context.targets.version.text;
  if (served.kind === "unchanged") {
    return {
      keep: true,
      ...(served.version ? { servedVersion: served.version } : {}),
      servedRef: served.ref ? { known: served.ref } : { none: true as const },
    };
  }
  return {
    keep: false,
    servedVersion: version,
    servedRef: served.kind === "image" ? { known: served.ref } : { candidate: context.qualify(context.releaseTag) },
  };
}

/**
 * Everything `pulumi up` will build, push and re-point for one stack, decided without Pulumi,
 * credentials or Docker, from the inputs and the registry view read once before. The run's intent
 * was decided with the settings; the planner switches on it once, here.
 */
export function planRelease(inputs: PlanInputs, targets: ReleaseTargets, registry: RegistryView): ReleasePlan {
  const { settings } = inputs;
  const { version, repository, tags } = targets;
  const context = planContext(inputs, targets, registry);
  const { verdict, released } = context;

  const { intent } = settings;
  const run =
    intent.kind === "rollback" && targets.pin ? rollback(context, targets.pin) : release(context, asRelease(intent));
  const decided = floatingStep(context, run);
  const ran = { ...run, served: servedStep(context, run, decided) };
  // Without a push there is no digest for a tag to point at.
  const floatingTags = decided.filter((floating) => settings.push || floating.target.kind !== "release");
  promisesStep(context, ran, floatingTags);
  return {
    stack: inputs.stack,
    variant: settings.variant,
    phase: run.phase,
    repository,
    version,
    stackVersion:
      ran.served.kind === "unchanged" && ran.served.version
        ? ran.served.version
        : (run.rollForward?.version ?? version.text),
    ...(run.rollForward ? { rollForwardVersion: run.rollForward.version } : {}),
    tags,
    releaseTag: context.qualify(context.releaseTag),
    candidate: run.candidate,
    pushedTags: settings.push ? run.buildTags.map(context.qualify) : [],
    builds: run.builds,
    indexes: run.indexes,
    floatingTags,
    served: ran.served,
    ...(run.pin ? { pin: run.pin } : {}),
    registryInsecure: settings.registryInsecure,
    registryTokenHosts: settings.registryTokenHosts,
    registry:
      registry.status === "read"
        ? { status: "read", requests: registry.requests, released: released.map((release) => release.version) }
        : { status: registry.status, reason: registry.reason },
    ...(settings.github ? { github: githubStep(context, ran, settings.github) } : {}),
    notes: [...verdict.notes, ...sourceNotes(context, ran)],
    warnings: verdict.warnings,
  };
}

/** What every step of the plan reads: the inputs, the registry facts, the releases the registry holds, and the verdict they add to. */
function planContext(inputs: PlanInputs, targets: ReleaseTargets, registry: RegistryView): PlanContext {
  const { settings } = inputs;
  const { version, repository, versionTemplate } = targets;
  const verdict = judge(inputs.preview);
  const view = registryFacts(inputs, registry, verdict);
  const released = versionTemplate ? releasedVersions(view.tags, versionTemplate) : [];
  if (!versionTemplate) {
    verdict.notes.push(
      "no tag template names the version alone, so released versions cannot be read from the registry",
    );
  }
  return {
    inputs,
    targets,
    view,
    read: registry.status === "read",
    released,
    releaseTag: targets.releaseTag,
    qualify: (tag: string) => qualify(repository, tag),
    verdict,
    image: planImageInputs(settings, version, inputs.source),
    baseName: `${slug(settings.imageName)}-${settings.variant}`,
  };
}

/** Where each floating tag points after this run; a promotion notes the tags it leaves alone. */
function floatingStep(context: PlanContext, run: RunDecisions): FloatingTagPlan[] {
  const { tags } = context.targets;
  const facts = registryFactsOf(context);
  const decided = planFloatingTags({
    baseName: context.baseName,
    // A rollback holds the roll-forward release's floating tags that the pin does not move.
    tags: run.rollForward?.tags ?? tags,
    released: context.released,
    digests: context.view.digests,
    registryRead: context.read,
    mode: run.mode,
    ...(context.read
      ? {
          rivalOf: (tag: string, line: TagLine) =>
            rivalOf(tag, (release) => onLine(line, context.targets.version.semver, release.semver), facts),
        }
      : {}),
  });
  if (run.mode.kind === "promote") {
    for (const tag of tags.floating.filter((tag) => !decided.some((floating) => floating.tag === tag))) {
      context.verdict.notes.push(
        `${tag} is not touched: a higher stable release exists on its line and the tag is not in the registry`,
      );
    }
  }
  return decided;
}

/** The stack's GitHub Actions environment, serving what the run decided. */
function githubStep(context: PlanContext, run: RunDecisions, github: GitHubSettings): GitHubEnvironmentPlan {
  const { settings } = context.inputs;
  return planGitHubEnvironment(github, {
    variant: settings.variant,
    ...githubFacts(context, run),
    registryHost: context.targets.repository.host,
    registryUsername: settings.registryUsername,
    hasPulumiAccessToken: settings.hasPulumiAccessToken,
  });
}

/**
 * In a rollback, the release a roll forward returns to (the promoted release, as the registry shows it), so
 * the outputs (and the checkout the workflows make from them) are the same from a laptop and from CI,
 * whatever the checkout or RELEASE_VERSION says.
 */
function rollForwardStep(context: PlanContext): Pick<RunDecisions, "rollForward"> {
  const found = rollForwardOf(context.targets, context.view.tags, context.view.digests);
  return found ? { rollForward: { version: found.version, tags: found.tags } } : {};
}

/** `releaseTargets` sets a pin exactly when the intent is a rollback; this narrows the type accordingly. */
function asRelease(intent: RunIntent): Exclude<RunIntent, { kind: "rollback" }> {
  if (intent.kind === "rollback") throw new Error("a rollback without a pin in its targets");
  return intent;
}

/** What is served after a release or a promotion: what its widest floating tag holds after it (promise 3). */
function servedStep(context: PlanContext, run: RunDecisions, decided: FloatingTagPlan[]): ServedPlan {
  if (run.phase !== "release" && run.phase !== "promote") return run.served;
  const { targets } = context;
  return (
    servedByTags({
      facts: registryFactsOf(context),
      tags: targets.tags,
      servedTags: targets.servedTags,
      floating: decided,
      version: targets.version,
      ...(run.candidate.source === "registry" ? { candidateDigest: run.candidate.digest } : {}),
      repository: targets.repository,
      notes: context.verdict.notes,
    }) ?? run.served
  );
}

/**
 * The one gate (plan/promises.ts): every push, tag move and served image of this plan keeps every
 * promise, judged with the registry view; what breaks one is refused, all of it together.
 */
function promisesStep(context: PlanContext, run: RunDecisions, floating: FloatingTagPlan[]): void {
  const { inputs, targets } = context;
  const { settings } = inputs;
  const facts = registryFactsOf(context);
  const { repository } = targets;
  const servedTag = servedNow(facts, targets.tags, targets.servedTags, repository).tag;
  const broken = brokenPromises(
    {
      pushes: [...run.builds.flatMap((build) => build.tags), ...run.indexes.map((index) => index.tag)].map((tag) =>
        tag.slice(repository.name.length + 1),
      ),
      floating,
      served: run.served,
    },
    {
      registry: facts,
      version: run.pin?.version ?? targets.version.text,
      stable: run.pin ? true : !targets.version.prerelease,
      platforms: settings.platforms,
      builtPlatforms: run.builds.flatMap((build) => build.platforms),
      ...(run.pin ? { pin: run.pin } : {}),
      ...(settings.intent.kind === "promotion" ? { promoteDigest: settings.intent.digest } : {}),
      ...(run.candidate.source === "registry" ? { candidateDigest: run.candidate.digest } : {}),
      exactTemplates: settings.tags.filter((template) => template.exact).map((template) => template.text),
      ...(servedTag ? { servedTag } : {}),
      repository,
    },
  );
  if (broken.length > 0 && !inputs.preview) throw new ReleaseConfigError(broken.join("\n"), broken);
  for (const line of broken) context.verdict.refuse(line);
}
