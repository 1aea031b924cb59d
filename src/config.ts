import * as pulumi from "@pulumi/pulumi";
import { readReleaseEnvironment } from "./environment";
import type { PlanInputs } from "./plan/release-plan";
import { CONFIG_KEYS, NAMESPACE, parseSettings, type RawConfig } from "./settings";
import { readSourceFacts } from "./source-facts";

export interface LoadedRelease {
  inputs: PlanInputs;
  /** `finsight:registryPassword`, still a Pulumi secret. */
  registryPassword?: pulumi.Output<string>;
}

/** True when the secret key holds a non-empty value; the value itself is not kept or shown. */
function secretIsSet(key: string): boolean {
  return (pulumi.runtime.getConfig(`${NAMESPACE}:${key}`) ?? "").trim() !== "";
}

/**
 * The only reader of `pulumi.Config("finsight")` and of the process environment in the program.
 * Throws a ReleaseConfigError, before any resource exists, when a setting is wrong.
 */
export function loadReleaseConfig(): LoadedRelease {
  const config = new pulumi.Config(NAMESPACE);
  const raw: RawConfig = Object.fromEntries(CONFIG_KEYS.map((key) => [key, config.get(key)]));
  const hasRegistryPassword = secretIsSet("registryPassword");
  const settings = parseSettings(raw, hasRegistryPassword);
  const env = readReleaseEnvironment(process.env);
  return {
    inputs: { stack: pulumi.getStack(), settings, env, source: readSourceFacts(settings.context, env) },
    registryPassword: hasRegistryPassword ? config.requireSecret("registryPassword") : undefined,
  };
}
