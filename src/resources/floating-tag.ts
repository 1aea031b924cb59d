import * as pulumi from "@pulumi/pulumi";
import { registryClientFor } from "../registry/credentials";

/**
 * A floating tag (`latest`, `v1`, `v1.4`, `demo`) as a resource of its own, pointed at an image that
 * is already in the registry by copying that image's manifest bytes under the tag, as `crane tag`
 * does. The tag then has exactly the digest of the release it names, whatever the manifest's kind.
 *
 * Why not a docker-build `Index` with one source: `imagetools create` keeps the digest only when
 * the source is already an index; a single-platform manifest gets wrapped in a new index with a
 * digest of its own (buildx `--prefer-index`, util/imagetools/create.go). Users verify a rollback
 * by comparing digests, so the tag must resolve to the pinned release's own digest.
 *
 * Pulumi serialises this provider into the state and runs it without TypeScript, so it uses only
 * the self-contained registry client and docker-login reader.
 */

export interface FloatingTagInputs {
  /** Registry host with port (`ghcr.io`). */
  host: pulumi.Input<string>;
  /** Repository path below the host (`acme/finsight-backend`). */
  repository: pulumi.Input<string>;
  tag: pulumi.Input<string>;
  /** The image it points at: a digest (`sha256:…`), always, once the release is known. */
  source: pulumi.Input<string>;
  /** Plain HTTP to a registry off loopback (finsight:registryInsecure). */
  insecure: pulumi.Input<boolean>;
  /**
   * Configured credentials only (finsight:registryUsername/registryPassword). They must come as inputs
   * because the provider runs in the engine's process, where the stack's config cannot be read; the
   * password is a Pulumi secret, so the state keeps it encrypted, and it is never an output. Without
   * them the provider reads the `docker login` of the machine running Pulumi at run time, so an
   * ambient login is never copied into the state.
   */
  username?: pulumi.Input<string>;
  /** Always a Pulumi secret; never returned among the outputs. */
  password?: pulumi.Input<string>;
  /**
   * What this tag pointed at when the plan read the registry: a digest, "" when the plan saw no such
   * tag, undefined for no expectation. Just before the write the tag must still point there (or
   * already at the source), or the write is refused: a tag moved meanwhile is never moved back.
   */
  seenDigest?: pulumi.Input<string>;
  /** Token-service hosts besides the registry's own that may receive the credentials (RegistryAccess.registryTokenHosts). */
  registryTokenHosts?: pulumi.Input<pulumi.Input<string>[]>;
}

interface TagProps {
  host: string;
  repository: string;
  tag: string;
  source: string;
  insecure: boolean;
  username?: string;
  password?: string;
  seenDigest?: string;
  registryTokenHosts?: string[];
}

interface TagOuts {
  host: string;
  repository: string;
  tag: string;
  source: string;
  insecure: boolean;
  /** What the tag resolves to after this update: equal to the source's digest. */
  digest: string;
  /** What the tag resolved to before this update, if it existed: the way back. */
  previousDigest: string;
  /** Kept so that a refresh may ask the same token service. */
  registryTokenHosts?: string[];
}

/**
 * A client for the tag's repository, with the release's one credential rule: the configured login if
 * given, else the docker login of this machine. State written before the setting was named
 * registryTokenHosts kept it as tokenRealmHosts.
 */
function clientFor(
  props: Pick<TagProps, "host" | "repository" | "insecure" | "registryTokenHosts" | "username" | "password">,
) {
  const registryTokenHosts =
    props.registryTokenHosts ?? (props as { tokenRealmHosts?: string[] }).tokenRealmHosts ?? undefined;
  return registryClientFor(
    {
      host: props.host,
      repository: props.repository,
      insecure: props.insecure,
      ...(registryTokenHosts ? { registryTokenHosts } : {}),
    },
    props.username && props.password ? { username: props.username, password: props.password } : undefined,
    process.env,
  );
}

