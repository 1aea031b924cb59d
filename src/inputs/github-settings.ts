import { invalidSetting, Problems, ReleaseConfigError, unknownKey } from "../model/errors";
import { type GitHubSettings, MAX_REVIEWERS, RELEASE_VARIABLES, type ReviewerRef } from "../model/github-settings";

/**
 * `finsight:github`, validated: the GitHub Actions environment a stack manages. Since the stack
 * owns the environment, a key it does not know is refused at any depth: a typo such as `reviewer`
 * would otherwise drop prod's required reviewers on the next `pulumi up`.
 */

const SETTING = "finsight:github";

const KEYS = [
  "owner",
  "repository",
  "environment",
  "enabled",
  "reviewers",
  "preventSelfReview",
  "waitTimer",
  "deployFrom",
  "secrets",
  "variables",
] as const;
const REVIEWER_KEYS = ["users", "teams"] as const;
const DEPLOY_FROM_KEYS = ["branches", "tags"] as const;

// GitHub's own rules: logins are alphanumeric with single inner hyphens (39 at most); team slugs are
// lowercase; secret and variable names are [A-Za-z_][A-Za-z0-9_]* and may not start with GITHUB_.
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const TEAM_SLUG = /^[a-z0-9][a-z0-9_-]*$/;
const REPOSITORY = /^[A-Za-z0-9._-]{1,100}$/;
const ENVIRONMENT = /^[^,;'"`\\/]{1,255}$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CONFIG_KEY = /^[A-Za-z][A-Za-z0-9_-]*$/;
/** A numeric id as written: no sign, no leading zero (`007` is more likely a typo than user 7). */
const NUMERIC_ID = /^[1-9][0-9]*$/;

type Json = unknown;
const isRecord = (value: Json): value is Record<string, Json> =>
  value !== null && typeof value === "object" && !Array.isArray(value);

function refuseUnknownKeys(problems: Problems, setting: string, value: Record<string, Json>, known: readonly string[]) {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) problems.add(unknownKey(setting, key, known));
  }
}

function reviewer(kind: "users" | "teams", entry: Json): ReviewerRef {
  const setting = `${SETTING}.reviewers.${kind}`;
  // Ids beyond 2^53 lose digits as JSON numbers, so a number must be a safe integer and a string of
  // digits is read exactly or refused, never rounded into somebody else's id.
  if (typeof entry === "number" && Number.isSafeInteger(entry) && entry > 0) return { id: entry };
  if (typeof entry === "string" && /^[0-9]+$/.test(entry)) {
    if (!NUMERIC_ID.test(entry) || !Number.isSafeInteger(Number(entry))) {
      throw invalidSetting(setting, `numeric ids from 1 to ${Number.MAX_SAFE_INTEGER} without leading zeros`, entry);
    }
    return { id: Number(entry) };
  }
  if (typeof entry === "number") {
    throw invalidSetting(setting, `numeric ids from 1 to ${Number.MAX_SAFE_INTEGER}`, entry);
  }
  const pattern = kind === "users" ? LOGIN : TEAM_SLUG;
  if (typeof entry === "string" && pattern.test(entry)) return { name: entry };
  throw invalidSetting(
    setting,
    kind === "users"
      ? "GitHub logins (such as octocat) or numeric user ids"
      : "team slugs (such as release-managers) or numeric team ids",
    entry,
  );
}

function reviewers(problems: Problems, kind: "users" | "teams", value: Json): ReviewerRef[] {
  const setting = `${SETTING}.reviewers.${kind}`;
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.add(invalidSetting(setting, "a list of logins, team slugs or numeric ids", value).message);
    return [];
  }
  if (value.length > MAX_REVIEWERS) {
    problems.add(invalidSetting(setting, `at most ${MAX_REVIEWERS} ${kind} (GitHub's limit)`, value).message);
  }
  const refs = value.map((entry) => problems.check(() => reviewer(kind, entry)));
  const seen = new Set<string>();
  for (const ref of refs) {
    if (!ref) continue;
    const key = "id" in ref ? `#${ref.id}` : ref.name.toLowerCase();
    if (seen.has(key)) problems.add(invalidSetting(setting, "a list without repeats", value).message);
    seen.add(key);
  }
  return refs.filter((ref): ref is ReviewerRef => ref !== undefined);
}

/** Each pattern becomes a resource named after it, so a repeat would register one name twice. */
function patternList(problems: Problems, setting: string, value: Json): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string" && item.trim() !== "")) {
    problems.add(invalidSetting(setting, "a list of non-empty patterns", value).message);
    return [];
  }
  if (new Set(value).size !== value.length) {
    problems.add(invalidSetting(setting, "a list of patterns without repeats", value).message);
  }
  return value;
}

function nameMap(
  problems: Problems,
  setting: string,
  value: Json,
  valueRule: (entry: string, name: string) => void,
): Record<string, string> {
  if (value === undefined) return {};
  if (!isRecord(value)) {
    problems.add(invalidSetting(setting, "a map of names to values", value).message);
    return {};
  }
  const result: Record<string, string> = {};
  for (const [name, entry] of Object.entries(value)) {
    problems.check(() => {
      if (!NAME.test(name) || name.toUpperCase().startsWith("GITHUB_")) {
        throw invalidSetting(`${setting} name`, "letters, digits and _, not starting with a digit or GITHUB_", name);
      }
      if (typeof entry !== "string") throw invalidSetting(`${setting}.${name}`, "a string", entry);
      valueRule(entry, name);
      result[name] = entry;
    });
  }
  return result;
}

