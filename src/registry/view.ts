import { type RegistryAccess, RegistryClient } from "./client";

/**
 * The registry as one run sees it, read once before anything is registered and shared by every
 * decision of the run: which floating tags move, whether a pin exists, whether a version would go
 * backwards or overwrite a release. One tag-list walk (all pages), one manifest HEAD per tag that
 * matters and exists, and, only when the release's own tag already exists, its labels.
 */

export interface RegistryQuestions {
  /** The release's own tag (`v1.4.0`): when it exists, its image's labels are read. */
  releaseTag: string;
  /** Tags whose current digest the plan needs (floating tags, the pin's tag). */
  digestsOf: string[];
}

export type RegistryView =
  | {
      status: "read";
      /** Every tag in the repository. */
      tags: string[];
      /** Current digest of each asked-about tag that exists. */
      digests: Record<string, string>;
      /** Labels of the image under the release tag, when that tag exists. */
      releaseLabels?: Record<string, string>;
      /** HTTP requests the view took. */
      requests: number;
    }
  | { status: "unavailable"; reason: string }
  /** Nothing depends on the registry (an image that is built but not pushed, and no pin). */
  | { status: "not read"; reason: string };

interface IndexManifest {
  manifests?: { digest: string; platform?: { os?: string } }[];
  config?: { digest: string };
}

async function labelsOf(client: RegistryClient, reference: string): Promise<Record<string, string> | undefined> {
  let manifest = await client.getManifest(reference);
  let parsed = manifest ? (JSON.parse(manifest.bytes.toString("utf8")) as IndexManifest) : undefined;
  if (parsed?.manifests) {
    // An index: every platform image of one release carries the same labels; attestation
    // manifests (platform unknown/unknown) carry none.
    const image = parsed.manifests.find((entry) => entry.platform?.os !== "unknown");
    manifest = image ? await client.getManifest(image.digest) : undefined;
    parsed = manifest ? (JSON.parse(manifest.bytes.toString("utf8")) as IndexManifest) : undefined;
  }
  if (!parsed?.config) return undefined;
  const config = JSON.parse((await client.getBlob(parsed.config.digest)).toString("utf8")) as {
    config?: { Labels?: Record<string, string> | null };
  };
  return config.config?.Labels ?? {};
}

export async function readRegistryView(access: RegistryAccess, questions: RegistryQuestions): Promise<RegistryView> {
  const client = new RegistryClient(access);
  try {
    const tags = await client.listTags();
    const present = new Set(tags);
    const digests: Record<string, string> = {};
    for (const tag of new Set(questions.digestsOf)) {
      if (!present.has(tag)) continue;
      const digest = await client.manifestDigest(tag);
      if (digest) digests[tag] = digest;
    }
    const releaseLabels = present.has(questions.releaseTag) ? await labelsOf(client, questions.releaseTag) : undefined;
    return {
      status: "read",
      tags,
      digests,
      ...(releaseLabels ? { releaseLabels } : {}),
      requests: client.requests,
    };
  } catch (error) {
    return { status: "unavailable", reason: (error as Error).message };
  }
}

/**
 * The view a plan needs: read when the plan has questions for the registry (`releaseTargets` gives
 * none when nothing is pushed and nothing is pinned), otherwise a view that says it was not read.
 */
export async function registryViewFor(
  access: Omit<RegistryAccess, "repository">,
  targets: { repositoryPath: string; questions?: RegistryQuestions },
): Promise<RegistryView> {
  if (!targets.questions) return { status: "not read", reason: "finsight:push is false and no pin is set" };
  return readRegistryView({ ...access, repository: targets.repositoryPath }, targets.questions);
}