async function pointTag(props: TagProps): Promise<TagOuts> {
  const client = clientFor(props);
  // Both read together (one round trip), by GET and hashed (manifestDigest never trusts a header),
  // immediately before the write.
  const [source, current] = await Promise.allSettled([
    client.getManifest(props.source),
    client.manifestDigest(props.tag),
  ]);
  // The source's failure first, whichever came back first: the same error every run.
  if (source.status === "rejected") throw source.reason;
  if (current.status === "rejected") throw current.reason;
  const [manifest, previous] = [source.value, current.value];
  if (!manifest) {
    throw new Error(`${client.describe()} has no image ${props.source}, so tag ${props.tag} cannot point at it`);
  }
  const previousDigest = previous ?? "";
  if (props.seenDigest !== undefined && previousDigest !== props.seenDigest && previousDigest !== manifest.digest) {
    // The registry has no conditional manifest PUT, so the window left is this one round trip.
    const seen = props.seenDigest || "no such tag";
    const now = previousDigest || "no such tag (deleted)";
    throw new Error(
      `${client.describe()}: tag ${props.tag} now points at ${now}, but the plan saw ${seen}; refusing to move it to ${manifest.digest} behind the plan's back (run the preview again)`,
    );
  }
  const digest = previousDigest === manifest.digest ? previousDigest : await client.putManifest(props.tag, manifest);
  if (digest !== manifest.digest) {
    throw new Error(`${client.describe()} stored tag ${props.tag} as ${digest}, not ${manifest.digest}`);
  }
  return {
    host: props.host,
    repository: props.repository,
    tag: props.tag,
    source: props.source,
    insecure: props.insecure,
    digest,
    previousDigest,
    ...(props.registryTokenHosts ? { registryTokenHosts: props.registryTokenHosts } : {}),
  };
}

const location = (props: { host: string; repository: string; tag: string }) =>
  `${props.host}/${props.repository}:${props.tag}`;

export const floatingTagProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: TagOuts, news: TagProps): Promise<pulumi.dynamic.DiffResult> {
    // Credentials are not compared (as docker-build compares registries by address and user only):
    // a rotated token must not look like a release.
    const replaces = (["host", "repository", "tag"] as const).filter((key) => olds[key] !== news[key]);
    const changes: string[] = [
      ...replaces,
      ...(["source", "insecure"] as const).filter((key) => olds[key] !== news[key]),
    ];
    // Where the tag really points: after a refresh, `digest`; in every run, `seenDigest`, the plan's own
    // reading of the registry ("" when the tag is gone). A tag moved or deleted by hand is drift to undo,
    // with or without a refresh: the state alone would say the tag is already where the plan wants it
    // (promise 7, found by the generated histories). In a preview an unknown source arrives as a
    // placeholder, which is a change of its own already. Credentials are not compared: they are not what the tag is.
    const where = [olds.digest, news.seenDigest].filter((digest): digest is string => typeof digest === "string");
    if (
      typeof news.source === "string" &&
      news.source.startsWith("sha256:") &&
      where.some((digest) => digest !== news.source)
    ) {
      changes.push("digest");
    }
    return { changes: changes.length > 0, replaces, deleteBeforeReplace: false };
  },
  /**
   * `pulumi refresh` (and drift.yml's preview --refresh) reads where the tag points now ("" when it was
   * deleted), by GET and hash. A read gets only the outputs, which hold no password, so it uses the
   * docker login of the machine running Pulumi, or anonymous access; when neither may read the tag,
   * the recorded digest is kept as it was.
   */
  async read(id: string, props: TagOuts): Promise<pulumi.dynamic.ReadResult> {
    const client = clientFor(props); // the state has no password: the docker login, or anonymous
    try {
      return { id, props: { ...props, digest: (await client.manifestDigest(props.tag)) ?? "" } };
    } catch {
      return { id, props };
    }
  },
  async create(inputs: TagProps): Promise<pulumi.dynamic.CreateResult> {
    return { id: location(inputs), outs: await pointTag(inputs) };
  },
  async update(_id: string, _olds: TagOuts, news: TagProps): Promise<pulumi.dynamic.UpdateResult> {
    return { outs: await pointTag(news) };
  },
  // Deliberately nothing: a tag left behind still names a release someone may run. The resource
  // also has retainOnDelete; old tags are the registry's lifecycle rules to prune.
  async delete(): Promise<void> {},
};

export class FloatingTag extends pulumi.dynamic.Resource {
  // `declare`, not a field: with ES2022 class fields a plain declaration would reset the outputs
  // that the base constructor has just set.
  declare public readonly digest: pulumi.Output<string>;
  declare public readonly previousDigest: pulumi.Output<string>;

  constructor(name: string, args: FloatingTagInputs, opts?: pulumi.CustomResourceOptions) {
    super(
      floatingTagProvider,
      name,
      { ...args, digest: undefined, previousDigest: undefined },
      // A tag is never deleted from the registry, whatever happens to this resource.
      { ...opts, retainOnDelete: true },
      "finsight",
      "FloatingTag",
    );
  }
}
