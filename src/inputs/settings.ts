import { Platform } from "@pulumi/docker-build/types/enums";
import { invalidSetting, ReleaseConfigError } from "../errors";
import { type GitHubSettings, parseGitHubSettings } from "./github-settings";
import { parseRegistry, parseRepositoryPath, type RegistryLocation } from "./registry-location";

/**
 * The stack's `finsight:*` settings, validated. Every key here is declared in Pulumi.yaml,
 * which is where defaults live: the Pulumi CLI fills them in before the program runs, and
 * `readStackConfig` does the same for `npm run plan` and the tests.
 *
 * Validation is hand-written rather than a zod schema because each message must read
 * `finsight:<key> must be <what is accepted>, got <value>` and a schema library's
 * messages would need a translation layer as long as these checks.
 */

export const NAMESPACE = "finsight";

export type Variant = "demo" | "full";
export const VARIANTS: readonly Variant[] = ["demo", "full"];

export type CacheSettings =
  | { type: "registry"; ref?: string }
  | { type: "gha" }
  | { type: "local"; dir: string }
  | { type: "none" };
export const CACHE_TYPES = ["registry", "gha", "local", "none"] as const;

export type PlatformName = (typeof Platform)[keyof typeof Platform];
/** The docker-build provider's own list of platforms: anything else it would reject later. */
export const KNOWN_PLATFORMS: readonly PlatformName[] = Object.values(Platform);

export interface ReleaseSettings {
  variant: Variant;
  /** As written in config; parsed and checked by `resolveVersion`. */
  version?: string;
  registry: RegistryLocation;
  imageName: string;
  context: string;
  dockerfile: string;
  platforms: PlatformName[];
  push: boolean;
  cache: CacheSettings;
  builder?: string;
  target?: string;
  /** Tag templates; undefined means the variant's defaults (see tags.ts). */
  tags?: string[];
  buildOnPreview: boolean;
  registryUsername?: string;
  /** Whether the stack holds the secret `finsight:registryPassword` (its value never enters the plan). */
  hasRegistryPassword: boolean;
  /** Whether the stack holds the secret `finsight:pulumiAccessToken` (for Pulumi Cloud backends). */
  hasPulumiAccessToken: boolean;
  /** The GitHub Actions environment; undefined when `finsight:github` is unset or disabled. */
  github?: GitHubSettings;
  /** A rollback: the released version the floating tags and the environment serve (`1.3.2`, `v1.3.2`). */
  pin?: string;
  /** Release a version lower than the highest released one, on purpose. */
  allowDowngrade: boolean;
  /** Speak plain HTTP to a registry that is not on a loopback address, on purpose. */
  registryInsecure: boolean;
  /** OCI labels that only the stack can know. */
  sourceUrl?: string;
  licenses?: string;
}

/** Object-valued keys: Pulumi.yaml's config schema has no object type, so these are documented in the README only. */
export const OBJECT_CONFIG_KEYS = ["github"] as const;

/** Every plain (non-secret) key the program reads; all but the object keys are declared in Pulumi.yaml with their defaults. */
export const CONFIG_KEYS = [
  "variant",
  "version",
  "registry",
  "imageName",
  "context",
  "dockerfile",
  "platforms",
  "push",
  "cache",
  "cacheRef",
  "cacheDir",
  "builder",
  "target",
  "tags",
  "buildOnPreview",
  "registryUsername",
  "sourceUrl",
  "licenses",
  "pin",
  "allowDowngrade",
  "registryInsecure",
  ...OBJECT_CONFIG_KEYS,
] as const;

/** Keys that hold secrets: set with `pulumi config set --secret`, never declared with a default. */
export const SECRET_CONFIG_KEYS = ["registryPassword", "pulumiAccessToken"] as const;

/** Config values as Pulumi hands them to a program: strings, with arrays as JSON text. */
export type RawConfig = Readonly<Record<string, string | undefined>>;

const key = (name: string) => `${NAMESPACE}:${name}`;

function optionalText(raw: RawConfig, name: string): string | undefined {
  const value = raw[name]?.trim();
  return value ? value : undefined;
}

function requiredText(raw: RawConfig, name: string, accepted: string): string {
  const value = optionalText(raw, name);
  if (value === undefined) throw invalidSetting(key(name), accepted, raw[name] ?? "");
  return value;
}

function booleanSetting(raw: RawConfig, name: string): boolean {
  const value = raw[name]?.trim();
  if (value === "true") return true;
  if (value === "false") return false;
  throw invalidSetting(key(name), "true or false", raw[name] ?? "");
}

function stringList(raw: RawConfig, name: string): string[] | undefined {
  const text = raw[name]?.trim();
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // `pulumi config set finsight:platforms linux/amd64` stores a plain string: accept one item.
    parsed = [text];
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
    throw invalidSetting(key(name), "a list of strings", parsed);
  }
  return parsed.map((item) => item.trim());
}

function parseVariant(raw: RawConfig): Variant {
  const value = raw.variant?.trim() ?? "";
  if (!(VARIANTS as readonly string[]).includes(value)) {
    throw invalidSetting(key("variant"), `"demo" or "full"`, raw.variant ?? "");
  }
  return value as Variant;
}

