import type { ImageFacts, RegistryAccess, RegistryQuestions, RegistryView } from "../model/registry";
import { type Manifest, RegistryClient, RegistryError } from "./client";

/**
 * The registry as one run sees it, read once before anything is registered and shared by every
 * decision of the run: which floating tags move, whether a pin exists, whether a version would go
 * backwards or overwrite a release. One tag-list walk (all pages), one manifest GET per tag that
 * matters and exists, and, only when the release's own tag already exists, its labels.
 *
 * What does not depend on something else is asked at once: the exact tags' manifests (asked whatever
 * the list says) go with the first tag-list page, and the release's labels are read from its manifest
 * as soon as that arrives; only the tags the list must name first wait for it. At a registry 100 ms
 * away that is 3 round trips at most for a plan (npm run bench:registry prints them).
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

/** The labels of the image a manifest names (through an index to its first platform image), checked for shape. */
async function labelsOf(
  client: RegistryClient,
  reference: string,
  fetched: Manifest,
): Promise<Record<string, string> | undefined> {
  let manifest: Manifest | undefined = fetched;
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
  return (await imageConfigOf(client, shape.config)).labels;
}

/**
 * An image's config blob, checked for shape: the one reader of a config, for the release's labels and
 * for the image facts alike. Labels reach messages (the overwrite guard names what differs), so a
 * registry that echoes the credentials into one gets them redacted here, at the source.
 */
