import * as pulumi from "@pulumi/pulumi";
import type { PlanInputs } from "../plan/release-plan";
import type { RegistryAccess } from "../registry/client";
import { dockerCredentials } from "./docker-login";
import { readReleaseEnvironment } from "./process-env";
import { CONFIG_KEYS, NAMESPACE, parseSettings, type RawConfig } from "./settings";
import { readSourceFacts } from "./source-facts";

export interface LoadedRelease {
  inputs: PlanInputs;
  /** Secret config values by `finsight:` key, still Pulumi secrets; only the keys the plan may use. */
  secrets: Record<string, pulumi.Output<string>>;
  /** `github:token`, when the stack sets it; else the GitHub provider reads GITHUB_TOKEN itself. */
  githubToken?: pulumi.Output<string>;
  /** How to read the registry before anything is registered (repository filled in by the plan). */
  registryAccess: Omit<RegistryAccess, "repository">;
  /** The same credentials for the floating-tag resources, the password a Pulumi secret. */
  registryCredentials?: { username: string; password: pulumi.Output<string> };
}

/** True when the key holds a non-empty value; the value itself is not kept or shown. */
function secretIsSet(key: string): boolean {
  return (pulumi.runtime.getConfig(`${NAMESPACE}:${key}`) ?? "").trim() !== "";
}

/**
 * The only reader of Pulumi config and of the process environment in the program.
 * Throws a ReleaseConfigError, before any resource exists, when a setting is wrong.
 */
export function loadReleaseConfig(): LoadedRelease {
  const config = new pulumi.Config(NAMESPACE);
  const raw: RawConfig = Object.fromEntries(CONFIG_KEYS.map((key) => [key, config.get(key)]));
  const settings = parseSettings(raw, pulumi.getStack(), secretIsSet);
  const env = readReleaseEnvironment(process.env);

  const secretKeys = new Set(Object.values(settings.github?.secrets ?? {}));
  if (settings.hasRegistryPassword) secretKeys.add("registryPassword");
  if (settings.hasPulumiAccessToken) secretKeys.add("pulumiAccessToken");
  const secrets: Record<string, pulumi.Output<string>> = {};
  for (const key of secretKeys) secrets[key] = config.requireSecret(key);
  // The user name is plain config, but as an environment secret it is stored as one.
  if (settings.registryUsername) secrets.registryUsername = pulumi.secret(settings.registryUsername);

  // The registry must be read before any resource is registered, so its password is needed as text
  // here: it goes only into the Authorization header of those reads, never into a log, a name or a
  // resource. What resources get is the secret Output.
  const host = settings.registry.host;
  const plainCredentials = settings.registryUsername
    ? { username: settings.registryUsername, password: pulumi.runtime.getConfig(`${NAMESPACE}:registryPassword`) ?? "" }
    : dockerCredentials(host, process.env);
  const registryCredentials = settings.registryUsername
    ? { username: settings.registryUsername, password: secrets.registryPassword }
    : plainCredentials
      ? { username: plainCredentials.username, password: pulumi.secret(plainCredentials.password) }
      : undefined;

  return {
    inputs: {
      stack: pulumi.getStack(),
      settings,
      env,
      source: readSourceFacts(settings.context, env),
      preview: pulumi.runtime.isDryRun(),
    },
    secrets,
    githubToken: new pulumi.Config("github").getSecret("token"),
    registryAccess: {
      host,
      insecure: settings.registryInsecure,
      ...(plainCredentials ? { credentials: plainCredentials } : {}),
    },
    ...(registryCredentials ? { registryCredentials } : {}),
  };
}
