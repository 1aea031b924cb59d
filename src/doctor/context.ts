import type { ReleaseSettings } from "../model/settings";

/** What every check reads, and what earlier checks learned for later ones (a later check needs an earlier one's answer). */
export interface DoctorContext {
  projectDir: string;
  stack: string;
  /** The process environment (PATH, DOCKER_CONFIG, GITHUB_TOKEN, GITHUB_API_URL, …). */
  env: NodeJS.ProcessEnv;
  /** `--read-only`: nothing is written anywhere, not even a cancelled blob upload. */
  readOnly: boolean;
  /** The running Node.js version (without the v). */
  nodeVersion: string;
  /** Secret values this run held (a registry password, a GitHub token): blanked out of every line. */
  secrets: string[];
  pulumiCli?: boolean;
  pulumiLogin?: boolean;
  pulumiStack?: boolean;
  /** The stack's settings, when they parse. */
  settings?: ReleaseSettings;
  /** Which keys of the stack file hold `secure:` values. */
  secretKeys?: ReadonlySet<string>;
}
