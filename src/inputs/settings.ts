import * as path from "node:path";
import { SemVer } from "semver";
import { invalidSetting, Problems, ReleaseConfigError, unknownKey } from "../model/errors";
import { KNOWN_PLATFORMS, type PlatformName } from "../model/platforms";
import { CACHE_TYPES, type CacheSettings, type ConfigInput, NAMESPACE, type ReleaseSettings } from "../model/settings";
import type { ReleaseEnvironment } from "../model/source-facts";
import { DEFAULT_TAG_TEMPLATES, parseTagTemplates } from "../model/tag-template";
import { VARIANTS, type Variant } from "../model/variant";
import { parseVersionSetting, versionText } from "../model/version-text";
import { parseBuildArgs } from "./build-args";
import { parseGitHubSettings } from "./github-settings";
import { decideIntent, type IntentFacts } from "./intent";
import {
  credentialsInside,
  holdsCredentials,
  imageRepository,
  parseRegistry,
  parseRepositoryPath,
} from "./registry-location";

/**
 * The stack's `finsight:*` settings, validated. Every key here is declared in Pulumi.yaml, which is
 * where defaults live: the Pulumi CLI fills them in before the program runs, and `readStackConfig`
 * does the same for `npm run plan` and the tests.
 *
 * Hand-written rather than a schema library: each message must read `finsight:<key> must be <what is
 * accepted>, got <value>`, every problem of a run is reported at once, and unknown keys get the
 * closest known one as a suggestion; a schema's messages would need a translation layer as long.
 */

const key = (name: string) => `${NAMESPACE}:${name}`;

/** Object-valued keys: Pulumi.yaml's config schema has no object type, so these are documented in docs/CONFIGURATION.md only. */
export const OBJECT_CONFIG_KEYS = ["github", "buildArgs"] as const;

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
  "registryTokenHosts",
  "registryDeadline",
  ...OBJECT_CONFIG_KEYS,
] as const;

/**
 * Former keys that belong to one run (src/model/intent.ts): a stack file that still holds one (`pulumi up
 * -c` saves what it is given) gets the command that removes it, not a plain "unknown key".
 */
const PER_RUN_KEYS: Record<string, string> = {
  promote: 'FINSIGHT_PHASE=candidate (for "false") in the environment, or npm run plan -- --phase candidate',
  promoteDigest: "FINSIGHT_PROMOTE_DIGEST=sha256:… in the environment, or npm run plan -- --promote-digest sha256:…",
};

/** Keys that hold secrets: set with `pulumi config set --secret`, never declared with a default. */
export const SECRET_CONFIG_KEYS = ["registryPassword", "pulumiAccessToken"] as const;

function optionalText(raw: ConfigInput, name: string): string | undefined {
  const value = raw.values[key(name)]?.trim();
  return value ? value : undefined;
}

function requiredText(raw: ConfigInput, name: string, accepted: string): string {
  const value = optionalText(raw, name);
  if (value === undefined) throw invalidSetting(key(name), accepted, raw.values[key(name)] ?? "");
  return value;
}

function booleanSetting(raw: ConfigInput, name: string): boolean {
  const value = raw.values[key(name)]?.trim();
  if (value === "true") return true;
  if (value === "false") return false;
  throw invalidSetting(key(name), "true or false", raw.values[key(name)] ?? "");
}

/** A config list: JSON text, or one plain item (`pulumi config set finsight:platforms linux/amd64`). */
function configList(raw: ConfigInput, name: string): string[] | undefined {
  const text = raw.values[key(name)]?.trim();
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = [text];
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
    throw invalidSetting(key(name), "a list of strings", parsed);
  }
  return parsed.map((item) => item.trim());
}

function parseVariant(raw: ConfigInput): Variant {
  const value = raw.values[key("variant")]?.trim() ?? "";
  if (!(VARIANTS as readonly string[]).includes(value)) {
    throw invalidSetting(key("variant"), `"demo" or "full"`, raw.values[key("variant")] ?? "");
  }
  return value as Variant;
}

