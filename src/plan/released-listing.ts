import type { PlanInputs } from "../model/plan-inputs";
import type { RegistryQuestions, RegistryView } from "../model/registry";
import type { VersionTemplate } from "../model/tag-template";
import { releasedVersions } from "./released-versions";
import { planTags, versionTemplateOf } from "./tags";
import { resolveVersion } from "./version";

/**
 * What a stack has released and what its floating tags serve, read from the registry alone: what a
 * user needs before choosing a pin, with no release version, checkout or Pulumi. Pure: the registry
 * view is read elsewhere with the questions below.
 */

/** How many of the latest stable releases are asked for their floating tags' digests. */
const RECENT = 10;

export interface ReleasedListing {
  stack: string;
  repository: string;
  registry: { status: "read"; requests: number } | { status: "unavailable" | "not read"; reason: string };
  /** Every release, lowest first. */
  released: { version: string; tag: string; stable: boolean }[];
  /** Each floating tag of the recent releases that exists, and the release it serves when one has its digest. */
  serving: { tag: string; digest: string; version?: string }[];
}

function versionTemplate(inputs: PlanInputs): VersionTemplate | undefined {
  const { settings } = inputs;
  return versionTemplateOf(settings.tags);
}

/** The floating tags the recent stable releases carry (`latest`, `v1`, `v1.4`), as the templates render them. */
function floatingTagsOf(inputs: PlanInputs, versions: readonly string[]): string[] {
  const { settings } = inputs;
  const templates = settings.tags;
  const tags = new Set<string>();
  for (const text of versions) {
    const version = resolveVersion({ configured: { text, from: "config" }, env: {} });
    for (const tag of planTags(templates, { version }).floating) tags.add(tag);
  }
  return [...tags];
}

/** What to ask: the tag list, then the version and floating tags of the recent releases. */
export function listingQuestions(inputs: PlanInputs): RegistryQuestions {
  const template = versionTemplate(inputs);
  return {
    releaseTag: "",
    exactTags: [],
    digestsOf: [],
    digestsAfterListing: (listed) => {
      if (!template) return [];
      const recent = releasedVersions(listed, template)
        .filter((release) => release.stable)
        .slice(-RECENT);
      return [
        ...recent.map((release) => release.tag),
        ...floatingTagsOf(
          inputs,
          recent.map((release) => release.version),
        ),
      ];
    },
  };
}

export function planListing(inputs: PlanInputs, view: RegistryView): ReleasedListing {
  const { settings } = inputs;
  const template = versionTemplate(inputs);
  const base = { stack: inputs.stack, repository: settings.repository.name };
  if (view.status !== "read") return { ...base, registry: view, released: [], serving: [] };
  const released = template ? releasedVersions(view.tags, template) : [];
  const versionTags = new Set(released.map((release) => release.tag));
  const serving = Object.entries(view.digests)
    .filter(([tag]) => !versionTags.has(tag))
    .map(([tag, digest]) => {
      const release = [...released].reverse().find((candidate) => view.digests[candidate.tag] === digest);
      return { tag, digest, ...(release ? { version: release.version } : {}) };
    });
  return {
    ...base,
    registry: { status: "read", requests: view.requests },
    released: released.map(({ version, tag, stable }) => ({ version, tag, stable })),
    serving,
  };
}
