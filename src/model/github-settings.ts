/** The GitHub Actions environment a stack manages, as `finsight:github` describes it. */

/** GitHub's API limit on required reviewers, per kind. */
export const MAX_REVIEWERS = 6;
/** Variables written from the release itself; config cannot override them. */
export const RELEASE_VARIABLES = ["FINSIGHT_BACKEND_IMAGE", "FINSIGHT_VERSION", "FINSIGHT_VARIANT"] as const;

/** A reviewer as configured: a numeric id, or a login / team slug to look up. */
export type ReviewerRef = { id: number } | { name: string };

export interface GitHubSettings {
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
