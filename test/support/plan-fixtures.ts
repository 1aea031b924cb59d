/**
 * Literal inputs for the pure planner: a shipped stack's config (Pulumi.yaml defaults plus the stack
 * file, read as `pulumi up` sees it) with per-test overrides, a source, and a registry view. No Pulumi
 * runtime, no registry, no git: every value a test plans from is written here or in the test.
 */
import * as path from "node:path";
import type { PlanInputs } from "../../src/inputs/release-inputs";
import { type ConfigInput, parseSettings, type ReleaseSettings } from "../../src/inputs/settings";
import type { SourceFacts } from "../../src/inputs/source-facts";
import { readStackConfig } from "../../src/inputs/stack-files";
import { planRelease, type ReleasePlan } from "../../src/plan/release-plan";
import { releaseTargets } from "../../src/plan/targets";
import type { ImageFacts, RegistryView } from "../../src/registry/view";

export const PROJECT_DIR = path.resolve(__dirname, "../..");
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

/**
 * A shipped stack's config with overrides (`undefined` removes a key). `finsight:github` is removed
 * unless a test keeps it (`github: true`), so most plans are about the image alone.
 */
export function stackConfig(
  stack: "prod" | "demo",
  overrides: Record<string, string | undefined> = {},
  options: { github?: boolean; secretKeys?: string[] } = {},
): ConfigInput & { values: Record<string, string>; secretKeys: Set<string> } {
  const config = readStackConfig(PROJECT_DIR, stack);
  if (!options.github) delete config.values["finsight:github"];
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete config.values[key];
    else config.values[key] = value;
  }
  for (const key of options.secretKeys ?? []) config.secretKeys.add(key);
  return config;
}

export function settingsOf(
  stack: "prod" | "demo",
  overrides: Record<string, string | undefined> = {},
  options: { github?: boolean } = {},
): ReleaseSettings {
  return parseSettings(stackConfig(stack, overrides, options), stack);
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
  const settings = settingsOf(stack, { "finsight:version": "1.4.0", ...options.config }, { github: options.github });
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
