import * as dockerbuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import type { RegistryLogin } from "../inputs/pulumi-config";
import type { ImageRepository } from "../inputs/registry-location";
import type { FloatingTagPlan } from "../plan/floating-tag-moves";
import type { BuildPlan, CandidatePlan, IndexPlan, ServedPlan } from "../plan/release-plan";
import { FloatingTag } from "./floating-tag";

export interface ReleaseImageArgs {
  repository: ImageRepository;
  /** The release's own tag, fully qualified. */
  releaseTag: string;
  candidate: CandidatePlan;
  builds: BuildPlan[];
  indexes: IndexPlan[];
  floatingTags: FloatingTagPlan[];
  served: ServedPlan;
  /** Plain HTTP to a registry off loopback (finsight:registryInsecure). */
  insecure: boolean;
  /** Token services besides the registry's own that may get the credentials (finsight:registryTokenHosts). */
  tokenRealmHosts: string[];
  /** The stack's registry credentials; without them the pushes and tag moves use the ambient docker login. */
  login?: RegistryLogin;
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

  constructor(name: string, args: ReleaseImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("finsight:release:Image", name, {}, opts);
    const { login, repository } = args;
    const images = new Map<string, dockerbuild.Image>();
    for (const { name: buildName, ...build } of args.builds) {
      const image = new dockerbuild.Image(
        buildName,
        { ...build, ...(login ? { registries: [login] } : {}) },
        { parent: this, retainOnDelete: true }, // never delete pushed tags (see class comment)
      );
      images.set(buildName, image);
    }
    const imageNamed = (build: string) => {
      const image = images.get(build);
      if (!image) throw new Error(`${build} is not among the planned builds`);
      return image;
    };
    const indexes = args.indexes.map(
      (index) =>
        new dockerbuild.Index(
          index.name,
          {
            tag: index.tag,
            sources: index.sources.map((source) => imageNamed(source).ref),
            push: index.push,
            ...(login ? { registry: login } : {}),
          },
          { parent: this, retainOnDelete: true }, // deleting an Index would delete its tag
        ),
    );

    let candidateDigest: pulumi.Output<string> = pulumi.output("");
    if (args.candidate.source === "registry") candidateDigest = pulumi.output(args.candidate.digest);
    else if (args.builds.length > 0) {
      const releaseIndex = indexes.find((_, i) => args.indexes[i].tag === args.releaseTag);
      candidateDigest = releaseIndex ? releaseIndex.ref.apply(digestOf) : imageNamed(args.builds[0].name).digest;
    }

    const floating = args.floatingTags.map(
      (tag) =>
        new FloatingTag(
          tag.name,
          {
            host: repository.host,
            repository: repository.path,
            tag: tag.tag,
            source: tag.target.kind === "release" ? candidateDigest : tag.target.reference,
            insecure: args.insecure,
            tokenRealmHosts: args.tokenRealmHosts,
            ...(tag.seen !== undefined ? { seenDigest: tag.seen } : {}),
            ...(login ? { username: login.username, password: login.password } : {}),
          },
          { parent: this, dependsOn: [...images.values(), ...indexes] },
        ),
    );

    this.candidateRef = candidateDigest.apply((digest) => (digest ? `${args.releaseTag}@${digest}` : ""));
    const served = args.served;
    const servedRef =
      served.kind === "candidate"
        ? this.candidateRef
        : pulumi.output(served.kind === "image" ? served.ref : (served.ref ?? ""));
    // The served ref waits for every floating tag (through their URNs, known in a preview): a tag write
    // that fails stops FINSIGHT_BACKEND_IMAGE moving too, so an interrupted promotion or rollback never
    // serves a release its tags do not name, and the next `pulumi up` completes both (promise 7).
    this.servedRef = pulumi.all([servedRef, ...floating.map((tag) => tag.urn)]).apply(([ref]) => ref);
    this.servedDigest = this.servedRef.apply(digestOf);
    this.tags = pulumi.output([
      ...args.builds.flatMap((build) => (args.indexes.length > 0 ? [] : build.tags)),
      ...args.indexes.map((index) => index.tag),
      ...args.floatingTags.map((tag) => `${repository.name}:${tag.tag}`),
    ]);
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
