import { ReleaseConfigError } from "../errors";
import type { RegistryAccess } from "../registry/client";
import { DockerConfigError, dockerCredentials } from "./docker-login";
import { type ReleaseEnvironment, readReleaseEnvironment } from "./process-env";
import { type ConfigInput, parseSettings, type ReleaseSettings } from "./settings";
import { readSourceFacts, type SourceFacts, versionFileConsulted } from "./source-facts";

/** Everything the planner reads, gathered once at the edge; the plan is a pure function of it. */
export interface PlanInputs {
  stack: string;
  settings: ReleaseSettings;
  env: ReleaseEnvironment;
  source: SourceFacts;
  /** `pulumi preview` (or `npm run plan`): an unreadable registry or a dirty tree is a warning, not an error. */
  preview: boolean;
}

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
  const parsed = parseSettings(options.config, options.stack);
  const settings: ReleaseSettings = options.versionFlag
    ? { ...parsed, version: { text: options.versionFlag, from: "--version" } }
    : parsed;
  const env = readReleaseEnvironment(options.processEnv);
  const { repository } = settings;
  let credentials: RegistryAccess["credentials"];
  try {
    credentials =
      settings.registryUsername && options.registryPassword
        ? { username: settings.registryUsername, password: options.registryPassword }
        : dockerCredentials(repository.host, options.processEnv);
  } catch (error) {
    if (error instanceof DockerConfigError) throw new ReleaseConfigError(error.message);
    throw error;
  }
  return {
    inputs: {
      stack: options.stack,
      settings,
      env,
      source: readSourceFacts(settings.context, env, settings.dockerfile, {
        readVersionFile: versionFileConsulted(settings.version, env),
      }),
      preview: options.preview,
    },
    registryAccess: {
      host: repository.host,
      repository: repository.path,
      insecure: settings.registryInsecure,
      tokenRealmHosts: settings.registryTokenHosts,
      deadlineMs: settings.registryDeadline * 1000,
      ...(credentials ? { credentials } : {}),
    },
  };
}
