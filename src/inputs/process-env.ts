/**
 * The environment variables the release reads. `readReleaseEnvironment(process.env)` is the one
 * place that looks at the process environment; everything else receives this object.
 */
export interface ReleaseEnvironment {
  RELEASE_VERSION?: string;
  GITHUB_REF_TYPE?: string;
  GITHUB_REF_NAME?: string;
  GITHUB_SHA?: string;
  GITHUB_RUN_ID?: string;
  /** The reproducible-builds convention for "the time this source was last changed". */
  SOURCE_DATE_EPOCH?: string;
}

/** Every variable the release reads; tests clear exactly these between runs. */
export const RELEASE_ENVIRONMENT_VARIABLES: readonly (keyof ReleaseEnvironment)[] = [
  "RELEASE_VERSION",
  "GITHUB_REF_TYPE",
  "GITHUB_REF_NAME",
  "GITHUB_SHA",
  "GITHUB_RUN_ID",
  "SOURCE_DATE_EPOCH",
];

export function readReleaseEnvironment(env: NodeJS.ProcessEnv): ReleaseEnvironment {
  const picked: ReleaseEnvironment = {};
  for (const name of RELEASE_ENVIRONMENT_VARIABLES) {
    const value = env[name]?.trim();
    if (value) picked[name] = value;
  }
  return picked;
}
