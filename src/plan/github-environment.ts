import { invalidSetting, ReleaseConfigError } from "../model/errors";
import type { GitHubSettings } from "../model/github-settings";

/** What the stack's GitHub Actions environment holds, as plain data, decided from its settings and the release. */

const SETTING = "finsight:github";

export interface EnvironmentSecretPlan {
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
  /** Plain variables known before the release; FINSIGHT_BACKEND_IMAGE is added from the served digest. */
  variables: Record<string, string>;
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
  /** A candidate run: what users deploy stays as GitHub holds it. */
  keep: boolean;
  registryHost: string;
  registryUsername?: string;
  /** Whether the stack holds `finsight:pulumiAccessToken` (Pulumi Cloud backends). */
  hasPulumiAccessToken: boolean;
  push: boolean;
}

/**
 * GHCR logins use the workflow's own GITHUB_TOKEN, so only other registries get DOCKER_USERNAME and
 * DOCKER_PASSWORD (docker/login-action's names, and the release guide's for Docker Hub).
 */
export function planGitHubEnvironment(settings: GitHubSettings, facts: EnvironmentFacts): GitHubEnvironmentPlan {
  if (!facts.push) {
    throw invalidSetting(
      "finsight:push",
      `true while ${SETTING} is enabled (FINSIGHT_BACKEND_IMAGE needs a pushed digest)`,
      false,
    );
  }
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
      // Kept variables take this value only when GitHub does not have them yet.
      FINSIGHT_VERSION: facts.servedVersion ?? "none promoted yet",
      FINSIGHT_VARIANT: facts.variant,
    },
    kept: facts.keep ? ["FINSIGHT_BACKEND_IMAGE", "FINSIGHT_VERSION"] : [],
  };
}
