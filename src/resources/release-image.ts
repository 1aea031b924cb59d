import * as dockerbuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import type { ReleasePlan } from "../plan/release-plan";
import { FloatingTag } from "./floating-tag";

export interface ReleaseImageArgs {
  plan: ReleasePlan;
  /** Set together with `plan.registryUsername`; without both, the ambient `docker login` is used. */
  registryPassword?: pulumi.Output<string>;
  /** Credentials for moving floating tags: the stack's, or those of the ambient `docker login`. */
  tagCredentials?: { username: string; password: pulumi.Output<string> };
}

/** `repo:tag@sha256:…` → `sha256:…` */
const digestOf = (ref: string) => (ref.includes("@") ? ref.slice(ref.indexOf("@") + 1) : "");

/**
 * The backend image a stack serves, projected from the plan and nothing else: the build of its
 * version (pushed under its exact tags only), and one FloatingTag per floating tag, pointed at that
 * build or, for a rollback, at the pinned release already in the registry.
 * Every child keeps `retainOnDelete`: docker-build deletes the tags it pushed when its resource is
 * deleted (and once did so for a live image, pulumi-docker-build #606), and a released image must
 * survive `pulumi destroy`, a rename, a pin or a dropped variant. Old images are the registry's to prune.
 */
export class ReleaseImage extends pulumi.ComponentResource {
  /** What the stack serves, pinned by digest: `repo:v1.4.0@sha256:…`; empty when nothing is pushed. */
  public readonly pinnedRef: pulumi.Output<string>;
  public readonly digest: pulumi.Output<string>;
  /** Every tag this run pushes or points, fully qualified. */
  public readonly tags: pulumi.Output<string[]>;
  /** Each managed floating tag and the digest it resolves to after this run. */
  public readonly floatingTags: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: ReleaseImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("finsight:release:Image", name, {}, opts);
    const { plan, registryPassword, tagCredentials } = args;
    const credentials =
      plan.registryUsername && registryPassword
        ? { address: plan.registryHost, username: plan.registryUsername, password: registryPassword }
        : undefined;

    const images = new Map<string, dockerbuild.Image>();
    for (const { name: buildName, ...build } of plan.builds) {
      const image = new dockerbuild.Image(
        buildName,
        { ...build, ...(credentials ? { registries: [credentials] } : {}) },
        { parent: this, retainOnDelete: true }, // never delete pushed tags (see class comment)
      );
      images.set(buildName, image);
    }
    const indexes = plan.indexes.map(
      (index) =>
        new dockerbuild.Index(
          index.name,
          {
            tag: index.tag,
            sources: index.sources.map((source) => (images.get(source) as dockerbuild.Image).ref),
            push: index.push,
            ...(credentials ? { registry: credentials } : {}),
          },
          { parent: this, retainOnDelete: true }, // deleting an Index would delete its tag
        ),
    );

    let releaseDigest: pulumi.Output<string> = pulumi.output("");
    if (plan.builds.length > 0) {
      releaseDigest =
        indexes.length === 0
          ? (images.get(plan.builds[0].name) as dockerbuild.Image).digest
          : indexes[plan.indexes.findIndex((index) => index.tag === plan.releaseTag)].ref.apply(digestOf);
    }

    const host = plan.registryHost;
    const floating = plan.floatingTags.map(
      (tag) =>
        new FloatingTag(
          tag.name,
          {
            host,
            repository: plan.repository.slice(host.length + 1),
            tag: tag.tag,
            source: tag.target.kind === "release" ? releaseDigest : tag.target.reference,
            insecure: plan.registryInsecure,
            ...(tagCredentials ? { username: tagCredentials.username, password: tagCredentials.password } : {}),
          },
          { parent: this, dependsOn: [...images.values(), ...indexes] },
        ),
    );

    if (plan.pin) {
      this.digest = pulumi.output(plan.pin.digest ?? "");
      this.pinnedRef = pulumi.output(plan.pin.ref);
    } else {
      this.digest = releaseDigest;
      this.pinnedRef = releaseDigest.apply((digest) => (digest ? `${plan.releaseTag}@${digest}` : ""));
    }
    this.tags = pulumi.output([...plan.pushedTags, ...plan.floatingTags.map((tag) => `${plan.repository}:${tag.tag}`)]);
    this.floatingTags = pulumi
      .all(floating.map((tag) => tag.digest))
      .apply((digests) => Object.fromEntries(plan.floatingTags.map((tag, i) => [tag.tag, digests[i]])));
    this.registerOutputs({
      pinnedRef: this.pinnedRef,
      digest: this.digest,
      tags: this.tags,
      floatingTags: this.floatingTags,
    });
  }
}