function flag(setting: string, value: Json, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw invalidSetting(setting, "true or false", value);
  return value;
}

function objectAt(problems: Problems, setting: string, value: Json, accepted: string): Record<string, Json> {
  if (value === undefined) return {};
  if (isRecord(value)) return value;
  problems.add(invalidSetting(setting, accepted, value).message);
  return {};
}

/**
 * Validates `finsight:github` (JSON text, as Pulumi hands an object to a program); undefined when it is
 * unset or `enabled: false`. Every problem in it is reported, not just the first.
 */
export function parseGitHubSettings(text: string | undefined, stack: string): GitHubSettings | undefined {
  if (!text?.trim()) return undefined;
  let value: Json;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidSetting(SETTING, "an object with owner and repository", text);
  }
  if (!isRecord(value)) throw invalidSetting(SETTING, "an object with owner and repository", value);
  const problems = new Problems();
  refuseUnknownKeys(problems, SETTING, value, KEYS);
  const enabled = problems.check(() => flag(`${SETTING}.enabled`, value.enabled, true));
  if (enabled === false) {
    problems.throwIfAny();
    return undefined;
  }
  const reviewerConfig = objectAt(
    problems,
    `${SETTING}.reviewers`,
    value.reviewers,
    "an object with users and/or teams",
  );
  refuseUnknownKeys(problems, `${SETTING}.reviewers`, reviewerConfig, REVIEWER_KEYS);
  const deployFrom = objectAt(
    problems,
    `${SETTING}.deployFrom`,
    value.deployFrom,
    "an object with branches and/or tags",
  );
  refuseUnknownKeys(problems, `${SETTING}.deployFrom`, deployFrom, DEPLOY_FROM_KEYS);
  const settings: GitHubSettings = {
    ...whereabouts(problems, value, stack),
    users: reviewers(problems, "users", reviewerConfig.users),
    teams: reviewers(problems, "teams", reviewerConfig.teams),
    preventSelfReview:
      problems.check(() => flag(`${SETTING}.preventSelfReview`, value.preventSelfReview, false)) ?? false,
    waitTimer: waitTimerOf(problems, value.waitTimer ?? 0),
    branches: patternList(problems, `${SETTING}.deployFrom.branches`, deployFrom.branches),
    tags: patternList(problems, `${SETTING}.deployFrom.tags`, deployFrom.tags),
    ...environmentContents(problems, value),
  };
  problems.throwIfAny();
  return settings;
}

/** Owner, repository and environment name; a failed one is reported and stands as "" until the end. */
function whereabouts(
  problems: Problems,
  value: Record<string, Json>,
  stack: string,
): Pick<GitHubSettings, "owner" | "repository" | "environment"> {
  const checked = (name: string, got: Json, pattern: RegExp, accepted: string): string => {
    const trimmed = typeof got === "string" ? got.trim() : got;
    if (typeof trimmed === "string" && pattern.test(trimmed)) return trimmed;
    problems.add(invalidSetting(`${SETTING}.${name}`, accepted, got ?? "").message);
    return "";
  };
  return {
    owner: checked(
      "owner",
      value.owner,
      LOGIN,
      "the GitHub user or organization that owns the repository, such as acme",
    ),
    repository: checked(
      "repository",
      value.repository,
      REPOSITORY,
      "a repository name without its owner, such as finsight",
    ),
    environment: checked(
      "environment",
      value.environment ?? stack,
      ENVIRONMENT,
      "an environment name (1 to 255 characters, no , ; ' \" ` \\ /)",
    ),
  };
}

/** GitHub's wait timer: whole minutes, at most 30 days. */
function waitTimerOf(problems: Problems, waitTimer: Json): number {
  if (typeof waitTimer === "number" && Number.isInteger(waitTimer) && waitTimer >= 0 && waitTimer <= 43200) {
    return waitTimer;
  }
  problems.add(invalidSetting(`${SETTING}.waitTimer`, "whole minutes from 0 to 43200 (30 days)", waitTimer).message);
  return 0;
}

/** The variables a stack adds (never the release's own) and the secrets it copies from finsight: secret keys. */
function environmentContents(
  problems: Problems,
  value: Record<string, Json>,
): Pick<GitHubSettings, "variables" | "secrets"> {
  const variables = nameMap(problems, `${SETTING}.variables`, value.variables, (_, name) => {
    if ((RELEASE_VARIABLES as readonly string[]).includes(name)) {
      throw new ReleaseConfigError(
        `${SETTING}.variables must not set ${name}, got ${JSON.stringify(name)}: the release writes it`,
      );
    }
  });
  const secrets = nameMap(problems, `${SETTING}.secrets`, value.secrets, (key, name) => {
    if (!CONFIG_KEY.test(key)) {
      throw invalidSetting(
        `${SETTING}.secrets.${name}`,
        "the name of a finsight: secret config key, such as slackWebhook",
        key,
      );
    }
  });
  return { variables, secrets };
}
