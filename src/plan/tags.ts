import { invalidSetting, Problems, ReleaseConfigError } from "../model/errors";
import type { Variant } from "../model/settings";
import type { ResolvedVersion } from "./version";

/**
 * What ships when `finsight:tags` is not set. Templates follow docker/metadata-action's
 * vocabulary, written with the `v` the FinSight guide uses (`vMAJOR.MINOR.PATCH`).
 */
export const DEFAULT_TAG_TEMPLATES: Readonly<Record<Variant, readonly string[]>> = {
  full: ["v{{version}}", "v{{major}}.{{minor}}", "v{{major}}", "latest"],
  demo: ["demo-v{{version}}", "demo"],
};

const PLACEHOLDERS = ["version", "major", "minor", "patch", "sha", "runId"] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

/**
 * A template naming this exact build (its version, commit or run) yields an immutable tag;
 * anything else (`v{{major}}`, `latest`, `demo`) is a floating tag that later releases move.
 */
const IMMUTABLE_PLACEHOLDERS: readonly Placeholder[] = ["version", "patch", "sha", "runId"];

/** Docker's tag grammar: 128 characters at most, no leading `.` or `-`. */
const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** `{{ name }}` in a tag template; global, so use it with matchAll/replace only. */
export const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

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

/**
 * The releases a floating tag follows: every release (`latest`, `demo`), one major (`v1`) or one
 * minor (`v1.4`). It moves only to the highest stable release of its line.
 */
export type TagLine = "all" | "major" | "minor";

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

/**
 * A tag template, parsed once from `finsight:tags` (as docker/metadata-action's tag.ts parses its
 * tag rules once): what it uses, whether it names this build alone, which line it follows.
 */
export interface TagTemplate {
  /** As written in finsight:tags. */
  text: string;
  /** The placeholders it uses, in order. */
  uses: Placeholder[];
  /** Names this build alone (`{{version}}`, `{{patch}}`, `{{sha}}`, `{{runId}}`): an exact tag, never moved. */
  exact: boolean;
  /** The releases a floating template follows; for an exact template, the widest it would be. */
  line: TagLine;
  /** Set when the template is the version and nothing else (`demo-v{{version}}`), so tags read back as versions. */
  versionAlone?: { prefix: string; suffix: string };
}

/** A template that names the version alone: released versions are read back through it. */
export type VersionTemplate = TagTemplate & { versionAlone: { prefix: string; suffix: string } };

/** One template, parsed; an unknown placeholder is refused. */
function parseTagTemplate(text: string): TagTemplate {
  const uses: Placeholder[] = [];
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = match[1];
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      throw invalidSetting(
        "finsight:tags",
        `templates using only ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(", ")} and plain text`,
        text,
      );
    }
    uses.push(name as Placeholder);
  }
  const [prefix, suffix] = text.split(/\{\{\s*version\s*\}\}/);
  return {
    text,
    uses,
    exact: uses.some((name) => IMMUTABLE_PLACEHOLDERS.includes(name)),
    line: uses.includes("minor") ? "minor" : uses.includes("major") ? "major" : "all",
    ...(uses.length === 1 && uses[0] === "version" ? { versionAlone: { prefix, suffix } } : {}),
  };
}

/** Every template, parsed; every unknown placeholder is reported at once. */
export function parseTagTemplates(texts: readonly string[]): TagTemplate[] {
  const problems = new Problems();
  const parsed = texts.map((text) => problems.check(() => parseTagTemplate(text)));
  problems.throwIfAny();
  return parsed as TagTemplate[];
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
