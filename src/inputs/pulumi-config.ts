import * as pulumi from "@pulumi/pulumi";
import type { RegistryLogin } from "../model/registry";
import { NAMESPACE } from "../model/settings";
import { type AssembledInputs, assembleInputs } from "./release-inputs";

export interface LoadedRelease extends AssembledInputs {
  /** Secret config values by `finsight:` key, still Pulumi secrets: the keys the plan names, and no other. */
  secretsFor(keys: readonly string[]): Record<string, pulumi.Output<string>>;
  /** `github:token`, when the stack sets it; else the GitHub provider reads GITHUB_TOKEN itself. */
  githubToken?: pulumi.Output<string>;
  /** Set when the stack configures registry credentials; otherwise every push uses the ambient docker login. */
  login?: RegistryLogin<pulumi.Output<string>>;
}

/**
 * `isConfigSecret` is how the Pulumi SDK itself tells a `secure:` value from a plain one; it is marked
 * internal in the typings, so it is reached through this one narrow declaration.
 */
const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };

/**
 * The program's reader of Pulumi config (and, through `assembleInputs`, of the process environment,
 * git and the docker login). Throws a ReleaseConfigError, before any resource exists, when a setting is wrong.
 */
export function loadRelease(): LoadedRelease {
  const values = pulumi.runtime.allConfig();
  const secretKeys = new Set(Object.keys(values).filter((key) => runtimeConfig.isConfigSecret(key)));
  const qualified = (name: string) => `${NAMESPACE}:${name}`;
  // The registry is read before any resource is registered, so its password is needed as text here:
  // it goes only into the Authorization header of those reads, never into a log, a name or the plan.
  const assembled = assembleInputs({
    stack: pulumi.getStack(),
    config: { values, secretKeys },
    processEnv: process.env,
    preview: pulumi.runtime.isDryRun(),
    registryPassword: values[qualified("registryPassword")],
  });
  const { settings } = assembled.inputs;
  const config = new pulumi.Config(NAMESPACE);

  return {
    ...assembled,
    // Which secrets the environment holds is the plan's decision (plan/github-environment.ts); this only
    // loads the ones it names, still as Pulumi secrets. The user name is plain config, stored as a secret there.
    secretsFor: (keys) =>
      Object.fromEntries(
        keys.map((key) => [
          key,
          key === "registryUsername" ? pulumi.secret(config.require(key)) : config.requireSecret(key),
        ]),
      ),
    githubToken: new pulumi.Config("github").getSecret("token"),
    ...(settings.registryUsername
      ? {
          login: {
            address: settings.repository.host,
            username: settings.registryUsername,
            password: config.requireSecret("registryPassword"),
          },
        }
      : {}),
  };
}
