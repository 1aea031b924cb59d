/** Fixed author and time, so every commit a test makes has the same id on every machine. */
export const GIT_ENV = {
  GIT_AUTHOR_NAME: "FinSight release tests",
  GIT_AUTHOR_EMAIL: "release-tests@finsight.invalid",
  GIT_COMMITTER_NAME: "FinSight release tests",
  GIT_COMMITTER_EMAIL: "release-tests@finsight.invalid",
  GIT_AUTHOR_DATE: "2026-11-20T10:00:00Z",
  GIT_COMMITTER_DATE: "2026-11-20T10:00:00Z",
};
