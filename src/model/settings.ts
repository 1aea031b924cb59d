import type { GitHubSettings } from "./github-settings";
import type { ImageRepository, RegistryLocation } from "./image-repository";
import type { RunIntent } from "./intent";
import type { PlatformName } from "./platforms";
import type { TagTemplate } from "./tag-template";
import type { Variant } from "./variant";

/** The vocabulary of a stack's `finsight:*` settings, shared by every stage: read in inputs, decided on in plan. */

export const NAMESPACE = "finsight";

export type CacheSettings =
  | {
      type: "registry" /** Another repository for caches (`finsight:cacheRef`), as `host/path`. */;
      repository?: string;
    }
  | { type: "gha" }
  | { type: "local"; dir: string }
  | { type: "none" };
export const CACHE_TYPES = ["registry", "gha", "local", "none"] as const;

/** Where a configured version came from: the stack config, or `npm run plan --version`. */
export type ConfiguredVersion = { text: string; from: "config" | "--version" };

export interface ReleaseSettings {
  variant: Variant;
  /** As written; parsed and checked by `resolveVersion`. */
  version?: ConfiguredVersion;
  registry: RegistryLocation;
  imageName: string;
  repository: ImageRepository;
  context: string;
  dockerfile: string;
  platforms: PlatformName[];
  /** `finsight:buildArgs`: build args the stack adds to the variant's own (none reserved by the plan). */
  buildArgs: Record<string, string>;
  push: boolean;
  /** What this run does: decided once, from these settings and the run's own environment. */
  intent: RunIntent;
  cache: CacheSettings;
  builder?: string;
  target?: string;
  /** Tag templates, parsed; the variant's defaults (model/tag-template.ts) when finsight:tags is unset. */
  tags: TagTemplate[];
  buildOnPreview: boolean;
  /** Set together with the secret `finsight:registryPassword`; unset means the ambient docker login. */
  registryUsername?: string;
  /** Whether the stack holds the secret `finsight:pulumiAccessToken` (for Pulumi Cloud backends). */
  hasPulumiAccessToken: boolean;
  /** The GitHub Actions environment; undefined when `finsight:github` is unset or disabled. */
  github?: GitHubSettings;
  allowDowngrade: boolean;
  /** Speak plain HTTP to a registry that is not on a loopback address, on purpose. */
  registryInsecure: boolean;
  /** Token-service hosts, besides the registry's own, that may receive the registry credentials. */
  registryTokenHosts: string[];
  /** OCI labels that only the stack can know. */
  sourceUrl?: string;
  licenses?: string;
}

/**
 * Config as Pulumi hands it to a program: fully qualified keys to strings (lists and objects as JSON
 * text), and which keys hold secrets. A secret's value may be absent (`npm run plan` cannot decrypt it);
 * this module only asks whether one is set and never returns it.
 */
export interface ConfigInput {
  values: Readonly<Record<string, string>>;
  secretKeys: ReadonlySet<string>;
}
