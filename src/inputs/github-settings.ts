import { invalidSetting, ReleaseConfigError } from "../errors";

/**
 * `finsight:github`, validated: the GitHub Actions environment a stack manages. Reviewer logins and
 * team slugs stay names here; the resource code resolves them to the numeric ids the API needs.
 */

const SETTING = "finsight:github";
/** GitHub's API limit on required reviewers, per kind. */
export const MAX_REVIEWERS = 6;
/** Variables written from the release itself; config cannot override them. */
export const RELEASE_VARIABLES = ["FINSIGHT_BACKEND_IMAGE", "FINSIGHT_VERSION", "FINSIGHT_VARIANT"] as const;

/** A reviewer as configured: a numeric id, or a login / team slug to look up. */
export type ReviewerRef = { id: number } | { name: string };

export interface GitHubSettings {
  enabled: boolean;
  owner: string;
  repository: string;
  environment: string;
  users: ReviewerRef[];
  teams: ReviewerRef[];
  preventSelfReview: boolean;
  waitTimer: number;
  branches: string[];
  tags: string[];
  /** Environment secret name → `finsight:` config key holding the secret value. */
  secrets: Record<string, string>;
  variables: Record<string, string>;
}

// GitHub's own rules: logins are alphanumeric with single inner hyphens (39 at most); team slugs are
// lowercase; secret and variable names are [A-Za-z_][A-Za-z0-9_]* and may not start with GITHUB_.
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const TEAM_SLUG = /^[a-z0-9][a-z0-9_-]*$/;
const OWNER = LOGIN;
const REPOSITORY = /^[A-Za-z0-9._-]{1,100}$/;
const ENVIRONMENT = /^[^,;'"`\\/]{1,255}$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CONFIG_KEY = /^[A-Za-z][A-Za-z0-9_-]*$/;

type Json = unknown;
const isRecord = (value: Json): value is Record<string, Json> =>
  value !== null && typeof value === "object" && !Array.isArray(value);

function reviewers(kind: "users" | "teams", value: Json): ReviewerRef[] {
  const setting = `${SETTING}.reviewers.${kind}`;
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidSetting(setting, "a list of logins, team slugs or numeric ids", value);
  if (value.length > MAX_REVIEWERS) {
    throw invalidSetting(setting, `at most ${MAX_REVIEWERS} ${kind} (GitHub's limit)`, value);
  }
  const pattern = kind === "users" ? LOGIN : TEAM_SLUG;
  return value.map((entry): ReviewerRef => {
    if (typeof entry === "number" && Number.isSafeInteger(entry) && entry > 0) return { id: entry };
    if (typeof entry === "string" && /^[0-9]+$/.test(entry)) return { id: Number(entry) };
    if (typeof entry === "string" && pattern.test(entry)) return { name: entry };
    throw invalidSetting(
      setting,
      kind === "users"
        ? "GitHub logins (such as octocat) or numeric user ids"
        : "team slugs (such as release-managers) or numeric team ids",
      entry,
    );
  });
}

function stringList(setting: string, value: Json): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string" && item.trim() !== "")) {
    throw invalidSetting(setting, "a list of non-empty patterns", value);
  }
  return value;
}

function nameMap(
  setting: string,
  value: Json,
  valueRule: (entry: string, name: string) => void,
): Record<string, string> {
  if (value === undefined) return {};
  if (!isRecord(value)) throw invalidSetting(setting, "a map of names to values", value);
  const result: Record<string, string> = {};
  for (const [name, entry] of Object.entries(value)) {
    if (!NAME.test(name) || name.toUpperCase().startsWith("GITHUB_")) {
      throw invalidSetting(`${setting} name`, "letters, digits and _, not starting with a digit or GITHUB_", name);
    }
    if (typeof entry !== "string") throw invalidSetting(`${setting}.${name}`, "a string", entry);
    valueRule(entry, name);
    result[name] = entry;
  }
  return result;
}

function flag(setting: string, value: Json, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw invalidSetting(setting, "true or false", value);
  return value;
}

/** Validates `finsight:github` (JSON text, as Pulumi hands an object to a program). */
export function parseGitHubSettings(text: string | undefined, stack: string): GitHubSettings | undefined {
  if (!text?.trim()) return undefined;
  let value: Json;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidSetting(SETTING, "an object with owner and repository", text);
  }
  if (!isRecord(value)) throw invalidSetting(SETTING, "an object with owner and repository", value);
  const enabled = flag(`${SETTING}.enabled`, value.enabled, true);
  if (!enabled) return undefined;

  const owner = typeof value.owner === "string" ? value.owner.trim() : value.owner;
  if (typeof owner !== "string" || !OWNER.test(owner)) {
    throw invalidSetting(
      `${SETTING}.owner`,
      "the GitHub user or organization that owns the repository, such as acme",
      value.owner ?? "",
    );
  }
  if (typeof value.repository !== "string" || !REPOSITORY.test(value.repository)) {
    throw invalidSetting(
      `${SETTING}.repository`,
      "a repository name without its owner, such as finsight",
      value.repository ?? "",
    );
  }
  const environment = value.environment ?? stack;
  if (typeof environment !== "string" || !ENVIRONMENT.test(environment)) {
    throw invalidSetting(
      `${SETTING}.environment`,
      "an environment name (1 to 255 characters, no , ; ' \" ` \\ /)",
      environment,
    );
  }
  const reviewerConfig = value.reviewers ?? {};
  if (!isRecord(reviewerConfig))
    throw invalidSetting(`${SETTING}.reviewers`, "an object with users and/or teams", reviewerConfig);
  const waitTimer = value.waitTimer ?? 0;
  if (typeof waitTimer !== "number" || !Number.isInteger(waitTimer) || waitTimer < 0 || waitTimer > 43200) {
    throw invalidSetting(`${SETTING}.waitTimer`, "whole minutes from 0 to 43200 (30 days)", waitTimer);
  }
  const deployFrom = value.deployFrom ?? {};
  if (!isRecord(deployFrom))
    throw invalidSetting(`${SETTING}.deployFrom`, "an object with branches and/or tags", deployFrom);

  const variables = nameMap(`${SETTING}.variables`, value.variables, (_, name) => {
    if ((RELEASE_VARIABLES as readonly string[]).includes(name)) {
      throw new ReleaseConfigError(
        `${SETTING}.variables must not set ${name}, got ${JSON.stringify(name)}: the release writes it`,
      );
    }
  });
  const secrets = nameMap(`${SETTING}.secrets`, value.secrets, (key, name) => {
    if (!CONFIG_KEY.test(key)) {
      throw invalidSetting(
        `${SETTING}.secrets.${name}`,
        "the name of a finsight: secret config key, such as slackWebhook",
        key,
      );
    }
  });

  return {
    enabled,
    owner,
    repository: value.repository,
    environment,
    users: reviewers("users", reviewerConfig.users),
    teams: reviewers("teams", reviewerConfig.teams),
    preventSelfReview: flag(`${SETTING}.preventSelfReview`, value.preventSelfReview, false),
    waitTimer,
    branches: stringList(`${SETTING}.deployFrom.branches`, deployFrom.branches),
    tags: stringList(`${SETTING}.deployFrom.tags`, deployFrom.tags),
    secrets,
    variables,
  };
}
