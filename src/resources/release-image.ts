import * as dockerbuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import type { ReleasePlan } from "../plan/release-plan";

export interface ReleaseImageArgs {
  plan: ReleasePlan;
  /** Set together with `plan.registryUsername`; without both, the ambient `docker login` is used. */
  registryPassword?: pulumi.Output<string>;
}

/** `repo:tag@sha256:…` → `sha256:…` */
const digestOf = (ref: string) => (ref.includes("@") ? ref.slice(ref.indexOf("@") + 1) : "");

/**
 * The backend image of one variant, projected from the plan and nothing else.
 * Every child keeps `retainOnDelete`: docker-build deletes the tags it pushed when its resource is
 * deleted (and once did so for a live image, pulumi-docker-build #606), and a released image must
 * survive `pulumi destroy`, a rename or a dropped variant. Old images are the registry's to prune.
 */
export class ReleaseImage extends pulumi.ComponentResource {
  /** The release's own tag pinned by digest: `repo:v1.4.0@sha256:…`; empty when nothing is pushed. */
  public readonly pinnedRef: pulumi.Output<string>;
  public readonly digest: pulumi.Output<string>;
  /** Every tag pushed, fully qualified. */
  public readonly tags: pulumi.Output<string[]>;

  constructor(name: string, args: ReleaseImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("finsight:release:Image", name, {}, opts);
    const { plan, registryPassword } = args;
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

    if (plan.indexes.length === 0) {
      const image = images.get(plan.builds[0].name) as dockerbuild.Image;
      this.digest = image.digest;
    } else {
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
      const releaseIndex = indexes[plan.indexes.findIndex((index) => index.tag === plan.releaseTag)];
      this.digest = releaseIndex.ref.apply(digestOf);
    }
    this.pinnedRef = this.digest.apply((digest) => (digest ? `${plan.releaseTag}@${digest}` : ""));
    this.tags = pulumi.output(plan.pushedTags);
    this.registerOutputs({ pinnedRef: this.pinnedRef, digest: this.digest, tags: this.tags });
  }
}
