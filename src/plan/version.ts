import { ReleaseConfigError } from "../model/errors";
import type { ConfiguredVersion } from "../model/settings";
import { type ParsedVersion, parseVersionSetting, VERSION_ACCEPTED } from "../model/version-text";

/** Where the release version came from, in the order they are consulted. */
export type VersionSource = "config" | "--version" | "RELEASE_VERSION" | "git tag" | "VERSION file" | "pin";

export interface VersionInputs {
  /** `finsight:version` from the stack config, or `npm run plan --version`. */
  configured?: ConfiguredVersion;
  /** The environment variables that can carry a version. */
  env: { RELEASE_VERSION?: string; GITHUB_REF_TYPE?: string; GITHUB_REF_NAME?: string };
  /** The VERSION file at the root of the build context, when it exists. */
  versionFile?: { path: string; content: string };
  /** A rollback's pinned version: it stands in when no other source names one, since nothing is built. */
  fallback?: string;
}

export interface ResolvedVersion extends ParsedVersion {
  major: number;
  minor: number;
  patch: number;
  prerelease: boolean;
  /** Build metadata (`build.7` in `1.4.0+build.7`), empty when there is none. */
  build: string;
  source: VersionSource;
}

const ACCEPTED = VERSION_ACCEPTED;

function parse(setting: string, value: string, source: VersionSource): ResolvedVersion {
  const { text, semver: parsed } = parseVersionSetting(setting, value);
  return {
    text,
    semver: parsed,
    major: parsed.major,
    minor: parsed.minor,
    patch: parsed.patch,
    prerelease: parsed.prerelease.length > 0,
    build: parsed.build.join("."),
    source,
  };
}

/** Whether any source names a version (without judging it): a run without one can still list releases. */
export function versionGiven(inputs: Omit<VersionInputs, "fallback">): boolean {
  const { configured, env, versionFile } = inputs;
  return Boolean(
    configured?.text.trim() ||
      env.RELEASE_VERSION?.trim() ||
      (env.GITHUB_REF_TYPE === "tag" && env.GITHUB_REF_NAME?.trim()) ||
      versionFile?.content.trim(),
  );
}

/**
 * The first source that is set wins: stack config, then `RELEASE_VERSION`, then the pushed
 * tag of a CI run, then the VERSION file. A source that is set but invalid is an error, never
 * skipped, so a typo cannot silently release another version.
 */
export function resolveVersion(inputs: VersionInputs): ResolvedVersion {
  const { configured, env, versionFile, fallback } = inputs;
  if (configured?.text.trim()) {
    return parse(configured.from === "config" ? "finsight:version" : "--version", configured.text, configured.from);
  }
  if (env.RELEASE_VERSION?.trim()) return parse("RELEASE_VERSION", env.RELEASE_VERSION, "RELEASE_VERSION");
  if (env.GITHUB_REF_TYPE === "tag" && env.GITHUB_REF_NAME?.trim()) {
    return parse("GITHUB_REF_NAME (the pushed tag)", env.GITHUB_REF_NAME, "git tag");
  }
  if (versionFile?.content.trim())
    return parse(`VERSION file ${versionFile.path}`, versionFile.content, "VERSION file");
  if (fallback) return parse("finsight:pin", fallback, "pin");
  throw new ReleaseConfigError(
    `finsight:version must be ${ACCEPTED}, got no version from any source: set finsight:version, RELEASE_VERSION, push a tag vX.Y.Z (GITHUB_REF_TYPE=tag), or add a VERSION file at the root of the build context${versionFile ? ` (${versionFile.path} is empty)` : ""}`,
  );
}
