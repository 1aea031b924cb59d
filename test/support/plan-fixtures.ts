/**
 * Literal inputs for the pure planner: a stack's config as `pulumi up` hands it to the program, with
 * per-test overrides, a source, and a registry view. No Pulumi runtime, no registry, no git and no
 * stack file: every value a test plans from is written here or in the test, so editing a shipped stack
 * file never moves a planner test (the shipped files have tests of their own, in test/inputs and test/program).
 */
import { parseSettings } from "../../src/inputs/settings";
import type { PlanInputs } from "../../src/model/plan-inputs";
import type { ImageFacts, RegistryView } from "../../src/model/registry";
import type { ConfigInput, ReleaseSettings } from "../../src/model/settings";
import type { SourceFacts } from "../../src/model/source-facts";
import { planRelease, type ReleasePlan } from "../../src/plan/release-plan";
import { releaseTargets } from "../../src/plan/targets";

export const REPOSITORY = "ghcr.io/acme/finsight-backend";

/** Test digests: recognisable by name in a failure, well-formed as sha256 digests. */
export const digest = (fill: string) => `sha256:${fill.repeat(64 / fill.length)}`;

/** A clean checkout of the application: committed, with a tree and a commit time. */
export const CLEAN_SOURCE: SourceFacts = {
  contextExists: true,
  revision: "0123456789abcdef0123456789abcdef01234567",
  tree: "89abcdef0123456789abcdef0123456789abcdef",
  uncommitted: [],
  commitEpoch: 1700000000,
};

/** Pulumi.yaml's defaults with the values every stack sets, as a release stack of each variant has them. */
const BASE: Record<string, string> = {
  "finsight:imageName": "finsight-backend",
  "finsight:context": "finsight",
  "finsight:dockerfile": "Dockerfile.backend",
  "finsight:platforms": '["linux/amd64"]',
  "finsight:push": "true",
  "finsight:cache": "registry",
  "finsight:allowDowngrade": "false",
  "finsight:registryInsecure": "false",
  "finsight:registryDeadline": "120",
  "finsight:registry": "ghcr.io/acme",
  "finsight:sourceUrl": "https://github.com/acme/finsight",
};
const STACKS: Record<"prod" | "demo", Record<string, string>> = {
  prod: {
    ...BASE,
    "finsight:variant": "full",
    "finsight:buildOnPreview": "false",
    "finsight:github": JSON.stringify({
      owner: "acme",
      repository: "finsight",
      reviewers: { teams: ["release-managers"] },
      preventSelfReview: true,
      deployFrom: { branches: ["main"], tags: ["v*"] },
    }),
  },
  demo: {
    ...BASE,
    "finsight:variant": "demo",
    "finsight:buildOnPreview": "true",
    "finsight:github": JSON.stringify({
      owner: "acme",
      repository: "finsight",
      deployFrom: { branches: ["main"], tags: ["v*"] },
    }),
  },
};

/**
 * A stack's config with overrides (`undefined` removes a key). `finsight:github` is removed unless a
 * test keeps it (`github: true`), so most plans are about the image alone.
 */
export function stackConfig(
  stack: "prod" | "demo",
  overrides: Record<string, string | undefined> = {},
  options: { github?: boolean; secretKeys?: string[] } = {},
): ConfigInput & { values: Record<string, string>; secretKeys: Set<string> } {
  const values = { ...STACKS[stack] };
  if (!options.github) delete values["finsight:github"];
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete values[key];
    else values[key] = value;
  }
  return { values, secretKeys: new Set(options.secretKeys ?? []) };
}

export function settingsOf(
  stack: "prod" | "demo",
  overrides: Record<string, string | undefined> = {},
  options: { github?: boolean; env?: PlanInputs["env"] } = {},
): ReleaseSettings {
  return parseSettings(stackConfig(stack, overrides, options), stack, options.env);
}

export interface InputsOptions {
  stack?: "prod" | "demo";
  /** Config overrides; finsight:version defaults to 1.4.0 here. */
  config?: Record<string, string | undefined>;
  github?: boolean;
  source?: Partial<SourceFacts>;
  env?: PlanInputs["env"];
  preview?: boolean;
  /** Replaces the parsed settings' version, as `npm run plan --version` does. */
  versionFlag?: string;
}

export function planInputs(options: InputsOptions = {}): PlanInputs {
  const stack = options.stack ?? "prod";
  const settings = settingsOf(
    stack,
    { "finsight:version": "1.4.0", ...options.config },
    { github: options.github, ...(options.env ? { env: options.env } : {}) },
  );
  return {
    stack,
    settings: options.versionFlag
      ? { ...settings, version: { text: options.versionFlag, from: "--version" } }
      : settings,
    env: options.env ?? {},
    source: { ...CLEAN_SOURCE, ...options.source },
    preview: options.preview ?? false,
  };
}

/**
 * A registry that was read: every tag it lists, the digests of those asked about, the release tag's
 * labels, and what each digest holds (by default one linux/amd64 image, what the shipped stacks build).
 */
export function readView(
  digests: Record<string, string> = {},
  options: { otherTags?: string[]; releaseLabels?: Record<string, string>; images?: Record<string, ImageFacts> } = {},
): RegistryView {
  const images = Object.fromEntries(Object.values(digests).map((digest) => [digest, { platforms: ["linux/amd64"] }]));
  return {
    status: "read",
    tags: [...Object.keys(digests), ...(options.otherTags ?? [])],
    digests,
    ...(options.releaseLabels ? { releaseLabels: options.releaseLabels } : {}),
    images: { ...images, ...options.images },
    requests: 3,
  };
}

/** targets, then the plan, as the program and the plan CLI compose them. */
export function plan(inputs: PlanInputs, view: RegistryView): ReleasePlan {
  return planRelease(inputs, releaseTargets(inputs), view);
}

/** Where each floating tag points, as one comparable map: "release", or the image reference. */
export function floatingTargets(released: ReleasePlan): Record<string, string> {
  return Object.fromEntries(
    released.floatingTags.map((floating) => [
      floating.tag,
      floating.target.kind === "release" ? "release" : floating.target.reference,
    ]),
  );
}
