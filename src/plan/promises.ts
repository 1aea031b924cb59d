import { compare, SemVer, valid } from "semver";
import { type ImageRepository, qualify } from "../model/image-repository";
import type { PlatformName } from "../model/platforms";
import type { ImageFacts } from "../model/registry";
import { PLACEHOLDER } from "../model/tag-template";
import { versionText } from "../model/version-text";
import type { FloatingTagPlan } from "./floating-tag-moves";
import type { ReleasedVersion } from "./released-versions";
import { placeholderValues, type TagPlan } from "./tags";

/**
 * The release's promises, stated once, as invariants over what the registry holds and what the stack
 * serves. Every push and every manifest write of a run is in its plan (the resources project the plan
 * and decide nothing), and every plan passes `brokenPromises` below, with the registry view in hand,
 * before it is returned: that is the one gate. The floating-tag provider keeps the last promise at
 * write time, re-reading each tag just before it writes it.
 *
 * 1. No tag that names a release is ever written with other bytes: an exact tag in the registry is
 *    never pushed again, exact tags of different versions never collide, a floating tag never renders
 *    any version's exact tag, and a prerelease never renders a stable version's tags.
 * 2. Every digest that a floating tag, FINSIGHT_BACKEND_IMAGE or a pin points at holds every platform
 *    in finsight:platforms.
 * 3. What is served never goes to a lower version except by finsight:pin.
 * 4. Only promoted releases count for the floating-tag rules: a floating tag's rival is the release it
 *    points at now, as the registry shows it.
 * 5. Same content, same release: a re-run whose content matches the released tag is served by its
 *    digest, whatever the commit.
 * 6. The clean-tree check looks at the files the build would send, as they are on disk.
 * 7. An interrupted promotion or rollback converges: the next run completes it, and no floating tag
 *    ends on a digest the plan did not choose.
 *
 * test/props/ checks each promise after every step of generated histories of releases, candidates,
 * promotions, pins, re-runs, failed writes and foreign tag moves.
 */

// ---------------------------------------------------------------------------------------------
// Promise 1 at config time: which release a tag names, read back through a template.
// ---------------------------------------------------------------------------------------------

/** What a placeholder can render to; `version` is checked with semver after the match. */
const PLACEHOLDER_PATTERNS: Record<string, string> = {
  version: "(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)(?:-[0-9A-Za-z.-]+)?(?:_[0-9A-Za-z.-]+)?",
  major: "0|[1-9]\\d*",
  minor: "0|[1-9]\\d*",
  patch: "0|[1-9]\\d*",
  sha: "[0-9a-f]{7}",
  runId: "\\d+",
};

/** Who owns a tag that an exact template renders: one version, one build (commit or run), or no one in particular. */
type TagOwner = { kind: "version"; version: string } | { kind: "build"; by: "sha" | "runId" } | { kind: "ambiguous" };

/** The template as a regular expression, one named group per placeholder (a repeat must render the same text). */
function templatePattern(template: string): RegExp {
  let pattern = "";
  let last = 0;
  const seen = new Set<string>();
  for (const match of template.matchAll(PLACEHOLDER)) {
    pattern += literally(template.slice(last, match.index));
    const name = match[1];
    pattern += seen.has(name) ? `\\k<${name}>` : `(?<${name}>${PLACEHOLDER_PATTERNS[name] ?? "(?!)"})`;
    seen.add(name);
    last = (match.index ?? 0) + match[0].length;
  }
  return new RegExp(`^${pattern}${literally(template.slice(last))}$`);
}
const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Which release `tag` names when read through the exact template `template`, or undefined when the
 * template cannot render it. `v{{major}}.{{minor}}.{{patch}}` renders v1.5.0 for 1.5.0 and for
 * 1.5.0-rc.1 alike: it names the stable 1.5.0.
 */
function ownerOf(tag: string, template: string): TagOwner | undefined {
  const groups = templatePattern(template).exec(tag)?.groups;
  if (!groups) return undefined;
  const numbers = (["major", "minor", "patch"] as const).map((name) => groups[name]);
  if (groups.version !== undefined) {
    const text = groups.version.replace("_", "+");
    if (!valid(text)) return undefined;
    const parsed = new SemVer(text);
    const parts = [parsed.major, parsed.minor, parsed.patch];
    if (numbers.some((value, i) => value !== undefined && Number(value) !== parts[i])) return undefined;
    return { kind: "version", version: versionText(parsed) };
  }
  if (numbers.every((value) => value !== undefined)) return { kind: "version", version: numbers.join(".") };
  if (groups.sha !== undefined) return { kind: "build", by: "sha" };
  if (groups.runId !== undefined) return { kind: "build", by: "runId" };
  return { kind: "ambiguous" };
}

