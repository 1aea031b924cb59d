import { compare, SemVer } from "semver";
import { PLATFORM_SUFFIXES } from "../model/image-repository";
import type { VersionTemplate } from "../model/tag-template";
import { versionText } from "../model/version-text";
import { tagForVersion } from "./tags";

/**
 * What the registry says has been released, read back from its tag names with the stack's own
 * version template (`v{{version}}`, `demo-v{{version}}`). Pure: the tag list is fetched elsewhere.
 */

export interface ReleasedVersion {
  /** Canonical semver text (`1.4.0`, `1.5.0-rc.1`, `1.4.0+build.7`). */
  version: string;
  /** Its parsed form, read once from the tag. */
  semver: SemVer;
  /** The registry tag it was read from (`v1.4.0`). */
  tag: string;
  stable: boolean;
}

/** Every registry tag that reads back as a version through the template, lowest first. */
export function releasedVersions(tags: readonly string[], template: VersionTemplate): ReleasedVersion[] {
  const { prefix, suffix } = template.versionAlone;
  const found = new Map<string, ReleasedVersion>();
  for (const tag of tags) {
    if (!tag.startsWith(prefix) || !tag.endsWith(suffix) || tag.length <= prefix.length + suffix.length) continue;
    if (PLATFORM_SUFFIXES.some((platformSuffix) => tag.endsWith(platformSuffix))) continue;
    const text = tag.slice(prefix.length, tag.length - suffix.length).replace("_", "+"); // the inverse of versionTagText
    let parsed: SemVer;
    try {
      parsed = new SemVer(text);
    } catch {
      continue; // `v2-beta`, `vlatest`: tags of another kind
    }
    if (parsed.raw !== text) continue; // no loose or `v`-prefixed forms inside the template
    const version = versionText(parsed);
    if (tagForVersion(template, version) !== tag) continue;
    found.set(version, { version, semver: parsed, tag, stable: parsed.prerelease.length === 0 });
  }
  return [...found.values()].sort((a, b) => compare(a.semver, b.semver));
}

/**
 * Up to `count` released versions nearest to `wanted`, nearest first: its own minor line, then its
 * major line, then the rest, each by distance in release order. What a mistyped pin most likely meant.
 */
export function closestReleased(released: readonly ReleasedVersion[], wanted: string, count = 5): string[] {
  let target: SemVer;
  try {
    target = new SemVer(wanted);
  } catch {
    return released
      .slice(-count)
      .reverse()
      .map((release) => release.version);
  }
  const below = released.filter((release) => compare(release.semver, target) < 0).length;
  const key = (release: ReleasedVersion, index: number) => {
    const version = release.semver;
    const otherMajor = version.major !== target.major;
    return [
      otherMajor ? 1 : 0,
      otherMajor || version.minor !== target.minor ? 1 : 0,
      index < below ? below - index : index - below + 1,
    ];
  };
  return released
    .map((release, index) => ({ release, key: key(release, index) }))
    .sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2])
    .slice(0, count)
    .map(({ release }) => release.version);
}
