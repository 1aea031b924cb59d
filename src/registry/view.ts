import type { ImageFacts, RegistryAccess, RegistryQuestions, RegistryView } from "../model/registry";
import { type Manifest, RegistryClient, RegistryError } from "./client";

/**
 * The registry as one run sees it, read once before anything is registered and shared by every
 * decision of the run: which floating tags move, whether a pin exists, whether a version would go
 * backwards or overwrite a release. One tag-list walk (all pages), one manifest GET per tag that
 * matters and exists, and, only when the release's own tag already exists, its labels.
 *
 * Every digest in the view is the hash of manifest bytes this read fetched (a GET per tag, no HEAD):
 * it becomes the pinned FINSIGHT_BACKEND_IMAGE and the floating tags' expectations, so a registry or
 * proxy that states a wrong Docker-Content-Digest is caught here, and one that sends malformed
 * tags, manifests or configs makes the view "unavailable" (no plan is made on it), never "read".
 */

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** The manifest's JSON, checked for the fields labelsOf reads: an index's children or an image's config. */
function manifestShape(
  client: RegistryClient,
  reference: string,
  manifest: Manifest,
): { children: { digest: string; os?: string }[] } | { config: string } {
  const request = `GET ${client.manifestPath(reference)}`;
  // getManifest has already checked that these bytes are a JSON object with schemaVersion 2.
  const parsed = JSON.parse(manifest.bytes.toString("utf8")) as Record<string, unknown>;
  const bad = (what: string) => client.error(request, `answered a manifest whose ${what}: ${client.shape(parsed)}`);
  if ("manifests" in parsed) {
    if (!Array.isArray(parsed.manifests)) throw bad("manifests is not a list");
    return {
      children: parsed.manifests.map((entry: unknown) => {
        if (!isRecord(entry) || typeof entry.digest !== "string" || !DIGEST.test(entry.digest)) {
          throw bad("manifests hold an entry without a sha256 digest");
        }
        const platform = entry.platform;
        if (platform !== undefined && (!isRecord(platform) || !["string", "undefined"].includes(typeof platform.os))) {
          throw bad("manifests hold an entry with a malformed platform");
        }
        return { digest: entry.digest, ...(platform?.os ? { os: platform.os as string } : {}) };
      }),
    };
  }
  const config = parsed.config;
  if (!isRecord(config) || typeof config.digest !== "string" || !DIGEST.test(config.digest)) {
    throw bad("config has no sha256 digest");
  }
  return { config: config.digest };
}

/** The labels of the image a reference names (through an index to its first platform image), checked for shape. */
async function labelsOf(client: RegistryClient, reference: string): Promise<Record<string, string> | undefined> {
  let manifest = await client.getManifest(reference);
  if (!manifest) return undefined;
  let shape = manifestShape(client, reference, manifest);
  if ("children" in shape) {
    // An index: every platform image of one release carries the same labels; attestation
    // manifests (platform unknown/unknown) carry none.
    const image = shape.children.find((entry) => entry.os !== "unknown");
    if (!image) return undefined;
    manifest = await client.getManifest(image.digest);
    if (!manifest) return undefined;
    shape = manifestShape(client, image.digest, manifest);
    if ("children" in shape) throw client.error(`GET ${client.manifestPath(image.digest)}`, "an index inside an index");
  }
  const request = `GET ${client.blobPath(shape.config)}`;
  let config: unknown;
  try {
    config = JSON.parse((await client.getBlob(shape.config)).toString("utf8"));
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw client.error(request, "answered an image config that is not JSON");
  }
  const inner = isRecord(config) ? config.config : undefined;
  const labels = isRecord(inner) ? inner.Labels : undefined;
  if (!isRecord(config) || (inner !== undefined && inner !== null && !isRecord(inner))) {
    throw client.error(request, `answered ${client.shape(config)}, not an image config`);
  }
  if (labels === undefined || labels === null) return {};
  if (!isRecord(labels) || !Object.values(labels).every((value) => typeof value === "string")) {
    throw client.error(request, `answered image labels ${client.shape(labels)}, not a map of strings`);
  }
  return labels as Record<string, string>;
}

const VERSION_LABEL = "org.opencontainers.image.version";

/**
 * What one image holds, read from its manifest (an index: its children's platforms, attestations
 * excluded) and its config (a single image: its os/architecture; both: the labels of the first platform
 * image). Every shape is checked before it is believed.
 */
