import { compare } from "semver";
import type { PinnedRelease } from "./pin";
import type { ReleasedVersion } from "./released-versions";
import type { TagLine, TagPlan } from "./tags";

/**
 * Where each floating tag points after this run, judged from the registry, not from the event:
 * a tag moves to a release only when that release is the highest stable one of the tag's line.
 * Releasing v1.9.1 after v2.0.1 moves `v1` and `v1.9` but leaves `latest` on v2.0.1 (the
 * complaint docker/metadata-action's users raise most, its issues #80 and #326).
 */

export type TagTarget =
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
  | { kind: "promote"; version: string /** The release's digest when the registry has it already. */; digest?: string }
  | { kind: "hold"; version: string }
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

export function onLine(line: TagLine, version: string, candidate: string): boolean {
  const [major, minor] = version.split(".");
  const [candidateMajor, candidateMinor] = candidate.split(".");
  if (line === "all") return true;
  if (line === "major") return major === candidateMajor;
  return major === candidateMajor && minor === candidateMinor;
}

function lineName(line: TagLine, version: string): string {
  const [major, minor] = version.split(".");
  if (line === "all") return "of all releases";
  return line === "major" ? `of the ${major}.x line` : `of the ${major}.${minor}.x line`;
}

/** The highest stable release on `line` through `version`, or undefined when there is none. */
export function highestOnLine(released: readonly ReleasedVersion[], line: TagLine, version: string) {
  return released.filter((release) => release.stable && onLine(line, version, release.version)).at(-1);
}

export function planFloatingTags({
  baseName,
  tags,
  released,
  digests,
  registryRead,
  mode,
  rivalOf,
}: FloatingTagFacts): FloatingTagPlan[] {
  const planned: FloatingTagPlan[] = [];
  const add = (tag: string, target: TagTarget, reason: string) =>
    planned.push({
      name: `${baseName}-tag-${tag}`,
      tag,
      target,
      ...(registryRead ? { seen: digests[tag] ?? "" } : {}),
      reason,
    });
  // A tag that is not in the registry has nothing to hold; it is simply not managed this run.
  const hold = (tag: string, reason: string) => {
    if (digests[tag]) add(tag, { kind: "image", reference: digests[tag] }, reason);
  };

  if (mode.kind === "pin") {
    // A rollback moves the pinned release's tags back on purpose, `latest` included.
    const { pin } = mode;
    for (const tag of pin.tags.floating) {
      add(
        tag,
        { kind: "image", reference: pin.digest ?? pin.tag, version: pin.version },
        `pinned to ${pin.version} (finsight:pin)`,
      );
    }
    for (const tag of tags.floating.filter((tag) => !pin.tags.floating.includes(tag))) {
      hold(tag, `not moved while finsight:pin is set: ${pin.version} is not on its line`);
    }
    return planned;
  }
  if (mode.kind === "hold") {
    for (const tag of tags.floating) hold(tag, `stays: ${mode.version} is a candidate (finsight:promote is false)`);
    return planned;
  }

  const { version, digest } = mode;
  for (const tag of tags.floating) {
    const line = tags.floatingLines[tag];
    const highest = highestOnLine(released, line, version);
    const rival = rivalOf ? rivalOf(tag, line) : highest && { version: highest.version, promoted: false };
    if (!rival || compare(version, rival.version) >= 0) {
      const reason = registryRead
        ? `${version} is the highest stable release ${lineName(line, version)}`
        : "moves with this release (the registry was not read, so no release was compared)";
      add(tag, digest ? { kind: "image", reference: digest, version } : { kind: "release" }, reason);
    } else {
      hold(
        tag,
        rival.promoted
          ? `stays: it holds ${rival.version}, a higher promoted release ${lineName(line, version)}`
          : `stays: ${rival.version} is a higher stable release ${lineName(line, version)}`,
      );
    }
  }
  return planned;
}