const IMMUTABLE = ["version", "patch", "sha", "runId"];
const placeholders = (template: string) => [...template.matchAll(PLACEHOLDER)].map((match) => match[1]);
/** A template naming one build (its version, patch, commit or run): its tags are never moved. */
const isExactTemplate = (template: string) => placeholders(template).some((name) => IMMUTABLE.includes(name));

export interface RenderFacts {
  version: { text: string; major: number; minor: number; patch: number };
  revision?: string;
  runId?: string;
}

/** The tag a template gives this version, floating templates included whether or not this version gets them. */
function renderAny(template: string, facts: RenderFacts): string | undefined {
  const values: Record<string, string | undefined> = placeholderValues(facts);
  if (placeholders(template).some((name) => values[name] === undefined)) return undefined; // reported by planTags
  return template.replace(PLACEHOLDER, (_, name: string) => values[name] as string);
}

function ownerText(owner: TagOwner, template: string): string {
  if (owner.kind === "version")
    return `the exact tag of release ${owner.version} (template ${JSON.stringify(template)})`;
  if (owner.kind === "build") {
    return `the exact tag of another build (template ${JSON.stringify(template)} names a ${owner.by === "sha" ? "commit" : "run"})`;
  }
  return `an exact tag of template ${JSON.stringify(template)}, which does not name one release`;
}

/**
 * Promise 1, decided from the templates before the registry is asked anything: every way this list
 * could write a tag that names a release with other bytes, one line each, naming the template and the
 * release it would overwrite. Exact tags of this version must name this version alone; a floating tag
 * (rendered as this version would, even when this version does not move it) must render no exact tag.
 */
