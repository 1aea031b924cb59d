import type { ReleaseEnvironment } from "../model/source-facts";

/** Every variable the release reads; tests clear exactly these between runs. */
export const RELEASE_ENVIRONMENT_VARIABLES: readonly (keyof ReleaseEnvironment)[] = [
  "RELEASE_VERSION",
  "GITHUB_REF_TYPE",
  "GITHUB_REF_NAME",
  "GITHUB_SHA",
  "GITHUB_RUN_ID",
  "SOURCE_DATE_EPOCH",
  "FINSIGHT_PHASE",
  "FINSIGHT_PROMOTE_DIGEST",
];

export function readReleaseEnvironment(env: NodeJS.ProcessEnv): ReleaseEnvironment {
  const picked: ReleaseEnvironment = {};
  for (const name of RELEASE_ENVIRONMENT_VARIABLES) {
    const value = env[name]?.trim();
    if (value) picked[name] = value;
  }
  return picked;
}
