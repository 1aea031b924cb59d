import { compare } from "semver";
import { ReleaseConfigError } from "../model/errors";
import type { ParsedVersion } from "../model/version-text";
import type { ReleasedVersion } from "./released-versions";

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
  wanted: ParsedVersion,
  released: readonly ReleasedVersion[],
  allowDowngrade: boolean,
): ReleaseConfigError | undefined {
  if (allowDowngrade) return undefined;
  const stable = released.filter((release) => release.stable);
  const highest = stable.at(-1);
  const target = wanted.semver;
  const version = wanted.text;
  if (!highest || compare(target, highest.semver) >= 0) return undefined;
  if (released.some((release) => compare(release.semver, target) === 0)) return undefined; // a re-run
  const sameMinor = stable.filter(
    (release) => release.semver.major === target.major && release.semver.minor === target.minor,
  );
  const lineHighest = sameMinor.at(-1);
  if (lineHighest && compare(target, lineHighest.semver) > 0) return undefined; // a maintenance release
  const because = lineHighest
    ? `${lineHighest.version} is already released on the ${target.major}.${target.minor}.x line`
    : `the highest released version is ${highest.version}`;
  return new ReleaseConfigError(
    `finsight:version ${version} would go backwards: ${because}. Release a higher version, roll back with finsight:pin (a released version) instead, or set finsight:allowDowngrade to true on purpose`,
  );
}

/** Labels worth naming when a release differs: what a reader can check against their checkout. */
const EXPLAINING_LABELS = [
  "org.opencontainers.image.revision",
  "finsight.release.source-tree",
  "org.opencontainers.image.created",
  "org.opencontainers.image.version",
  "finsight.release.variant",
];

/**
 * A version tag names one build forever. The same source (same build-inputs label) is served from
 * the registry as it is; anything else under an existing version tag is refused, naming what differs.
 */
export function overwriteRefusal(
  release: { ref: string; digest?: string },
  planned: Readonly<Record<string, string>>,
  existing: Readonly<Record<string, string>> | undefined,
): ReleaseConfigError | undefined {
  if (existing === undefined) return undefined;
  const existingInputs = existing[BUILD_INPUTS_LABEL];
  if (existingInputs !== undefined && existingInputs === planned[BUILD_INPUTS_LABEL]) return undefined;
  const at = `${release.ref}${release.digest ? ` (${release.digest})` : ""}`;
  let what: string;
  if (existingInputs === undefined) {
    what = `not built by this stack (it has no ${BUILD_INPUTS_LABEL} label)`;
  } else {
    const differences = EXPLAINING_LABELS.filter((label) => existing[label] !== planned[label]).map(
      (label) => `${label} ${existing[label] ?? "(none)"} there, ${planned[label] ?? "(none)"} here`,
    );
    what = `built from other inputs${differences.length ? `: ${differences.join("; ")}` : " (build args, Dockerfile, target or platforms)"}`;
  }
  return new ReleaseConfigError(
    `finsight:version: ${at} is already released, ${what}, and a released version tag is never overwritten. Bump the version to release this build, or set finsight:pin to serve a released version`,
  );
}
