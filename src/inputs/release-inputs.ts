import type { PlanInputs } from "../model/plan-inputs";
import type { RegistryAccess } from "../model/registry";
import type { ConfigInput, ReleaseSettings } from "../model/settings";
import { credentialsFor } from "../registry/credentials";
import { readReleaseEnvironment } from "./process-env";
import { parseSettings } from "./settings";
import { readSourceFacts } from "./source-facts";

export interface AssembleOptions {
  stack: string;
  config: ConfigInput;
  processEnv: NodeJS.ProcessEnv;
  preview: boolean;
  /** `npm run plan --version`: wins over finsight:version, and says so. */
  versionFlag?: string;
  /**
   * The stack's registry password as text, for the registry reads only (the program has it; the plan
   * CLI cannot decrypt it and falls back to the docker login). Never part of the plan.
   */
  registryPassword?: string;
}

/** What the program and `npm run plan` both need: the plan's inputs and how to read the registry. */
export interface AssembledInputs {
  inputs: PlanInputs;
  registryAccess: RegistryAccess;
}

/** The one assembly of the plan's inputs, shared by index.ts and the plan CLI. */
export function assembleInputs(options: AssembleOptions): AssembledInputs {
  const env = readReleaseEnvironment(options.processEnv);
  const parsed = parseSettings(options.config, options.stack, env);
  const settings: ReleaseSettings = options.versionFlag
    ? { ...parsed, version: { text: options.versionFlag, from: "--version" } }
    : parsed;
  const { repository } = settings;
  const credentials = credentialsFor(
    repository.host,
    settings.registryUsername && options.registryPassword
      ? { username: settings.registryUsername, password: options.registryPassword }
      : undefined,
    options.processEnv,
  );
  return {
    inputs: {
      stack: options.stack,
      settings,
      env,
      source: readSourceFacts(settings.context, env, settings.dockerfile),
      preview: options.preview,
    },
    registryAccess: {
      host: repository.host,
      repository: repository.path,
      insecure: settings.registryInsecure,
      registryTokenHosts: settings.registryTokenHosts,
      ...(credentials ? { credentials } : {}),
    },
  };
}