async function imageFactsOf(
  client: RegistryClient,
  digest: string,
): Promise<{ platforms: string[]; labels: Record<string, string> } | undefined> {
  const manifest = await client.getManifest(digest);
  if (!manifest) return undefined;
  const request = `GET ${client.manifestPath(digest)}`;
  const parsed = JSON.parse(manifest.bytes.toString("utf8")) as Record<string, unknown>;
  const platformOf = (value: unknown, what: string) => {
    if (!isRecord(value) || typeof value.os !== "string" || typeof value.architecture !== "string") {
      throw client.error(request, `answered ${what} without an os and architecture: ${client.shape(value)}`);
    }
    return `${value.os}/${value.architecture}`;
  };
  if (Array.isArray(parsed.manifests)) {
    const children = parsed.manifests.map((entry: unknown) => {
      if (!isRecord(entry) || typeof entry.digest !== "string" || !DIGEST.test(entry.digest)) {
        throw client.error(request, "answered an index holding an entry without a sha256 digest");
      }
      // An entry without a platform (an artifact, a nested index) is no platform image either.
      const platform = entry.platform === undefined ? "unknown/unknown" : platformOf(entry.platform, "an index entry");
      return { digest: entry.digest, platform };
    });
    // Attestation manifests (unknown/unknown) are no platform anyone runs.
    const images = children.filter((child) => !child.platform.startsWith("unknown/"));
    const first = images[0] ? await imageFactsOf(client, images[0].digest) : undefined;
    return { platforms: images.map((child) => child.platform), labels: first?.labels ?? {} };
  }
  const shape = manifestShape(client, digest, manifest);
  if (!("config" in shape)) throw client.error(request, "answered a manifest that is neither an index nor an image");
  const blobRequest = `GET ${client.blobPath(shape.config)}`;
  let config: unknown;
  try {
    config = JSON.parse((await client.getBlob(shape.config)).toString("utf8"));
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw client.error(blobRequest, "answered an image config that is not JSON");
  }
  const inner = isRecord(config) ? config.config : undefined;
  const labels = isRecord(inner) && isRecord(inner.Labels) ? inner.Labels : {};
  if (!Object.values(labels).every((value) => typeof value === "string")) {
    throw client.error(blobRequest, `answered image labels ${client.shape(labels)}, not a map of strings`);
  }
  return { platforms: [platformOf(config, "an image config")], labels: labels as Record<string, string> };
}

/**
 * The images behind the asked tags, keyed by digest: their platforms (promise 2), and the release each
 * is, when its version label names a version whose own tag resolves to the same digest (promises 3, 4).
 */
async function describeImages(
  client: RegistryClient,
  questions: RegistryQuestions,
  present: ReadonlySet<string>,
  digests: Record<string, string>,
): Promise<Record<string, ImageFacts>> {
  const images: Record<string, ImageFacts> = {};
  for (const tag of questions.imagesOf ?? []) {
    const digest = digests[tag];
    if (!digest || images[digest]) continue;
    const facts = await imageFactsOf(client, digest);
    if (!facts) continue;
    const version = facts.labels[VERSION_LABEL];
    const releaseTag = version && questions.releaseTagFor ? questions.releaseTagFor(version) : undefined;
    let confirmed = false;
    if (releaseTag && present.has(releaseTag)) {
      digests[releaseTag] ??= (await client.manifestDigest(releaseTag)) ?? "";
      confirmed = digests[releaseTag] === digest;
      if (digests[releaseTag] === "") delete digests[releaseTag];
    }
    images[digest] = {
      platforms: facts.platforms,
      ...(confirmed && version && releaseTag ? { release: { version, tag: releaseTag } } : {}),
    };
  }
  return images;
}

export async function readRegistryView(access: RegistryAccess, questions: RegistryQuestions): Promise<RegistryView> {
  const client = new RegistryClient(access);
  try {
    const tags = await client.listTags();
    const present = new Set(tags);
    const digests: Record<string, string> = {};
    const asked = new Set<string>();
    const ask = async (tag: string) => {
      if (asked.has(tag)) return;
      asked.add(tag);
      const digest = await client.manifestDigest(tag);
      if (digest) digests[tag] = digest;
    };
    for (const tag of questions.exactTags ?? [questions.releaseTag]) await ask(tag);
    for (const tag of questions.digestsOf) if (present.has(tag)) await ask(tag);
    for (const tag of questions.digestsAfterListing?.(tags) ?? []) if (present.has(tag)) await ask(tag);
    const releaseLabels = digests[questions.releaseTag] ? await labelsOf(client, questions.releaseTag) : undefined;
    const images = await describeImages(client, questions, present, digests);
    return {
      status: "read",
      tags,
      digests,
      ...(releaseLabels ? { releaseLabels } : {}),
      images,
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
  access: RegistryAccess,
  targets: { questions?: RegistryQuestions },
): Promise<RegistryView> {
  if (!targets.questions) return { status: "not read", reason: "finsight:push is false and no pin is set" };
  return readRegistryView(access, targets.questions);
}
