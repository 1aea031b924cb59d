import type { Variant } from "../model/variant";
import type { ResolvedVersion } from "./version";

const VARIANT_LABEL = "finsight.release.variant";
/** Git's tree id of the build context at the released commit: the source's content, machine-independent. */
const SOURCE_TREE_LABEL = "finsight.release.source-tree";

const DESCRIPTIONS: Record<Variant, string> = {
  demo: "FinSight backend, light demo build (requirements.light.txt, ML disabled)",
  full: "FinSight backend, full ML build",
};

export interface LabelFacts {
  variant: Variant;
  version: ResolvedVersion;
  revision?: string;
  tree?: string;
  /** Commit time in seconds since the epoch: the image's creation time, so rebuilds are identical. */
  commitEpoch?: number;
  sourceUrl?: string;
  licenses?: string;
}

/** OCI image annotations (opencontainers image-spec annotations.md), plus the FinSight variant. */
export function planLabels(facts: LabelFacts): Record<string, string> {
  const labels: Record<string, string> = {
    "org.opencontainers.image.title": "finsight-backend",
    "org.opencontainers.image.description": DESCRIPTIONS[facts.variant],
    "org.opencontainers.image.version": facts.version.text,
  };
  if (facts.revision) labels["org.opencontainers.image.revision"] = facts.revision;
  if (facts.tree) labels[SOURCE_TREE_LABEL] = facts.tree;
  // The commit's time, never the clock: a label that changed per run would rebuild on every `pulumi up`.
  if (facts.commitEpoch !== undefined) {
    labels["org.opencontainers.image.created"] = new Date(facts.commitEpoch * 1000).toISOString().replace(".000Z", "Z");
  }
  if (facts.sourceUrl) labels["org.opencontainers.image.source"] = facts.sourceUrl;
  if (facts.licenses) labels["org.opencontainers.image.licenses"] = facts.licenses;
  labels[VARIANT_LABEL] = facts.variant;
  return labels;
}
