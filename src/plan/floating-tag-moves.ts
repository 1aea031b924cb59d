import { compare } from "semver";
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
  /** Why it points there, for the plan printout and the notes. */
  reason: string;
}

export interface FloatingTagInputs {
  /** Resource name prefix, per variant (`finsight-backend-full`). */
  baseName: string;
  version: string;
  tags: TagPlan;
  /** Released versions read from the registry, lowest first. */
  released: readonly ReleasedVersion[];
  /** Current digests of the floating tags that exist in the registry. */
  digests: Readonly<Record<string, string>>;
  /** False when the registry was not read (an offline plan, a preview without it): nothing to compare with. */
  registryRead: boolean;
  /** A rollback: the released version to serve, its floating tags and its image reference. */
  pin?: { version: string; tags: TagPlan; reference: string };
}

function onLine(line: TagLine, version: string, candidate: string): boolean {
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
  version,
  tags,
  released,
  digests,
  registryRead,
  pin,
}: FloatingTagInputs): FloatingTagPlan[] {
  const name = (tag: string) => `${baseName}-tag-${tag}`;
  const planned: FloatingTagPlan[] = [];
  const hold = (tag: string, reason: string) => {
    // A tag that is not in the registry has nothing to hold; it is simply not managed this run.
    if (digests[tag])
      planned.push({ name: name(tag), tag, target: { kind: "image", reference: digests[tag] }, reason });
  };

  if (pin) {
    // A rollback moves the pinned release's tags back on purpose, `latest` included.
    for (const tag of pin.tags.floating) {
      planned.push({
        name: name(tag),
        tag,
        target: { kind: "image", reference: pin.reference, version: pin.version },
        reason: `pinned to ${pin.version} (finsight:pin)`,
      });
    }
    for (const tag of tags.floating.filter((tag) => !pin.tags.floating.includes(tag))) {
      hold(tag, `not moved while finsight:pin is set: ${pin.version} is not on its line`);
    }
    return planned;
  }

  for (const tag of tags.floating) {
    const line = tags.floatingLines[tag];
    const highest = highestOnLine(released, line, version);
    if (!highest || compare(version, highest.version) >= 0) {
      const reason = registryRead
        ? `${version} is the highest stable release ${lineName(line, version)}`
        : "moves with this release (the registry was not read, so no release was compared)";
      planned.push({ name: name(tag), tag, target: { kind: "release" }, reason });
    } else {
      hold(tag, `stays: ${highest.version} is a higher stable release ${lineName(line, version)}`);
    }
  }
  return planned;
}
