import { invalidSetting, ReleaseConfigError } from "../model/errors";
import {
  PLACEHOLDER,
  type Placeholder,
  type TagLine,
  type TagTemplate,
  type VersionTemplate,
} from "../model/tag-template";
import type { ResolvedVersion } from "./version";

/** Docker's tag grammar: 128 characters at most, no leading `.` or `-`. */
const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface TagFacts {
  version: ResolvedVersion;
  /** Full git commit of the source, when known. */
  revision?: string;
  /** `GITHUB_RUN_ID`, when running in GitHub Actions. */
  runId?: string;
}

interface SkippedTag {
  template: string;
  reason: string;
}

export interface TagPlan {
  /** Tags that name this build alone; never moved once pushed. The first is the release's own tag. */
  exact: string[];
  /** Tags that follow the newest release of a line (`latest`, `v1`, `v1.4`, `demo`). */
  floating: string[];
  /** The line each floating tag follows. */
  floatingLines: Record<string, TagLine>;
  /** Floating templates that this version does not get, and why. */
  skipped: SkippedTag[];
  /** Whether a template changes on every run (`{{runId}}`), so every `pulumi up` pushes again. */
  changesEveryRun: boolean;
}

/**
 * Build metadata (`1.4.0+build.7`) carries a `+`, which a Docker tag cannot hold. It becomes `_`,
 * as Helm does for OCI chart tags: `_` never occurs in semver, so the tag reads back unambiguously,
 * whereas metadata-action's `{{raw}}` turns it into `-` and makes the tag look like a prerelease.
 */
function versionTagText(versionText: string): string {
  return versionText.replace("+", "_");
}

/** The first template that names the version and nothing else, or undefined when there is none. */
export function versionTemplateOf(templates: readonly TagTemplate[]): VersionTemplate | undefined {
  return templates.find((template): template is VersionTemplate => template.versionAlone !== undefined);
}

/** Renders a version through a version template: the inverse of `releasedVersions`' reading. */
export function tagForVersion(template: VersionTemplate, version: string): string {
  return `${template.versionAlone.prefix}${versionTagText(version)}${template.versionAlone.suffix}`;
}

/**
 * Why a floating template does not apply to this version, or undefined when it does.
 * A prerelease moves no floating tag (never `latest` on a release candidate). Under semver a 0.x
 * minor may break, so there is no `v0`: the compatible line of 0.4.2 is `v0.4`, and 0.0.z has none.
 */
function floatingSkipReason(uses: Placeholder[], version: ResolvedVersion): string | undefined {
  if (version.prerelease) return "prereleases move no floating tag";
  if (uses.includes("major") && !uses.includes("minor") && version.major === 0) {
    return "0.x releases get no major tag: every 0.y minor may break";
  }
  if (uses.includes("minor") && version.major === 0 && version.minor === 0) {
    return "0.0.z releases get no minor tag: every 0.0.z patch may break";
  }
  return undefined;
}

/** What each placeholder renders to for these facts; undefined where a fact is missing. */
export function placeholderValues(
  facts: Pick<TagFacts, "revision" | "runId"> & {
    version: Pick<ResolvedVersion, "text" | "major" | "minor" | "patch">;
  },
): Record<Placeholder, string | undefined> {
  return {
    version: versionTagText(facts.version.text),
    major: String(facts.version.major),
    minor: String(facts.version.minor),
    patch: String(facts.version.patch),
    sha: facts.revision?.slice(0, 7),
    runId: facts.runId,
  };
}

function render({ text: template, uses }: TagTemplate, facts: TagFacts): string {
  const values = placeholderValues(facts);
  const placeholderValue = (name: Placeholder): string => {
    const value = values[name];
    if (value !== undefined) return value;
    const source = name === "sha" ? "GITHUB_SHA or a git checkout as build context" : "GITHUB_RUN_ID";
    throw new ReleaseConfigError(
      `finsight:tags template ${JSON.stringify(template)} uses {{${name}}}, which needs ${source}, got none`,
    );
  };
  for (const name of uses) placeholderValue(name);
  const tag = template.replace(PLACEHOLDER, (_, name: Placeholder) => placeholderValue(name));
  if (!DOCKER_TAG.test(tag)) {
    throw invalidSetting(
      "finsight:tags",
      `templates that yield a Docker tag (letters, digits, _ . -, at most 128 characters, not starting with . or -); template ${JSON.stringify(template)} yields ${JSON.stringify(tag)}`,
      template,
    );
  }
  return tag;
}

export function planTags(templates: readonly TagTemplate[], facts: TagFacts): TagPlan {
  const plan: TagPlan = { exact: [], floating: [], floatingLines: {}, skipped: [], changesEveryRun: false };
  for (const template of templates) {
    if (template.uses.includes("runId")) plan.changesEveryRun = true;
    if (!template.exact) {
      const reason = floatingSkipReason(template.uses, facts.version);
      if (reason) {
        plan.skipped.push({ template: template.text, reason });
        continue;
      }
    }
    const tag = render(template, facts);
    if (plan.exact.includes(tag) || plan.floating.includes(tag)) continue;
    if (template.exact) {
      plan.exact.push(tag);
    } else {
      plan.floating.push(tag);
      plan.floatingLines[tag] = template.line;
    }
  }
  if (plan.exact.length === 0) {
    throw invalidSetting(
      "finsight:tags",
      "a list with at least one template naming the release ({{version}}, {{patch}}, {{sha}} or {{runId}})",
      templates.map((template) => template.text),
    );
  }
  return plan;
}