export function templateProblems(templates: readonly string[], facts: RenderFacts): string[] {
  const exact = templates.filter(isExactTemplate);
  const problems: string[] = [];
  for (const template of templates) {
    const tag = renderAny(template, facts);
    if (tag === undefined) continue;
    for (const other of exact) {
      const owner = ownerOf(tag, other);
      if (!owner) continue;
      if (!isExactTemplate(template)) {
        problems.push(
          `finsight:tags template ${JSON.stringify(template)} is a floating tag that renders ${tag}, ${ownerText(owner, other)}: a tag that names a release is never moved; remove the template or give it text no version tag has`,
        );
        break;
      }
      if (owner.kind === "build") continue; // a commit or run tag names one build; the registry check keeps it
      if (owner.kind === "version" && owner.version === facts.version.text) continue;
      problems.push(
        `finsight:tags template ${JSON.stringify(template)} renders ${tag} for ${facts.version.text}, ${ownerText(owner, other)}: exact tags of different versions must never collide${owner.kind === "version" && !owner.version.includes("-") && facts.version.text.includes("-") ? " (a prerelease never takes a stable version's tag)" : ""}; use {{version}}`,
      );
      break;
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Promises 2 to 4: the registry facts the plan decides with, and the gate checks against.
// ---------------------------------------------------------------------------------------------

/** The registry as the plan relies on it (a view that was read, or an empty one in a preview without it). */
export interface RegistryFacts {
  read: boolean;
  tags: readonly string[];
  digests: Readonly<Record<string, string>>;
  images?: Readonly<Record<string, ImageFacts>>;
  released: readonly ReleasedVersion[];
}

/** Where a floating tag points now: a release (promoted there), nothing, or an image the registry does not name. */
type Holder =
  | { kind: "release"; version: string; tag: string; digest: string }
  | { kind: "absent" }
  | { kind: "unknown"; digest?: string };

/**
 * The release a floating tag points at now: the release whose own tag has the same digest (among
 * those the view read), or the release the image's version label names when its own tag confirms it.
 */
function holderOf(tag: string, facts: RegistryFacts): Holder {
  const digest = facts.digests[tag];
  if (!digest) return facts.tags.includes(tag) ? { kind: "unknown" } : { kind: "absent" };
  const byTag = [...facts.released].reverse().find((release) => facts.digests[release.tag] === digest);
  if (byTag) return { kind: "release", version: byTag.version, tag: byTag.tag, digest };
  const confirmed = facts.images?.[digest]?.release;
  if (confirmed && valid(confirmed.version)) return { kind: "release", ...confirmed, digest };
  return { kind: "unknown", digest };
}

/**
 * Promise 4: the release a floating tag must not move below. The release it points at now, when the
 * registry shows one (a candidate that was never promoted is no rival); when it cannot (the tag is
 * missing, or holds an image no release tag confirms), every stable release on its line, so a tag never
 * moves backwards on a guess.
 */
export function rivalOf(
  tag: string,
  onLine: (release: ReleasedVersion) => boolean,
  facts: RegistryFacts,
): { version: string; promoted: boolean } | undefined {
  const holder = holderOf(tag, facts);
  if (holder.kind === "release") return { version: holder.version, promoted: true };
  const highest = facts.released.filter((release) => release.stable && onLine(release)).at(-1);
  return highest ? { version: highest.version, promoted: false } : undefined;
}

/**
 * The tag that shows what the stack serves: a floating tag of every release (`latest`, `demo`), else
 * the widest line this version has, the first of them the registry holds (or this run moves).
 */
function servedTagOf(
  tags: Pick<TagPlan, "floating" | "floatingLines">,
  allLineTags: readonly string[],
  present: (tag: string) => boolean,
): string | undefined {
  const order = { all: 0, major: 1, minor: 2 };
  const rendered = [...tags.floating].sort((a, b) => order[tags.floatingLines[a]] - order[tags.floatingLines[b]]);
  return [...new Set([...allLineTags, ...rendered])].find(present);
}

/** The platforms `digest` lacks, or undefined when the view did not describe it. */
function missingPlatforms(
  digest: string,
  wanted: readonly PlatformName[],
  images: Readonly<Record<string, ImageFacts>> | undefined,
): string[] | undefined {
  const image = images?.[digest];
  if (!image) return undefined;
  return wanted.filter((platform) => !image.platforms.includes(platform));
}

// ---------------------------------------------------------------------------------------------
// The gate.
// ---------------------------------------------------------------------------------------------

/** Every write a plan makes, as the gate sees it. */
export interface PlannedWrites {
  /** Bare exact tags pushed by the builds and indexes of this run (per-platform tags included). */
  pushes: string[];
  floating: FloatingTagPlan[];
  /** What FINSIGHT_BACKEND_IMAGE and `imageRef` name after the run. */
  served: ServedPlan;
}

/** What FINSIGHT_BACKEND_IMAGE and the `imageRef` output name: what users deploy. */
export type ServedPlan =
  | { kind: "candidate" }
  | { kind: "image"; ref: string; version?: string }
  /** A candidate run: the previously promoted release stays, as the registry shows it (none yet: empty). */
  | { kind: "unchanged"; ref?: string; version?: string };

export interface GateFacts {
  registry: RegistryFacts;
  /** The version this run releases (or the pin's, for a rollback). */
  version: string;
  stable: boolean;
  platforms: readonly PlatformName[];
  /** The platforms this run's builds produce (empty when nothing is built). */
  builtPlatforms: readonly string[];
  pin?: { version: string; digest?: string; tag: string };
  /** The verified digest a promotion names (finsight:promoteDigest / FINSIGHT_PROMOTE_DIGEST). */
  promoteDigest?: string;
  /** The candidate's digest when it is in the registry. */
  candidateDigest?: string;
  exactTemplates: readonly string[];
  /** The floating tags that show what is served (see servedTagOf), widest first. */
  servedTag?: string;
  repository: ImageRepository;
}

const digestOfRef = (ref: string) => (ref.includes("@") ? ref.slice(ref.indexOf("@") + 1) : undefined);

/**
 * The one gate: every promise checked against every write of the plan, with the registry view in
 * hand. Returns the broken promises, one line each naming what and why; the plan refuses them all
 * together (a preview shows them as warnings that `pulumi up` will refuse).
 */
export function brokenPromises(writes: PlannedWrites, facts: GateFacts): string[] {
  const broken = exactTagProblems(writes, facts);
  if (!facts.registry.read) return broken; // nothing to compare with: a preview without the registry warns already
  const moves = writes.floating.filter(
    (floating) => !(floating.target.kind === "image" && floating.target.reference === floating.seen),
  );
  return [
    ...broken,
    ...platformProblems(writes, moves, facts),
    ...promotionProblems(moves, facts),
    ...(facts.pin ? pinProblems(moves, facts.pin) : rivalProblems(moves, facts)),
    ...servedProblems(writes.served, facts),
  ];
}

/** Promise 1: an exact tag in the registry is never pushed again; a floating tag is never an exact tag. */
function exactTagProblems(writes: PlannedWrites, facts: GateFacts): string[] {
  const { registry } = facts;
  const broken: string[] = [];
  for (const tag of writes.pushes) {
    if (registry.digests[tag] || registry.tags.includes(tag)) {
      broken.push(
        `promise 1: ${qualify(facts.repository, tag)} is already in the registry and would be pushed again; a tag that names a release is never written with other bytes`,
      );
    }
  }
  for (const floating of writes.floating) {
    const owner = facts.exactTemplates.map((template) => ownerOf(floating.tag, template)).find(Boolean);
    const released = registry.released.find((release) => release.tag === floating.tag);
    if (owner || released) {
      broken.push(
        `promise 1: floating tag ${floating.tag} names a release${released ? ` (${released.version})` : ""}; a tag that names a release is never moved`,
      );
    }
  }
  return broken;
}

/** Promise 2: whatever is pointed at or served holds every platform, and so does this run's build when a move or the service uses it. */
function platformProblems(writes: PlannedWrites, moves: readonly FloatingTagPlan[], facts: GateFacts): string[] {
  const { registry } = facts;
  const broken: string[] = [];
  const where = (tag: string) => qualify(facts.repository, tag);
  const targets = new Map<string, string>();
  for (const floating of moves) {
    if (floating.target.kind === "image") {
      const label = floating.target.version
        ? where(`${releaseTagOf(floating.target.version, registry) ?? floating.tag}`)
        : where(floating.tag);
      targets.set(floating.target.reference, `${label}@${floating.target.reference}`);
    }
  }
  if (writes.served.kind === "image") {
    const digest = digestOfRef(writes.served.ref);
    if (digest) targets.set(digest, writes.served.ref);
  }
  for (const [digest, what] of targets) {
    const missing = missingPlatforms(digest, facts.platforms, registry.images);
    if (missing === undefined) {
      broken.push(
        `promise 2: the registry view does not say which platforms ${what} holds, so it is not pointed at or served`,
      );
    } else if (missing.length > 0) {
      broken.push(
        `promise 2: ${what} lacks ${missing.join(", ")} (finsight:platforms), so it is not ${facts.pin ? "pinned" : "promoted or served"}; release a version built for every platform`,
      );
    }
  }
  const builds = moves.some((floating) => floating.target.kind === "release") || writes.served.kind === "candidate";
  if (builds) {
    const missing = facts.platforms.filter((platform) => !facts.builtPlatforms.includes(platform));
    if (missing.length > 0) broken.push(`promise 2: this run's build lacks ${missing.join(", ")}`);
  }
  return broken;
}

/** Promise 7 for a promotion: every move is to the verified digest. */
function promotionProblems(moves: readonly FloatingTagPlan[], facts: GateFacts): string[] {
  if (!facts.promoteDigest || facts.pin) return [];
  const digest = facts.promoteDigest;
  return moves
    .filter((floating) => floating.target.kind !== "image" || floating.target.reference !== digest)
    .map(
      (floating) =>
        `promise 7: floating tag ${floating.tag} would move to something other than the verified digest ${digest}`,
    );
}

/** Promise 7 for a rollback: every move is to the pinned release's digest. */
function pinProblems(moves: readonly FloatingTagPlan[], pin: NonNullable<GateFacts["pin"]>): string[] {
  return moves
    .filter((floating) => floating.target.kind !== "image" || (pin.digest && floating.target.reference !== pin.digest))
    .map(
      (floating) =>
        `promise 7: floating tag ${floating.tag} would move to something other than the pinned ${pin.version}`,
    );
}

/** Promise 4 (and "floating tags never move backwards"): a move with the release goes no lower than the tag's rival. */
function rivalProblems(moves: readonly FloatingTagPlan[], facts: GateFacts): string[] {
  const broken: string[] = [];
  for (const floating of moves) {
    const holder = holderOf(floating.tag, facts.registry);
    if (!facts.stable) {
      broken.push(`promise 4: floating tag ${floating.tag} would move to a prerelease (${facts.version})`);
    } else if (holder.kind === "release" && compare(facts.version, holder.version) < 0) {
      broken.push(
        `promise 4: floating tag ${floating.tag} would move back from ${holder.version} to ${facts.version}; only finsight:pin moves a tag back`,
      );
    }
  }
  return broken;
}

/** Promise 3: what is served never goes down a version except by pin. */
function servedProblems(served: PlannedWrites["served"], facts: GateFacts): string[] {
  if (facts.pin || served.kind === "unchanged") return [];
  const { registry } = facts;
  const broken: string[] = [];
  const servedVersion = served.kind === "candidate" ? facts.version : served.version;
  const before = facts.servedTag ? holderOf(facts.servedTag, registry) : { kind: "absent" as const };
  if (before.kind === "release" && servedVersion && compare(servedVersion, before.version) < 0) {
    broken.push(
      `promise 3: serving ${servedVersion} would lower what is served from ${before.version} (${facts.servedTag} holds it); only finsight:pin serves a lower version`,
    );
  }
  if (before.kind === "absent" && servedVersion) {
    // Nothing in the registry shows what is served: no release above this one may have been.
    const highest = registry.released.filter((release) => release.stable).at(-1);
    if (highest && compare(servedVersion, highest.version) < 0) {
      broken.push(
        `promise 3: serving ${servedVersion} could lower what is served: ${highest.version} is released and no floating tag shows which release is served; add a floating template such as latest to finsight:tags, or serve a lower version with finsight:pin`,
      );
    }
  }
  return broken;
}

function releaseTagOf(version: string, registry: RegistryFacts): string | undefined {
  return registry.released.find((release) => release.version === version)?.tag;
}

// ---------------------------------------------------------------------------------------------
// Promise 3: what the stack serves, judged from the tags.
// ---------------------------------------------------------------------------------------------

/** What the registry shows served before a run: the served tag, and the release it holds (or its digest). */
export function servedNow(
  facts: RegistryFacts,
  tags: Pick<TagPlan, "floating" | "floatingLines">,
  servedTags: readonly string[],
  repository: ImageRepository,
): { tag?: string; ref?: string; version?: string } {
  const tag = servedTagOf(tags, servedTags, (floating) => !!facts.digests[floating]);
  if (!tag) return {};
  const holder = holderOf(tag, facts);
  return holder.kind === "release"
    ? { tag, ref: `${qualify(repository, holder.tag)}@${holder.digest}`, version: holder.version }
    : { tag, ref: `${qualify(repository, tag)}@${facts.digests[tag]}` };
}

/**
 * Promise 3 for a release or a promotion: what is served after the run is what the stack's floating tag
 * of every release (`latest`, `demo`) holds after it. When this run moves that tag (or creates it), this
 * release is served; when the tag stays on a higher release (an older re-run, a maintenance release
 * below `latest`), that release stays served, and the plan says so. A prerelease moves no floating tag,
 * so it is never served (its candidateRef names it). Without such a tag the registry cannot show what
 * is served: this release is served only when no higher release exists. Undefined: serve this release.
 */
export function servedByTags(run: {
  facts: RegistryFacts;
  tags: Pick<TagPlan, "floating" | "floatingLines">;
  servedTags: readonly string[];
  floating: readonly FloatingTagPlan[];
  version: { text: string; prerelease: boolean };
  candidateDigest?: string;
  repository: ImageRepository;
  notes: string[];
}): { kind: "unchanged"; ref?: string; version?: string } | undefined {
  const { facts } = run;
  if (!facts.read) return undefined; // nothing to compare with: the release is served, as before the promises
  const now = servedNow(facts, run.tags, run.servedTags, run.repository);
  const unchanged = (why: string) => {
    run.notes.push(
      `${now.version ?? now.ref ?? "what is served"} stays served: ${why}; only finsight:pin serves a lower version`,
    );
    return {
      kind: "unchanged" as const,
      ...(now.ref ? { ref: now.ref } : {}),
      ...(now.version ? { version: now.version } : {}),
    };
  };
  if (run.version.prerelease) return unchanged(`${run.version.text} is a prerelease, which moves no floating tag`);
  const shown = run.servedTags[0];
  if (shown) {
    const moved = run.floating.find((plan) => plan.tag === shown);
    const mine =
      moved &&
      (moved.target.kind === "release" ||
        (run.candidateDigest !== undefined && moved.target.reference === run.candidateDigest));
    if (mine) return undefined;
    return unchanged(
      facts.digests[shown]
        ? `${shown} holds it, and ${run.version.text} does not move it`
        : `${shown} is not in the registry and ${run.version.text} does not create it (a higher release is on its line)`,
    );
  }
  const highest = facts.released.at(-1);
  if (highest && compare(run.version.text, highest.version) < 0) {
    run.notes.push(
      `what is served stays as it is: no floating tag of every release (such as latest) shows what is served, and ${run.version.text} is below ${highest.version}; set finsight:pin to serve it`,
    );
    return { kind: "unchanged" };
  }
  return undefined;
}
