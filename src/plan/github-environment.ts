import { ReleaseConfigError } from "../model/errors";
import type { GitHubSettings } from "../model/github-settings";

/** What the stack's GitHub Actions environment holds, as plain data, decided from its settings and the release. */

const SETTING = "finsight:github";
/** What a variable that names the promoted release holds before anything was promoted. */
const NONE_PROMOTED = "none promoted yet";

interface EnvironmentSecretPlan {
  name: string;
  /** The `finsight:` key whose secret value it carries. */
  configKey: string;
}

export interface GitHubEnvironmentPlan
  extends Pick<
    GitHubSettings,
    "owner" | "repository" | "environment" | "users" | "teams" | "preventSelfReview" | "waitTimer"
  > {
  branchPatterns: string[];
  tagPatterns: string[];
  secrets: EnvironmentSecretPlan[];
  /**
   * Every variable and its value, FINSIGHT_BACKEND_IMAGE included; a value that is the candidate's
   * ref (not known before the build is pushed) reads `<release tag>@<digest of this build>` here and
   * is named in `fromCandidate`.
   */
  variables: Record<string, string>;
  /** Variables whose value is the candidate's digest-pinned ref, known once the build is pushed. */
  fromCandidate: string[];
  /**
   * Variables a candidate run leaves as they are in GitHub (FINSIGHT_BACKEND_IMAGE, FINSIGHT_VERSION):
   * they name the promoted release, which a candidate is not yet.
   */
  kept: string[];
}

export interface EnvironmentFacts {
  variant: string;
  /** The version the stack serves; undefined when a candidate run cannot name the promoted one. */
  servedVersion?: string;
  /** The image ref the stack serves (FINSIGHT_BACKEND_IMAGE): known, none yet, or this run's candidate. */
  servedRef: { known: string } | { none: true } | { candidate: string };
  /** A candidate run: what users deploy stays as GitHub holds it. */
  keep: boolean;
  registryHost: string;
  registryUsername?: string;
  /** Whether the stack holds `finsight:pulumiAccessToken` (Pulumi Cloud backends). */
  hasPulumiAccessToken: boolean;
}

/**
 * GHCR logins use the workflow's own GITHUB_TOKEN, so only other registries get DOCKER_USERNAME and
 * DOCKER_PASSWORD (docker/login-action's names, and the release guide's for Docker Hub).
 */
export function planGitHubEnvironment(settings: GitHubSettings, facts: EnvironmentFacts): GitHubEnvironmentPlan {
  const secrets: EnvironmentSecretPlan[] = [];
  if (facts.registryUsername && facts.registryHost !== "ghcr.io") {
    secrets.push(
      { name: "DOCKER_USERNAME", configKey: "registryUsername" },
      { name: "DOCKER_PASSWORD", configKey: "registryPassword" },
    );
  }
  if (facts.hasPulumiAccessToken) secrets.push({ name: "PULUMI_ACCESS_TOKEN", configKey: "pulumiAccessToken" });
  for (const [name, configKey] of Object.entries(settings.secrets)) {
    if (secrets.some((secret) => secret.name === name)) {
      throw new ReleaseConfigError(
        `${SETTING}.secrets must not set ${name}, got ${JSON.stringify(configKey)}: the release writes it from its own config`,
      );
    }
    secrets.push({ name, configKey });
  }
  return {
    owner: settings.owner,
    repository: settings.repository,
    environment: settings.environment,
    users: settings.users,
    teams: settings.teams,
    preventSelfReview: settings.preventSelfReview,
    waitTimer: settings.waitTimer,
    branchPatterns: settings.branches,
    tagPatterns: settings.tags,
    secrets,
    variables: {
      ...settings.variables,
      // Kept variables take these values only when GitHub does not have them yet.
      FINSIGHT_VERSION: facts.servedVersion ?? NONE_PROMOTED,
      FINSIGHT_VARIANT: facts.variant,
      FINSIGHT_BACKEND_IMAGE:
        "known" in facts.servedRef
          ? facts.servedRef.known
          : "candidate" in facts.servedRef
            ? `${facts.servedRef.candidate}@<digest of this build>`
            : NONE_PROMOTED,
    },
    fromCandidate: "candidate" in facts.servedRef ? ["FINSIGHT_BACKEND_IMAGE"] : [],
    kept: facts.keep ? ["FINSIGHT_BACKEND_IMAGE", "FINSIGHT_VERSION"] : [],
  };
}
