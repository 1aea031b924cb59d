import { createHash } from "node:crypto";
import * as path from "node:path";
import type { ReleaseSettings } from "../model/settings";
import type { SourceFacts } from "../model/source-facts";
import type { Variant } from "../model/variant";
import { planLabels } from "./labels";
import { BUILD_INPUTS_LABEL } from "./release-guards";
import type { ResolvedVersion } from "./version";

const BUILD_ARGS: Record<Variant, Record<string, string>> = {
  demo: { USE_LIGHT: "1", SKIP_ML: "1" },
  full: { USE_LIGHT: "0" },
};

/** What decides an image's content, apart from the context's files (which `labels` names by tree). */
export interface ImageInputs {
  buildArgs: Record<string, string>;
  /** Includes the build-inputs label, a digest of everything else here. */
  labels: Record<string, string>;
  /** The Dockerfile as docker-build wants it: relative to this project, inside the context. */
  dockerfile: string;
}

/**
 * Build args, labels and the build-inputs digest. The digest covers the release's content and
 * nothing else: the version, the context's git tree, the Dockerfile, the build args, the target and
 * the platforms. Not the commit or its time (promise 5, same content, same release): an empty commit,
 * or committing the pin as docs/ROLLBACK.md says, leaves the tree as it was, so a re-run is the
 * release already in the registry, served by its digest. Any other content gives another digest.
 */
export function planImageInputs(settings: ReleaseSettings, version: ResolvedVersion, source: SourceFacts): ImageInputs {
  const buildArgs: Record<string, string> = { ...BUILD_ARGS[settings.variant] };
  // BuildKit clamps file and image timestamps to this build arg, so a rebuild of one commit is byte-identical.
  // It is the commit's time, so the content digest leaves it out.
  if (source.commitEpoch !== undefined) buildArgs.SOURCE_DATE_EPOCH = String(source.commitEpoch);
  // The stack's own (finsight:buildArgs, never a name set above), after the plan's: with none, the label is what it always was.
  Object.assign(buildArgs, settings.buildArgs);
  const { SOURCE_DATE_EPOCH: _commitTime, ...contentArgs } = buildArgs;
  const labels = planLabels({
    variant: settings.variant,
    version,
    revision: source.revision,
    tree: source.tree,
    commitEpoch: source.commitEpoch,
    sourceUrl: settings.sourceUrl,
    licenses: settings.licenses,
  });
  const dockerfile = path.posix.join(settings.context, settings.dockerfile);
  // The Dockerfile as the context names it, not its path on this machine: a clone elsewhere is the same release.
  const content = {
    version: version.text,
    tree: source.tree ?? "",
    dockerfile: settings.dockerfile,
    buildArgs: contentArgs,
    target: settings.target ?? "",
    platforms: settings.platforms,
  };
  labels[BUILD_INPUTS_LABEL] = `sha256:${createHash("sha256").update(JSON.stringify(content)).digest("hex")}`;
  return { buildArgs, labels, dockerfile };
}
