import * as dockerbuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import { type ImageRepository, qualify } from "../model/image-repository";
import type { RegistryLogin } from "../model/registry";
import type { FloatingTagPlan } from "../plan/floating-tag-moves";
import type { BuildPlan, CandidatePlan, IndexPlan, ServedPlan } from "../plan/release-plan";
import { FloatingTag } from "./floating-tag";

export interface ReleaseImageArgs {
  repository: ImageRepository;
  /** The release's own tag, fully qualified. */
  releaseTag: string;
  candidate: CandidatePlan;
  /** The exact tags this run pushes, fully qualified. */
  pushedTags: string[];
  builds: BuildPlan[];
  indexes: IndexPlan[];
  floatingTags: FloatingTagPlan[];
  served: ServedPlan;
  /** Plain HTTP to a registry off loopback (finsight:registryInsecure). */
  insecure: boolean;
  /** Token services besides the registry's own that may get the credentials (finsight:registryTokenHosts). */
  registryTokenHosts: string[];
  /** The stack's registry credentials; without them the pushes and tag moves use the ambient docker login. */
  login?: RegistryLogin<pulumi.Output<string>>;
}

/** `repo:tag@sha256:…` → `sha256:…` */
const digestOf = (ref: string) => (ref.includes("@") ? ref.slice(ref.indexOf("@") + 1) : "");

/**
 * The backend image a stack serves, projected from the plan and nothing else: the build of its
 * candidate (pushed under its exact tags only, and only when the registry does not have it yet), and
 * one FloatingTag per floating tag, pointed at the candidate, a pinned release, or where it already is.
 *
 * Every child keeps `retainOnDelete`: docker-build deletes the tags it pushed when its resource is
 * deleted (and once did so for a live image, pulumi-docker-build #606). An Image leaves the program in
 * the run after it pushed (its tag exists then, and is served by digest), so that delete must never
 * reach the registry. Old images are the registry's lifecycle rules to prune.
 */
export class ReleaseImage extends pulumi.ComponentResource {
  /** The candidate by digest (`repo:v1.4.0@sha256:…`); empty when it is neither built nor in the registry. */
  public readonly candidateRef: pulumi.Output<string>;
  /** What the stack serves (FINSIGHT_BACKEND_IMAGE), pinned by digest; empty before anything was promoted. */
  public readonly servedRef: pulumi.Output<string>;
  public readonly servedDigest: pulumi.Output<string>;
  /** Every tag this run pushes or points, fully qualified. */
  public readonly tags: pulumi.Output<string[]>;
  /** Each managed floating tag and the digest it resolves to after this run. */
  public readonly floatingTags: pulumi.Output<Record<string, string>>;
  /** The floating tags' URNs: whatever takes this as an input waits until every tag has moved. */
  public readonly floatingTagUrns: pulumi.Output<string[]>;

  constructor(name: string, args: ReleaseImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("finsight:release:Image", name, {}, opts);
    const { repository } = args;
    const built = declareBuilds(this, args);
    const candidateDigest = candidateDigestOf(args.candidate, built);
    const floating = declareFloatingTags(this, args, candidateDigest, [
      ...built.images.values(),
      ...built.indexes.values(),
    ]);

    this.candidateRef = candidateDigest.apply((digest) => (digest ? `${args.releaseTag}@${digest}` : ""));
    const served = args.served;
    this.servedRef =
      served.kind === "candidate"
        ? this.candidateRef
        : pulumi.output(served.kind === "image" ? served.ref : (served.ref ?? ""));
    // Known in a preview; it carries every floating tag as a dependency (promise 7, see index.ts).
    this.floatingTagUrns = pulumi.all(floating.map((tag) => tag.urn));
    this.servedDigest = this.servedRef.apply(digestOf);
    this.tags = pulumi.output([...args.pushedTags, ...args.floatingTags.map((tag) => qualify(repository, tag.tag))]);
    this.floatingTags = pulumi
      .all(floating.map((tag) => tag.digest))
      .apply((digests) => Object.fromEntries(args.floatingTags.map((tag, i) => [tag.tag, digests[i]])));
    this.registerOutputs({
      candidateRef: this.candidateRef,
      servedRef: this.servedRef,
      servedDigest: this.servedDigest,
      tags: this.tags,
      floatingTags: this.floatingTags,
    });
  }
}

interface Built {
  images: Map<string, dockerbuild.Image>;
  indexes: Map<string, dockerbuild.Index>;
}

/** The planned builds and the indexes that join them, by their plan names. */
function declareBuilds(parent: pulumi.Resource, args: ReleaseImageArgs): Built {
  const { login } = args;
  const images = new Map<string, dockerbuild.Image>();
  for (const { name: buildName, ...build } of args.builds) {
    const image = new dockerbuild.Image(
      buildName,
      { ...build, ...(login ? { registries: [login] } : {}) },
      { parent, retainOnDelete: true }, // never delete pushed tags (see class comment)
    );
    images.set(buildName, image);
  }
  const indexes = new Map<string, dockerbuild.Index>();
  for (const index of args.indexes) {
    const declared = new dockerbuild.Index(
      index.name,
      {
        tag: index.tag,
        sources: index.sources.map((source) => named(images, source, "builds").ref),
        push: index.push,
        ...(login ? { registry: login } : {}),
      },
      { parent, retainOnDelete: true }, // deleting an Index would delete its tag
    );
    indexes.set(index.name, declared);
  }
  return { images, indexes };
}

function named<T>(resources: Map<string, T>, name: string, kind: string): T {
  const found = resources.get(name);
  if (!found) throw new Error(`${name} is not among the planned ${kind}`);
  return found;
}

/** The candidate's digest, from where the plan says it is: the registry, the release's Index, or its one Image. */
function candidateDigestOf(candidate: CandidatePlan, built: Built): pulumi.Output<string> {
  if (candidate.source === "registry") return pulumi.output(candidate.digest);
  if (candidate.source === "unknown" || candidate.source === "none") return pulumi.output("");
  return "index" in candidate.digestOf
    ? named(built.indexes, candidate.digestOf.index, "indexes").ref.apply(digestOf)
    : named(built.images, candidate.digestOf.image, "builds").digest;
}

/** One FloatingTag per planned floating tag, written only after every build and index is pushed. */
function declareFloatingTags(
  parent: pulumi.Resource,
  args: ReleaseImageArgs,
  candidateDigest: pulumi.Output<string>,
  pushes: pulumi.Resource[],
): FloatingTag[] {
  const { login, repository } = args;
  return args.floatingTags.map(
    (tag) =>
      new FloatingTag(
        tag.name,
        {
          host: repository.host,
          repository: repository.path,
          tag: tag.tag,
          source: tag.target.kind === "release" ? candidateDigest : tag.target.reference,
          insecure: args.insecure,
          registryTokenHosts: args.registryTokenHosts,
          ...(tag.seen !== undefined ? { seenDigest: tag.seen } : {}),
          ...(login ? { username: login.username, password: login.password } : {}),
        },
        { parent, dependsOn: pushes },
      ),
  );
}
