import { type AssembledInputs, assembleInputs } from "./release-inputs";
import { projectName, qualifyKey, readStackConfig } from "./stack-files";

/** What `npm run plan` (and `npm run doctor`) may change for one run, as the Pulumi CLI's flags would. */
export interface StackOverrides {
  version?: string;
  /** Per-run intents, as the environment gives them to `pulumi up` (never saved in a stack file). */
  intent?: { FINSIGHT_PHASE?: string; FINSIGHT_PROMOTE_DIGEST?: string };
  /** Config overrides; bare keys are qualified with the project name, as the Pulumi CLI does. */
  config?: Record<string, string>;
}

/** The inputs for a stack, from its stack file with the command line's overrides, as `pulumi preview` sees them. */
export function assembleForStack(
  projectDir: string,
  stack: string,
  processEnv: NodeJS.ProcessEnv,
  options: StackOverrides,
): AssembledInputs {
  const { values, secretKeys } = readStackConfig(projectDir, stack);
  const project = projectName(projectDir);
  for (const [key, value] of Object.entries(options.config ?? {})) {
    const qualified = qualifyKey(project, key);
    values[qualified] = value;
    secretKeys.delete(qualified);
  }
  return assembleInputs({
    stack,
    config: { values, secretKeys },
    processEnv: { ...processEnv, ...options.intent },
    preview: true,
    ...(options.version ? { versionFlag: options.version } : {}),
  });
}
