import { invalidSetting, Problems } from "./errors";
import type { Variant } from "./variant";

/**
 * What ships when `finsight:tags` is not set. Templates follow docker/metadata-action's
 * vocabulary, written with the `v` the FinSight guide uses (`vMAJOR.MINOR.PATCH`).
 */
export const DEFAULT_TAG_TEMPLATES: Readonly<Record<Variant, readonly string[]>> = {
  full: ["v{{version}}", "v{{major}}.{{minor}}", "v{{major}}", "latest"],
  demo: ["demo-v{{version}}", "demo"],
};

const PLACEHOLDERS = ["version", "major", "minor", "patch", "sha", "runId"] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/**
 * A template naming this exact build (its version, commit or run) yields an immutable tag;
 * anything else (`v{{major}}`, `latest`, `demo`) is a floating tag that later releases move.
 */
const IMMUTABLE_PLACEHOLDERS: readonly Placeholder[] = ["version", "patch", "sha", "runId"];

/** `{{ name }}` in a tag template; global, so use it with matchAll/replace only. */
export const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

/**
 * The releases a floating tag follows: every release (`latest`, `demo`), one major (`v1`) or one
 * minor (`v1.4`). It moves only to the highest stable release of its line.
 */
export type TagLine = "all" | "major" | "minor";

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