function parsePlatforms(raw: RawConfig): PlatformName[] {
  const platforms = stringList(raw, "platforms") ?? [];
  if (platforms.length === 0) {
    throw invalidSetting(key("platforms"), "at least one platform such as linux/amd64", raw.platforms ?? "");
  }
  for (const platform of platforms) {
    if (!(KNOWN_PLATFORMS as readonly string[]).includes(platform)) {
      throw invalidSetting(
        key("platforms"),
        `a list of platforms the docker-build provider knows (${KNOWN_PLATFORMS.filter((p) => p.startsWith("linux/")).join(", ")}, …)`,
        platform,
      );
    }
  }
  if (new Set(platforms).size !== platforms.length) {
    throw invalidSetting(key("platforms"), "a list without repeats", platforms);
  }
  return platforms as PlatformName[];
}

function parseCache(raw: RawConfig): CacheSettings {
  const type = raw.cache?.trim() ?? "";
  switch (type) {
    case "registry": {
      const ref = optionalText(raw, "cacheRef");
      return ref === undefined ? { type } : { type, ref };
    }
    case "gha":
    case "none":
      return { type };
    case "local":
      return { type, dir: requiredText(raw, "cacheDir", 'a directory when finsight:cache is "local"') };
    default:
      throw invalidSetting(
        key("cache"),
        CACHE_TYPES.map((t) => `"${t}"`)
          .join(", ")
          .replace(/, ([^,]*)$/, " or $1"),
        raw.cache ?? "",
      );
  }
}

function parseCredentials(raw: RawConfig, hasRegistryPassword: boolean): string | undefined {
  const username = optionalText(raw, "registryUsername");
  if (username !== undefined && !hasRegistryPassword) {
    throw new ReleaseConfigError(
      `${key("registryPassword")} must be set as a secret when ${key("registryUsername")} is set (got username ${JSON.stringify(username)} and no password): run pulumi config set --secret ${key("registryPassword")}`,
    );
  }
  if (username === undefined && hasRegistryPassword) {
    throw invalidSetting(
      key("registryUsername"),
      `a user name when ${key("registryPassword")} is set`,
      raw.registryUsername ?? "",
    );
  }
  return username;
}

function parseTagTemplates(raw: RawConfig): string[] | undefined {
  const templates = stringList(raw, "tags");
  if (templates === undefined || templates.length === 0) return undefined;
  return templates;
}

function parseSourceUrl(raw: RawConfig): string | undefined {
  const url = optionalText(raw, "sourceUrl");
  if (url !== undefined && !/^https:\/\/\S+$/.test(url)) {
    throw invalidSetting(key("sourceUrl"), "an https:// URL of the application's source repository", url);
  }
  return url;
}

/**
 * Validates the raw stack config. `isSecretSet` says whether a `finsight:` secret key holds a
 * non-empty value; secret values stay Pulumi secrets and never pass through here.
 */
export function parseSettings(raw: RawConfig, stack: string, isSecretSet: (key: string) => boolean): ReleaseSettings {
  const hasRegistryPassword = isSecretSet("registryPassword");
  const github = parseGitHubSettings(raw.github, stack);
  for (const [name, configKey] of Object.entries(github?.secrets ?? {})) {
    if (!isSecretSet(configKey)) {
      throw new ReleaseConfigError(
        `${key(configKey)} must be set to a non-empty secret for the environment secret ${name} listed in ${key("github")}.secrets, got nothing: run pulumi config set --secret ${key(configKey)}`,
      );
    }
  }
  const variant = parseVariant(raw);
  const registry = parseRegistry(key("registry"), raw.registry);
  const imageName = parseRepositoryPath(
    key("imageName"),
    requiredText(raw, "imageName", "an image name such as finsight-backend"),
  );
  return {
    variant,
    version: optionalText(raw, "version"),
    registry,
    imageName,
    context: requiredText(raw, "context", "the path of the FinSight application checkout (the build context)"),
    dockerfile: requiredText(
      raw,
      "dockerfile",
      "a Dockerfile path relative to the build context, such as Dockerfile.backend",
    ),
    platforms: parsePlatforms(raw),
    push: booleanSetting(raw, "push"),
    cache: parseCache(raw),
    builder: optionalText(raw, "builder"),
    target: optionalText(raw, "target"),
    tags: parseTagTemplates(raw),
    buildOnPreview: booleanSetting(raw, "buildOnPreview"),
    registryUsername: parseCredentials(raw, hasRegistryPassword),
    hasRegistryPassword,
    hasPulumiAccessToken: isSecretSet("pulumiAccessToken"),
    ...(github ? { github } : {}),
    pin: optionalText(raw, "pin"),
    allowDowngrade: booleanSetting(raw, "allowDowngrade"),
    registryInsecure: booleanSetting(raw, "registryInsecure"),
    sourceUrl: parseSourceUrl(raw),
    licenses: optionalText(raw, "licenses"),
  };
}