function parsePlatforms(raw: ConfigInput): PlatformName[] {
  const platforms = configList(raw, "platforms") ?? [];
  if (platforms.length === 0) {
    throw invalidSetting(
      key("platforms"),
      "at least one platform such as linux/amd64",
      raw.values[key("platforms")] ?? "",
    );
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

function parseCache(raw: ConfigInput): CacheSettings {
  const type = raw.values[key("cache")]?.trim() ?? "";
  switch (type) {
    case "registry": {
      const ref = optionalText(raw, "cacheRef");
      if (ref === undefined) return { type };
      const location = parseRegistry(key("cacheRef"), ref);
      return { type, repository: [location.host, location.namespace].filter((part) => part !== "").join("/") };
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
        raw.values[key("cache")] ?? "",
      );
  }
}

function parseCredentials(raw: ConfigInput, hasRegistryPassword: boolean): string | undefined {
  const username = optionalText(raw, "registryUsername");
  if (username?.includes(":")) {
    // Basic auth splits user:password at the first colon (RFC 7617): a user name never holds one, and
    // a value that does is most likely a pair pasted whole, so it is not repeated.
    throw new ReleaseConfigError(
      `${key("registryUsername")} must be a user name without ":" (basic auth splits user:password at the first colon); got a value with ":" (not shown): put the password in the secret ${key("registryPassword")}`,
    );
  }
  if (username !== undefined && !hasRegistryPassword) {
    throw new ReleaseConfigError(
      `${key("registryPassword")} must be set as a secret when ${key("registryUsername")} is set (got username ${JSON.stringify(username)} and no password): run pulumi config set --secret ${key("registryPassword")}`,
    );
  }
  if (username === undefined && hasRegistryPassword) {
    throw invalidSetting(
      key("registryUsername"),
      `a user name when ${key("registryPassword")} is set`,
      raw.values[key("registryUsername")] ?? "",
    );
  }
  return username;
}

function parseSourceUrl(raw: ConfigInput): string | undefined {
  const url = optionalText(raw, "sourceUrl");
  if (url !== undefined && holdsCredentials(url)) throw credentialsInside(key("sourceUrl"));
  if (url !== undefined && !/^https:\/\/\S+$/.test(url)) {
    throw invalidSetting(key("sourceUrl"), "an https:// URL of the application's source repository", url);
  }
  return url;
}

/** The Dockerfile, inside the build context: its content is part of what the release's label and clean-tree check cover. */
function parseDockerfile(raw: ConfigInput): string {
  const dockerfile = requiredText(
    raw,
    "dockerfile",
    "a Dockerfile path relative to the build context, such as Dockerfile.backend",
  );
  const normal = path.posix.normalize(dockerfile.replace(/\\/g, "/"));
  if (path.posix.isAbsolute(normal) || normal === ".." || normal.startsWith("../")) {
    throw invalidSetting(
      key("dockerfile"),
      "a path inside the build context (its content is part of what the release's label and clean-tree check cover)",
      raw.values[key("dockerfile")] ?? dockerfile,
    );
  }
  return dockerfile;
}

/** A pin names a stable version; whether it was released is checked against the registry later. */
export function parsePin(pin: string): string {
  let parsed: SemVer;
  try {
    parsed = new SemVer(pin.trim());
  } catch {
    throw new ReleaseConfigError(
      `${key("pin")} must be a released version such as 1.3.2 or v1.3.2, got ${JSON.stringify(pin)}`,
    );
  }
  if (parsed.prerelease.length > 0) {
    throw new ReleaseConfigError(
      `${key("pin")} must be a stable release (floating tags never point at a prerelease), got ${JSON.stringify(pin)}`,
    );
  }
  return versionText(parsed);
}

/** Host names (with an optional port) that a registry's bearer challenge may name as its token service. */
function parseTokenHosts(raw: ConfigInput): string[] {
  const hosts = configList(raw, "registryTokenHosts") ?? [];
  for (const host of hosts) {
    if (holdsCredentials(host)) throw credentialsInside(key("registryTokenHosts"));
    if (!/^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?$/.test(host.toLowerCase())) {
      throw invalidSetting(
        key("registryTokenHosts"),
        "a list of host names such as auth.example.com (no scheme, no path)",
        host,
      );
    }
  }
  return hosts.map((host) => host.toLowerCase());
}

/** Whole seconds, from 1 to an hour: the bound on one run's whole registry read. */
function parseRegistryDeadline(raw: ConfigInput): number {
  const text = raw.values[key("registryDeadline")]?.trim() ?? "";
  const seconds = Number(text);
  if (!/^\d+$/.test(text) || seconds < 1 || seconds > 3600) {
    throw invalidSetting(
      key("registryDeadline"),
      "whole seconds from 1 to 3600 for the whole registry read",
      raw.values[key("registryDeadline")] ?? "",
    );
  }
  return seconds;
}

/**
 * Keys in the namespace that the program does not read are refused: `finsight:verison` would
 * otherwise release whatever the VERSION file says. So is a secret key holding a plain value.
 */
function checkKeys(raw: ConfigInput, problems: Problems, listedSecretKeys: readonly string[], stack: string): void {
  const secretNames: readonly string[] = [...SECRET_CONFIG_KEYS, ...listedSecretKeys];
  const known: readonly string[] = [...CONFIG_KEYS, ...secretNames];
  const prefix = `${NAMESPACE}:`;
  for (const fullKey of new Set([...Object.keys(raw.values), ...raw.secretKeys])) {
    if (!fullKey.startsWith(prefix)) continue;
    const name = fullKey.slice(prefix.length);
    if (name in PER_RUN_KEYS) {
      problems.add(
        `${fullKey} is not configuration any more, got ${JSON.stringify(raw.values[fullKey] ?? "")}: it belongs to one run, so it must never be saved in a stack file. Remove it with \`pulumi config rm ${fullKey} --stack ${stack}\`, and give it for the one run as ${PER_RUN_KEYS[name]}`,
      );
    } else if (!known.includes(name)) {
      problems.add(unknownKey(prefix, name, known));
    } else if (secretNames.includes(name) && !raw.secretKeys.has(fullKey)) {
      problems.add(
        `${fullKey} must be a secret, got a plain value (not shown): run pulumi config set --secret ${fullKey} and remove the plain value from the stack file`,
      );
    } else if (!secretNames.includes(name) && raw.secretKeys.has(fullKey) && name !== "registryUsername") {
      problems.add(
        `${fullKey} must be plain config, got a secret: it is not a credential, and the plan must be able to show it`,
      );
    }
  }
}

/** The registry, the image name and the repository they make; a part that fails is reported and left undefined. */
function whereTo(raw: ConfigInput, problems: Problems) {
  const registry = problems.check(() => parseRegistry(key("registry"), raw.values[key("registry")]));
  const imageName = problems.check(() =>
    parseRepositoryPath(key("imageName"), requiredText(raw, "imageName", "an image name such as finsight-backend")),
  );
  const repository =
    registry && imageName !== undefined ? problems.check(() => imageRepository(registry, imageName)) : undefined;
  return { registry, imageName, repository };
}

/** Whether the secret `name` is set, and not to blank text (its value, when a test gives one, is looked at only for that). */
const isSecretSet = (raw: ConfigInput, name: string) =>
  raw.secretKeys.has(key(name)) && (raw.values[key(name)] === undefined || raw.values[key(name)].trim() !== "");

/** Every environment secret listed in finsight:github has its config key set, as a non-empty secret. */
function checkEnvironmentSecrets(raw: ConfigInput, problems: Problems, secrets: Readonly<Record<string, string>>) {
  for (const [name, configKey] of Object.entries(secrets)) {
    const plainValue = key(configKey) in raw.values && !raw.secretKeys.has(key(configKey)); // reported by checkKeys
    if (!isSecretSet(raw, configKey) && !plainValue) {
      problems.add(
        `${key(configKey)} must be set to a non-empty secret for the environment secret ${name} listed in ${key("github")}.secrets, got nothing: run pulumi config set --secret ${key(configKey)}`,
      );
    }
  }
}

/** finsight:tags, or the variant's default templates when it lists none (an unknown variant is reported apart). */
function parseTags(raw: ConfigInput) {
  const templates = configList(raw, "tags");
  const variant = raw.values[key("variant")]?.trim();
  const defaults =
    DEFAULT_TAG_TEMPLATES[(VARIANTS as readonly string[]).includes(variant ?? "") ? (variant as Variant) : "full"];
  return parseTagTemplates(templates?.length ? templates : defaults);
}

/**
 * Validates the raw stack config, reporting every problem at once. Secret values stay Pulumi
 * secrets elsewhere and never pass through here: only whether one is set.
 */
export function parseSettings(raw: ConfigInput, stack: string, env: ReleaseEnvironment = {}): ReleaseSettings {
  const problems = new Problems();
  const github = problems.check(() => parseGitHubSettings(raw.values[key("github")], stack));
  checkKeys(raw, problems, Object.values(github?.secrets ?? {}), stack);
  checkEnvironmentSecrets(raw, problems, github?.secrets ?? {});
  const hasRegistryPassword = isSecretSet(raw, "registryPassword");
  const { registry, imageName, repository } = whereTo(raw, problems);
  const configuredVersion = optionalText(raw, "version");
  const pinText = optionalText(raw, "pin");
  // One line per setting, in the order their problems are reported.
  const settings = {
    variant: problems.check(() => parseVariant(raw)),
    // Checked here too, so a bad finsight:version is reported with every other bad setting of the run.
    ...(configuredVersion && problems.check(() => parseVersionSetting(key("version"), configuredVersion))
      ? { version: { text: configuredVersion, from: "config" as const } }
      : {}),
    registry,
    imageName,
    repository,
    context: problems.check(() =>
      requiredText(raw, "context", "the path of the FinSight application checkout (the build context)"),
    ),
    dockerfile: problems.check(() => parseDockerfile(raw)),
    platforms: problems.check(() => parsePlatforms(raw)),
    buildArgs: problems.check(() => parseBuildArgs(raw.values[key("buildArgs")])),
    push: problems.check(() => booleanSetting(raw, "push")),
    cache: problems.check(() => parseCache(raw)),
    builder: optionalText(raw, "builder"),
    target: optionalText(raw, "target"),
    // Parsed here, once, so a bad template is reported with every other bad setting of the run.
    tags: problems.check(() => parseTags(raw)),
    buildOnPreview: problems.check(() => booleanSetting(raw, "buildOnPreview")),
    // A plain password is reported by checkKeys alone: the pairing with a user name is judged once it is a secret.
    registryUsername: problems.check(() =>
      key("registryPassword") in raw.values && !raw.secretKeys.has(key("registryPassword"))
        ? optionalText(raw, "registryUsername")
        : parseCredentials(raw, hasRegistryPassword),
    ),
    hasPulumiAccessToken: isSecretSet(raw, "pulumiAccessToken"),
    ...(github ? { github } : {}),
    allowDowngrade: problems.check(() => booleanSetting(raw, "allowDowngrade")),
    registryInsecure: problems.check(() => booleanSetting(raw, "registryInsecure")),
    registryTokenHosts: problems.check(() => parseTokenHosts(raw)),
    registryDeadline: problems.check(() => parseRegistryDeadline(raw)),
    sourceUrl: problems.check(() => parseSourceUrl(raw)),
    licenses: optionalText(raw, "licenses"),
  };
  const pin = pinText ? problems.check(() => parsePin(pinText)) : undefined;
  const intent = intentOf(pin, settings, env, problems);
  problems.throwIfAny();
  // Every step that could fail has succeeded, so no field is undefined by failure.
  return { ...settings, intent } as ReleaseSettings;
}

/** What this run does (release, promote, roll back), decided from the pin, push, GitHub and tags settings; its problems are reported. */
function intentOf(
  pin: string | undefined,
  settings: { push?: boolean; github?: unknown; tags?: IntentFacts["tags"] },
  env: ReleaseEnvironment,
  problems: Problems,
) {
  const decided = decideIntent(
    {
      ...(pin !== undefined ? { pin } : {}),
      ...(settings.push !== undefined ? { push: settings.push } : {}),
      github: settings.github !== undefined,
      ...(settings.tags ? { tags: settings.tags } : {}),
    },
    env,
  );
  for (const line of decided.problems) problems.add(line);
  return decided.intent;
}
