import { compare, SemVer } from "semver";
import { ReleaseConfigError } from "../errors";
import { closestReleased, type ReleasedVersion, tagForVersion } from "./released-versions";

/**
 * The checks a release must pass against what the registry already holds, before anything is
 * built or pushed. Pure: the registry's tags and labels are read elsewhere and passed in.
 */

/** The label that records what a release was built from; the guard compares it, never the clock. */
export const BUILD_INPUTS_LABEL = "finsight.release.build-inputs";

/**
 * Refuses a version lower than the highest released stable one. A maintenance release is not a
 * downgrade: 1.9.1 after 2.0.1 is fine when 1.9.x has been released and 1.9.1 is its new highest
 * (the floating-tag rules then keep `latest` on 2.0.1). 1.3.0 after 1.4.0, or 1.9.0 after 1.9.1,
 * would go backwards.
 */
export function downgradeRefusal(
  version: string,
  released: readonly ReleasedVersion[],
  allowDowngrade: boolean,
): ReleaseConfigError | undefined {
  if (allowDowngrade) return undefined;
  const stable = released.filter((release) => release.stable);
  const highest = stable.at(-1);
  if (!highest || compare(version, highest.version) >= 0) return undefined;
  if (released.some((release) => compare(release.version, version) === 0)) return undefined; // a re-run
  const target = new SemVer(version);
  const sameMinor = stable.filter((release) => {
    const parsed = new SemVer(release.version);
    return parsed.major === target.major && parsed.minor === target.minor;
  });
  const lineHighest = sameMinor.at(-1);
  if (lineHighest && compare(version, lineHighest.version) > 0) return undefined; // a maintenance release
  const because = lineHighest
    ? `${lineHighest.version} is already released on the ${target.major}.${target.minor}.x line`
    : `the highest released version is ${highest.version}`;
  return new ReleaseConfigError(
    `finsight:version ${version} would go backwards: ${because}. Release a higher version, roll back with finsight:pin (a released version) instead, or set finsight:allowDowngrade to true on purpose`,
  );
}

/**
 * A version tag names one build forever. A re-run of the same release (same build inputs) is fine;
 * anything else under an existing version tag is refused.
 */
export function overwriteRefusal(
  releaseRef: string,
  plannedInputs: string,
  existingLabels: Readonly<Record<string, string>> | undefined,
): ReleaseConfigError | undefined {
  if (existingLabels === undefined) return undefined;
  const existing = existingLabels[BUILD_INPUTS_LABEL];
  if (existing === plannedInputs) return undefined;
  const revision = existingLabels["org.opencontainers.image.revision"];
  const what = existing
    ? `built from other inputs${revision ? ` (commit ${revision})` : ""}`
    : `not built by this stack (it has no ${BUILD_INPUTS_LABEL} label)`;
  return new ReleaseConfigError(
    `finsight:version: ${releaseRef} is already released, ${what}, and a released version tag is never overwritten. Bump the version to release this build, or set finsight:pin to serve a released version`,
  );
}

/** A pin names a stable version; whether it was released is checked against the registry later. */
export function parsePin(pin: string): string {
  let parsed: SemVer;
  try {
    parsed = new SemVer(pin.trim());
  } catch {
    throw new ReleaseConfigError(
      `finsight:pin must be a released version such as 1.3.2 or v1.3.2, got ${JSON.stringify(pin)}`,
    );
  }
  if (parsed.prerelease.length > 0) {
    throw new ReleaseConfigError(
      `finsight:pin must be a stable release (floating tags never point at a prerelease), got ${JSON.stringify(pin)}`,
    );
  }
  return parsed.build.length ? `${parsed.version}+${parsed.build.join(".")}` : parsed.version;
}

/** The registry tag of a pinned version; the message lists the nearest released ones when there is none. */
export function pinnedRelease(
  pin: string,
  version: string,
  released: readonly ReleasedVersion[],
  repository: string,
  template: string,
): ReleasedVersion {
  const match = released.find((release) => release.version === version);
  if (match) return match;
  const closest = closestReleased(
    released.filter((release) => release.stable),
    version,
  );
  throw new ReleaseConfigError(
    `finsight:pin must be a version released in ${repository}, got ${JSON.stringify(pin)}: there is no tag ${tagForVersion(template, version)}. ${closest.length ? `Closest released versions: ${closest.join(", ")}` : "No released version was found"}`,
  );
}
