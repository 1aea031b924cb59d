import { SemVer } from "semver";
import { invalidSetting } from "./errors";

/**
 * The one canonical text of a version: semver's own, without a `v`, keeping build metadata
 * (`1.4.0+build.7`), which `SemVer.version` drops. Shared by the settings, the planner and the
 * reading of released versions, so a version is spelled the same wherever it is compared.
 */
export const versionText = (parsed: SemVer): string =>
  parsed.build.length ? `${parsed.version}+${parsed.build.join(".")}` : parsed.version;

/** A version parsed once, where it is read: its canonical text and semver's parsed form travel together. */
export interface ParsedVersion {
  /** Canonical semver text, without the `v` prefix (`1.5.0-rc.1`, `1.4.0+build.7`). */
  text: string;
  semver: SemVer;
}

/** A version already known to be valid (canonical text from a parsed one): parsed once more into its value. */
export const parsedVersion = (text: string): ParsedVersion => {
  const semver = new SemVer(text);
  return { text: versionText(semver), semver };
};

export const VERSION_ACCEPTED = "a semantic version such as 1.4.0, v1.4.0 or 1.5.0-rc.1";

/** A version as a setting gives it, parsed strictly (`1.4`, `01.2.3` and `latest` refused; a leading `v` accepted). */
export function parseVersionSetting(setting: string, value: string): ParsedVersion {
  let semver: SemVer;
  try {
    semver = new SemVer(value.trim());
  } catch {
    throw invalidSetting(setting, VERSION_ACCEPTED, value);
  }
  return { text: versionText(semver), semver };
}