async function imageConfigOf(
  client: RegistryClient,
  digest: string,
): Promise<{ config: Record<string, unknown>; labels: Record<string, string> }> {
  const request = `GET ${client.blobPath(digest)}`;
  let config: unknown;
  try {
    config = JSON.parse((await client.getBlob(digest)).toString("utf8"));
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw client.error(request, "answered an image config that is not JSON");
  }
  const inner = isRecord(config) ? config.config : undefined;
  const labels = isRecord(inner) ? inner.Labels : undefined;
  if (!isRecord(config) || (inner !== undefined && inner !== null && !isRecord(inner))) {
    throw client.error(request, `answered ${client.shape(config)}, not an image config`);
  }
  if (labels === undefined || labels === null) return { config, labels: {} };
  if (!isRecord(labels) || !Object.values(labels).every((value) => typeof value === "string")) {
    throw client.error(request, `answered image labels ${client.shape(labels)}, not a map of strings`);
  }
  return {
    config,
    labels: Object.fromEntries(
      Object.entries(labels as Record<string, string>).map(([name, value]) => [
        client.redactValue(name),
        client.redactValue(value),
      ]),
    ),
  };
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A promise whose failure is kept for later, so requests can run together and fail in a fixed order. */
const settle = <T>(promise: Promise<T>): Promise<Settled<T>> =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

const outcomeOf = <T>(settled: Settled<T>): T => {
  if (!settled.ok) throw settled.error;
  return settled.value;
};

const VERSION_LABEL = "org.opencontainers.image.version";

/**
 * What one image holds, read from its manifest (an index: its children's platforms, attestations
 * excluded) and its config (a single image: its os/architecture; both: the labels of the first platform
 * image). Every shape is checked before it is believed. `fetched` is the manifest when a tag's read
 * already brought it (the same bytes, so the same digest): it is not asked again.
 */
async function imageFactsOf(
  client: RegistryClient,
  digest: string,
  fetched?: Manifest,
): Promise<{ platforms: string[]; labels: Record<string, string> } | undefined> {
  const manifest = fetched ?? (await client.getManifest(digest));
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
  const { config, labels } = await imageConfigOf(client, shape.config);
  return { platforms: [platformOf(config, "an image config")], labels };
}

/** Manifest reads by tag, each asked once however many questions name it, run together. */
type Ask = (tag: string) => Promise<Settled<Manifest | undefined>>;

/**
 * The images behind the asked tags, keyed by digest: their platforms (promise 2), and the release each
 * is, when its version label names a version whose own tag resolves to the same digest (promises 3, 4).
 * The images are described together, from the manifests their tags' reads brought.
 */
async function describeImages(
  client: RegistryClient,
  questions: RegistryQuestions,
  present: ReadonlySet<string>,
  digests: Record<string, string>,
  ask: Ask,
): Promise<{ images: Record<string, ImageFacts>; releaseTagsRead: string[] }> {
  const described = new Map<string, Promise<Settled<[string, ImageFacts] | undefined>>>();
  const releaseTagsRead: string[] = [];
  for (const tag of questions.imagesOf ?? []) {
    const digest = digests[tag];
    if (!digest || described.has(digest)) continue;
    const describe = async (): Promise<[string, ImageFacts] | undefined> => {
      const own = await ask(tag);
      const facts = await imageFactsOf(client, digest, own.ok && own.value?.digest === digest ? own.value : undefined);
      if (!facts) return undefined;
      const version = facts.labels[VERSION_LABEL];
      const releaseTag = version && questions.releaseTagFor ? questions.releaseTagFor(version) : undefined;
      const read = releaseTag !== undefined && present.has(releaseTag);
      if (read) releaseTagsRead.push(releaseTag);
      const confirmed = read && outcomeOf(await ask(releaseTag))?.digest === digest;
      return [
        digest,
        {
          platforms: facts.platforms,
          ...(confirmed && version && releaseTag ? { release: { version, tag: releaseTag } } : {}),
        },
      ];
    };
    described.set(digest, settle(describe()));
  }
  const images: Record<string, ImageFacts> = {};
  for (const settled of described.values()) {
    const entry = outcomeOf(await settled);
    if (entry) images[entry[0]] = entry[1];
  }
  return { images, releaseTagsRead };
}

export async function readRegistryView(access: RegistryAccess, questions: RegistryQuestions): Promise<RegistryView> {
  const client = new RegistryClient(access);
  try {
    const asked = new Map<string, Promise<Settled<Manifest | undefined>>>();
    const ask: Ask = (tag) => {
      if (!asked.has(tag)) asked.set(tag, settle(client.getManifest(tag)));
      return asked.get(tag) as Promise<Settled<Manifest | undefined>>;
    };
    // Together, before the list is known: the list itself, the exact tags (asked whatever the list
    // says), and the tags whose digest the plan needs if the list names them (a 404 costs the same
    // round trip; what the list does not name is left out of the view below, as if never asked).
    const listing = settle(client.listTags());
    const exact = [...new Set(questions.exactTags ?? [questions.releaseTag])];
    for (const tag of [...exact, ...questions.digestsOf]) ask(tag);
    // The release's labels follow its manifest, not the list.
    const labelsFrom = (release: Promise<Settled<Manifest | undefined>>) =>
      settle(
        release.then((read) =>
          read.ok && read.value ? labelsOf(client, questions.releaseTag, read.value) : undefined,
        ),
      );
    let labels = exact.includes(questions.releaseTag) ? labelsFrom(ask(questions.releaseTag)) : undefined;
    const listed = await listing;
    const tags = listed.ok ? listed.value : [];
    const present = new Set(tags);
    // Only the tags the list names count; the ones that need the list to be chosen are asked now.
    const afterListing = listed.ok
      ? [...questions.digestsOf, ...(questions.digestsAfterListing?.(tags) ?? [])].filter((tag) => present.has(tag))
      : [];
    for (const tag of afterListing) ask(tag);
    if (!labels && afterListing.includes(questions.releaseTag)) labels = labelsFrom(ask(questions.releaseTag));
    // Failures in the order a sequential read would meet them: the list, the exact tags, the rest, the labels.
    outcomeOf(listed);
    const digests: Record<string, string> = {};
    for (const tag of [...exact, ...afterListing]) {
      const manifest = outcomeOf(await ask(tag));
      if (manifest) digests[tag] = manifest.digest;
    }
    const releaseLabels = labels ? outcomeOf(await labels) : undefined;
    const { images, releaseTagsRead } = await describeImages(client, questions, present, digests, ask);
    // The release tags read to confirm an image are digests the view read too.
    for (const tag of releaseTagsRead) {
      const manifest = outcomeOf(await ask(tag));
      if (manifest) digests[tag] ??= manifest.digest;
    }
    return {
      status: "read",
      tags,
      digests,
      ...(releaseLabels ? { releaseLabels } : {}),
      images,
      requests: client.requests,
    };
  } catch (error) {
    return { status: "unavailable", reason: client.redact((error as Error).message ?? String(error)) };
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
