import { compare, type SemVer } from "semver";
import type { TagLine } from "../model/tag-template";
import type { ParsedVersion } from "../model/version-text";
import { isConfirmed, type PinnedRelease } from "./pin";
import type { ReleasedVersion } from "./released-versions";
import type { TagPlan } from "./tags";

/**
 * Where each floating tag points after this run, judged from the registry, not from the event:
 * a tag moves to a release only when that release is the highest stable one of the tag's line.
 * Releasing v1.9.1 after v2.0.1 moves `v1` and `v1.9` but leaves `latest` on v2.0.1 (the
 * complaint docker/metadata-action's users raise most, its issues #80 and #326).
 */

type TagTarget =
  /** The image this run builds; its digest is known once it is pushed. */
  | { kind: "release" }
  /** An image already in the registry: its digest, or its tag in a preview that could not read the registry. */
  | { kind: "image"; reference: string; version?: string };

export interface FloatingTagPlan {
  /** Pulumi resource name: stable per variant and tag. */
  name: string;
  /** The tag alone (`latest`); the repository is the plan's. */
  tag: string;
  target: TagTarget;
  /**
   * Where the registry said the tag pointed when this plan was made ("" = no such tag); the move is
   * refused if it points elsewhere by the time it is written. Absent when the registry was not read.
   */
  seen?: string;
  /** Why it points there, for the plan printout and the notes. */
  reason: string;
}

/** How this run treats floating tags: move them with the release, hold them (a candidate), or pin them. */
export type FloatingTagMode =
  | {
      kind: "promote";
      version: ParsedVersion /** The release's digest when the registry has it already. */;
      digest?: string;
    }
  | { kind: "hold"; version: ParsedVersion }
  | { kind: "pin"; pin: PinnedRelease };

export interface FloatingTagFacts {
  /** Resource name prefix, per variant (`finsight-backend-full`). */
  baseName: string;
  tags: TagPlan;
  /** Released versions read from the registry, lowest first. */
  released: readonly ReleasedVersion[];
  /** Current digests of the floating tags that exist in the registry. */
  digests: Readonly<Record<string, string>>;
  /** False when the registry was not read (an offline plan, a preview without it): nothing to compare with. */
  registryRead: boolean;
  mode: FloatingTagMode;
  /**
   * Promise 4: the release a tag must not move below, as the registry shows it (plan/promises.ts
   * rivalOf: the release the tag points at now). Without it, the highest stable release of its line.
   */
  rivalOf?: (tag: string, line: TagLine) => { version: string; promoted: boolean } | undefined;
}

export function onLine(line: TagLine, version: SemVer, candidate: SemVer): boolean {
  if (line === "all") return true;
  if (line === "major") return version.major === candidate.major;
  return version.major === candidate.major && version.minor === candidate.minor;
}

function lineName(line: TagLine, { major, minor }: SemVer): string {
  if (line === "all") return "of all releases";
  return line === "major" ? `of the ${major}.x line` : `of the ${major}.${minor}.x line`;
}

/** The highest stable release on `line` through `version`, or undefined when there is none. */
function highestOnLine(released: readonly ReleasedVersion[], line: TagLine, version: SemVer) {
  return released.filter((release) => release.stable && onLine(line, version, release.semver)).at(-1);
}

/** Adds a tag's plan: `add` points it at a target; `hold` keeps it where it is (a tag not in the registry is not managed). */
interface TagWriter {
  add(tag: string, target: TagTarget, reason: string): void;
  hold(tag: string, reason: string): void;
}

export function planFloatingTags(facts: FloatingTagFacts): FloatingTagPlan[] {
  const { baseName, tags, digests, registryRead, mode } = facts;
  const planned: FloatingTagPlan[] = [];
  const add = (tag: string, target: TagTarget, reason: string) => {
    planned.push({
      name: `${baseName}-tag-${tag}`,
      tag,
      target,
      ...(registryRead ? { seen: digests[tag] ?? "" } : {}),
      reason,
    });
  };
  // A tag that is not in the registry has nothing to hold; it is simply not managed this run.
  const hold = (tag: string, reason: string) => {
    if (digests[tag]) add(tag, { kind: "image", reference: digests[tag] }, reason);
  };
  const writer: TagWriter = { add, hold };

  if (mode.kind === "pin") {
    pinnedMoves(mode.pin, tags, writer);
  } else if (mode.kind === "hold") {
    for (const tag of tags.floating) hold(tag, `stays: ${mode.version.text} is a candidate (FINSIGHT_PHASE=candidate)`);
  } else {
    releaseMoves(facts, mode, writer);
  }
  return planned;
}

/** A rollback moves the pinned release's tags back on purpose, `latest` included, and holds the others. */
function pinnedMoves(pin: PinnedRelease, tags: TagPlan, { add, hold }: TagWriter): void {
  for (const tag of pin.tags.floating) {
    add(
      tag,
      { kind: "image", reference: isConfirmed(pin) ? pin.digest : pin.tag, version: pin.version },
      `pinned to ${pin.version} (finsight:pin)`,
    );
  }
  for (const tag of tags.floating.filter((tag) => !pin.tags.floating.includes(tag))) {
    hold(tag, `not moved while finsight:pin is set: ${pin.version} is not on its line`);
  }
}

/** A release moves each floating tag it is the highest stable release of the tag's line for, and holds the others. */
function releaseMoves(
  { tags, released, registryRead, rivalOf }: FloatingTagFacts,
  mode: Extract<FloatingTagMode, { kind: "promote" }>,
  { add, hold }: TagWriter,
): void {
  const { digest } = mode;
  const { text: version, semver } = mode.version;
  for (const tag of tags.floating) {
    const line = tags.floatingLines[tag];
    const highest = highestOnLine(released, line, semver);
    const rival = rivalOf ? rivalOf(tag, line) : highest && { version: highest.version, promoted: false };
    if (!rival || compare(semver, rival.version) >= 0) {
      const reason = registryRead
        ? `${version} is the highest stable release ${lineName(line, semver)}`
        : "moves with this release (the registry was not read, so no release was compared)";
      add(tag, digest ? { kind: "image", reference: digest, version } : { kind: "release" }, reason);
    } else {
      hold(
        tag,
        rival.promoted
          ? `stays: it holds ${rival.version}, a higher promoted release ${lineName(line, semver)}`
          : `stays: ${rival.version} is a higher stable release ${lineName(line, semver)}`,
      );
    }
  }
}
