import type { SemVer } from "semver";

/**
 * The one canonical text of a version: semver's own, without a `v`, keeping build metadata
 * (`1.4.0+build.7`), which `SemVer.version` drops. Shared by the settings, the planner and the
 * reading of released versions, so a version is spelled the same wherever it is compared.
 */
export const versionText = (parsed: SemVer): string =>
  parsed.build.length ? `${parsed.version}+${parsed.build.join(".")}` : parsed.version;
