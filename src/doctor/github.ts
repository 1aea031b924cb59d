import type { GitHubSettings } from "../model/github-settings";
import { describeShape, redactCredentials } from "../registry/client";
import { firstLine, runCommand } from "./commands";
import type { DoctorContext } from "./context";
import { type CheckResult, fail, pass, skip } from "./report";
import { pulumi } from "./toolchain";

/**
 * What the stack's `finsight:github` and the workflows need from GitHub, read through the REST API
 * (GET only: nothing on GitHub changes). The API base is GITHUB_API_URL when set (GitHub Enterprise,
 * or a stand-in server in the tests), else https://api.github.com.
 */

const API_VERSION = "2022-11-28";

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

class GitHubApi {
  readonly base: string;
  private readonly token: string;

  constructor(base: string, token: string) {
    this.base = base.replace(/\/+$/, "");
    this.token = token;
  }

  /** One GET. Never follows a redirect (the token would travel with it); an unreachable API throws, naming it. */
  async get(path: string): Promise<Answer> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        headers: {
          accept: "application/vnd.github+json",
          authorization: `Bearer ${this.token}`,
          "x-github-api-version": API_VERSION,
          "user-agent": "finsight-doctor",
        },
        redirect: "manual",
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new Error(
        redactCredentials(`GitHub API ${this.base} could not be reached: GET ${path}: ${cause}`, [this.token]),
      );
    }
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: kept as text, judged by the caller.
    }
    return { status: response.status, body, headers: response.headers };
  }

  /** `GET … answered 403 (needs environments=read): Resource not accessible…`, one redacted line. */
  describe(path: string, answer: Answer): string {
    const message =
      isRecord(answer.body) && typeof answer.body.message === "string"
        ? answer.body.message
        : describeShape(answer.body, [this.token]);
    // Fine-grained tokens are told which permission an endpoint wants.
    const wants = answer.headers.get("x-accepted-github-permissions");
    return redactCredentials(`GET ${path} answered ${answer.status}${wants ? ` (needs ${wants})` : ""}: ${message}`, [
      this.token,
    ]);
  }
}

type TokenSource = { token: string; from: string } | { missing: string };

/** The token the GitHub provider uses: GITHUB_TOKEN, else the stack's secret github:token. */
function tokenFor(context: DoctorContext): TokenSource {
  const fromEnv = context.env.GITHUB_TOKEN?.trim();
  if (fromEnv) return { token: fromEnv, from: "GITHUB_TOKEN" };
  if (context.secretKeys?.has("github:token")) {
    if (!context.pulumiStack)
      return { missing: "the stack's github:token can be read only through the Pulumi CLI and stack (above)" };
    const result = pulumi(context, ["config", "get", "github:token", "--stack", context.stack]);
    if (result.ran && result.status === 0 && result.stdout.trim())
      return { token: result.stdout.trim(), from: "github:token" };
    return { missing: `github:token could not be read: ${firstLine(result)}` };
  }
  return { missing: "neither GITHUB_TOKEN nor the secret github:token is set" };
}

/** owner/name of this checkout's `origin` on GitHub, when it has one. */
function originRepository(context: DoctorContext): string | undefined {
  const result = runCommand("git", ["-C", context.projectDir, "remote", "get-url", "origin"], {
    cwd: context.projectDir,
    env: context.env,
    timeoutMs: 10_000,
  });
  if (!result.ran || result.status !== 0) return undefined;
  const match = /github\.com[:/]([^/\s]+)\/([^/\s]+?)(?:\.git)?\/?$/.exec(result.stdout.trim());
  return match ? `${match[1]}/${match[2]}` : undefined;
}

/** A glob of GitHub's ruleset conditions (`refs/tags/v*`, `~ALL`) against one ref. */
function refMatches(pattern: string, ref: string): boolean {
  if (pattern === "~ALL") return true;
  const regex = pattern
    .split("**")
    .map((part) =>
      part
        .split("*")
        .map((piece) => piece.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join("[^/]*"),
    )
    .join(".*");
  return new RegExp(`^${regex}$`).test(ref);
}

const ADMIN_TOKEN_RIGHTS =
  "a fine-grained token (or GitHub App token) on this repository with Administration, Environments, Secrets and Variables write, plus organization Members read for team reviewers";
const TOKEN_FIX = `export GITHUB_TOKEN=…   (${ADMIN_TOKEN_RIGHTS})`;

/** The lines of this check, in the order they are reported. */
const TITLES = {
  token: "GitHub token",
  repository: "GitHub repository",
  reviewers: "environment reviewers",
  environment: "environment and its secrets",
  variables: "workflow variables",
  secrets: "repository secrets",
  pullRequests: "Actions may open pull requests",
  rulesets: "rulesets (main, v* tags)",
};
type Line = keyof typeof TITLES;
const LINES = Object.keys(TITLES) as Line[];

const idOf = (line: Line) => `github-${line.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const passed = (line: Line, detail: string) => pass(idOf(line), TITLES[line], detail);
const failed = (line: Line, detail: string, fix?: string) => fail(idOf(line), TITLES[line], detail, fix);

/** Every line from `from` on, failed as not checked because an earlier line failed. */
function notChecked(from: Line, why: string, fix: string): CheckResult[] {
  return LINES.slice(LINES.indexOf(from)).map((line) => failed(line, `not checked: ${why}`, fix));
}

/** What every GitHub line reads: the API with its token, and the repository the stack names. */
interface Target {
  context: DoctorContext;
  api: GitHubApi;
  github: GitHubSettings;
  /** Where the token came from: GITHUB_TOKEN or github:token. */
  tokenFrom: string;
  /** owner/name */
  repo: string;
  /** /repos/owner/name */
  repoPath: string;
}

/** The repository's own answer (GET /repos/owner/name), read once for the token and repository lines. */
interface RepositoryAnswer {
  body: Record<string, unknown>;
  headers: Headers;
}

/**
 * The workflows give prod, whose reviewers approve every run, the admin token; every other stack gets the
 * environments-only FINSIGHT_GITHUB_TOKEN, and must not hold the admin token at all.
 */
const ADMIN_TOKEN = "FINSIGHT_GITHUB_ADMIN_TOKEN";
const githubTokenFor = (stack: string) => (stack === "prod" ? ADMIN_TOKEN : "FINSIGHT_GITHUB_TOKEN");
const deploySecretsFor = (stack: string) => ["PULUMI_ACCESS_TOKEN", githubTokenFor(stack)];

export async function checkGitHub(context: DoctorContext): Promise<CheckResult[]> {
  if (!context.settings) {
    return LINES.map((line) =>
      failed(line, "not checked: the stack settings do not parse (above)", "fix the settings above"),
    );
  }
  const github: GitHubSettings | undefined = context.settings.github;
  if (!github) {
    return [skip("github", "GitHub", "finsight:github is unset or disabled: this stack manages nothing on GitHub")];
  }
  const source = tokenFor(context);
  if ("missing" in source) {
    return [
      failed("token", source.missing, TOKEN_FIX),
      ...notChecked("repository", "needs a GitHub token (above)", "fix the token first"),
    ];
  }
  context.secrets.push(source.token);
  const repo = `${github.owner}/${github.repository}`;
  const target: Target = {
    context,
    api: new GitHubApi(context.env.GITHUB_API_URL?.trim() || "https://api.github.com", source.token),
    github,
    tokenFrom: source.from,
    repo,
    repoPath: `/repos/${repo}`,
  };
  const read = await readRepository(target);
  if ("lines" in read) return read.lines;
  // One line each, in order: every request of one line is made before the next line's first.
  return [
    await checkToken(target, read),
    checkOrigin(target, read.body),
    await checkReviewers(target),
    await checkEnvironment(target),
    await checkVariables(target),
    await checkRepositorySecrets(target),
    await checkPullRequestSetting(target),
    await checkRulesets(target),
  ];
}

/**
 * The repository answers for the token and the repository together: 401 is the token, 404 the repository.
 * When it cannot be read, the lines to report instead.
 */
async function readRepository(target: Target): Promise<RepositoryAnswer | { lines: CheckResult[] }> {
  const { api, repo, repoPath, tokenFrom, context } = target;
  let answer: Answer;
  try {
    answer = await api.get(repoPath);
  } catch (error) {
    return {
      lines: [
        failed("token", (error as Error).message, "check GITHUB_API_URL and the network"),
        ...notChecked("repository", "the GitHub API did not answer", "fix the line above first"),
      ],
    };
  }
  if (answer.status === 401) {
    return {
      lines: [
        failed("token", `${tokenFrom} is refused: ${api.describe(repoPath, answer)}`, TOKEN_FIX),
        ...notChecked("repository", "the token is refused", "fix the token first"),
      ],
    };
  }
  if (answer.status !== 200 || !isRecord(answer.body)) {
    return {
      lines: [
        passed("token", `${tokenFrom} is accepted by ${api.base}`),
        failed(
          "repository",
          answer.status === 404
            ? `${repo} not found, or the token cannot see it (finsight:github.owner, .repository)`
            : api.describe(repoPath, answer),
          `create ${repo}, or grant the token access to it, or correct finsight:github in Pulumi.${context.stack}.yaml`,
        ),
        ...notChecked("reviewers", `${repo} could not be read`, "fix the repository first"),
      ],
    };
  }
  return { body: answer.body, headers: answer.headers };
}

/** A classic token's scopes (X-OAuth-Scopes); undefined for a fine-grained or App token, which sends none. */
function classicScopes(headers: Headers): string[] | undefined {
  const scopes = headers.get("x-oauth-scopes");
  if (scopes === null) return undefined;
  return scopes
    .split(",")
    .map((scope) => scope.trim())
    .filter(Boolean);
}

/** What the token lacks: classic scopes, admin on the repository, and read access to what the stack manages. */
async function tokenProblems(target: Target, repository: RepositoryAnswer): Promise<string[]> {
  const { api, github, repo, repoPath } = target;
  const scopes = classicScopes(repository.headers);
  const admin = isRecord(repository.body.permissions) ? repository.body.permissions.admin : undefined;
  const problems: string[] = [];
  if (scopes !== undefined) {
    if (!scopes.includes("repo"))
      problems.push(`a classic token needs the repo scope (it has: ${scopes.join(", ") || "none"})`);
    if (github.teams.length > 0 && !scopes.some((scope) => /^(read|write|admin):org$/.test(scope))) {
      problems.push("team reviewers need read:org");
    }
  }
  if (admin === false)
    problems.push(`its account is not an admin of ${repo}: managing an environment needs Administration write`);
  const probes = [
    `${repoPath}/environments?per_page=1`,
    `${repoPath}/actions/variables?per_page=1`,
    `${repoPath}/actions/secrets/public-key`,
  ];
  for (const probe of probes) {
    const seen = await api.get(probe);
    if (seen.status !== 200) problems.push(api.describe(probe, seen));
  }
  return problems;
}

async function checkToken(target: Target, repository: RepositoryAnswer): Promise<CheckResult> {
  const problems = await tokenProblems(target, repository);
  if (problems.length > 0) return failed("token", `${target.tokenFrom}: ${problems.join("; ")}`, TOKEN_FIX);
  const scopes = classicScopes(repository.headers);
  return passed(
    "token",
    `${target.tokenFrom}${scopes !== undefined ? ` (classic: ${scopes.join(", ")})` : ""}: admin of ${target.repo}; environments, variables and secrets readable (write rights cannot be seen without writing)`,
  );
}

/** The environment must be in the repository the workflows run in: this checkout's origin, when it has one. */
function checkOrigin(target: Target, body: Record<string, unknown>): CheckResult {
  const { context, repo } = target;
  const origin = originRepository(context);
  const fullName = typeof body.full_name === "string" ? body.full_name : repo;
  if (origin && origin.toLowerCase() !== fullName.toLowerCase()) {
    return failed(
      "repository",
      `${fullName} is not where the workflows run (origin is ${origin}): the environment must be in the workflows' repository`,
      `set finsight:github.owner and .repository in Pulumi.${context.stack}.yaml to ${origin}`,
    );
  }
  return passed("repository", `${fullName} found${origin ? " (this checkout's origin)" : ""}`);
}

/** The reviewers named by login or slug that GitHub does not know (ids are taken as given, as the program does). */
async function unresolvedReviewers(target: Target): Promise<string[]> {
  const { api, github } = target;
  const unresolved: string[] = [];
  for (const user of github.users) {
    if ("id" in user) continue;
    const seen = await api.get(`/users/${encodeURIComponent(user.name)}`);
    if (seen.status !== 200) unresolved.push(`user ${user.name}: ${api.describe(`/users/${user.name}`, seen)}`);
  }
  for (const team of github.teams) {
    if ("id" in team) continue;
    const path = `/orgs/${github.owner}/teams/${encodeURIComponent(team.name)}`;
    const seen = await api.get(path);
    if (seen.status !== 200) unresolved.push(`team ${team.name}: ${api.describe(path, seen)}`);
  }
  return unresolved;
}

/** Reviewers: the program resolves logins and slugs before it declares anything; so does this. */
async function checkReviewers(target: Target): Promise<CheckResult> {
  const { github } = target;
  const unresolved = await unresolvedReviewers(target);
  if (unresolved.length > 0) {
    return failed(
      "reviewers",
      unresolved.join("; "),
      `create the team (gh api -X POST orgs/${github.owner}/teams -f name=<slug>) or correct finsight:github.reviewers; team lookups need organization Members read`,
    );
  }
  const reviewerCount = github.users.length + github.teams.length;
  if (reviewerCount === 0) return passed("reviewers", "none configured (this environment needs no approval)");
  const names = [
    ...github.users.map((u) => ("id" in u ? `#${u.id}` : u.name)),
    ...github.teams.map((t) => `team ${"id" in t ? `#${t.id}` : t.name}`),
  ];
  return passed("reviewers", `${reviewerCount} resolved: ${names.join(", ")}`);
}

/** The environment and the deploy secrets the workflows read from it (never from the repository). */
async function checkEnvironment(target: Target): Promise<CheckResult> {
  const { api, context, github, repo, repoPath } = target;
  const env = github.environment;
  const envPath = `${repoPath}/environments/${encodeURIComponent(env)}`;
  const environment = await api.get(envPath);
  if (environment.status === 404) {
    return failed(
      "environment",
      `${repo} has no environment ${env} yet, so its secrets ${deploySecretsFor(context.stack).join(" and ")} cannot exist`,
      `create it with its reviewers and secrets before the first release (docs/FIRST-RELEASE.md)`,
    );
  }
  if (environment.status !== 200) {
    return failed("environment", api.describe(envPath, environment), `give the token Environments read on ${repo}`);
  }
  return checkEnvironmentSecrets(target, envPath);
}

/** The environment holds both deploy secrets, and (outside prod) not the admin token. */
async function checkEnvironmentSecrets(target: Target, envPath: string): Promise<CheckResult> {
  const { api, context, github, repo } = target;
  const env = github.environment;
  const deploySecrets = deploySecretsFor(context.stack);
  const missing: string[] = [];
  for (const name of deploySecrets) {
    const seen = await api.get(`${envPath}/secrets/${name}`);
    if (seen.status === 404) missing.push(name);
    else if (seen.status !== 200) missing.push(`${name} (${api.describe(`${envPath}/secrets/${name}`, seen)})`);
  }
  const exposedAdmin =
    githubTokenFor(context.stack) !== ADMIN_TOKEN &&
    (await api.get(`${envPath}/secrets/${ADMIN_TOKEN}`)).status !== 404;
  if (exposedAdmin) {
    return failed(
      "environment",
      `environment ${env} holds ${ADMIN_TOKEN} (or its presence could not be ruled out), but only prod's reviewed environment may: any v* tag reaches ${env}`,
      `gh secret delete ${ADMIN_TOKEN} --env ${env} --repo ${repo}`,
    );
  }
  if (missing.length > 0) {
    return failed(
      "environment",
      `environment ${env} lacks ${missing.join(", ")}`,
      missing.map((name) => `gh secret set ${name.split(" ")[0]} --env ${env} --repo ${repo}`).join(" && "),
    );
  }
  return passed("environment", `${env} exists and holds ${deploySecrets.join(", ")}`);
}

/** Variables: repository variables (docs/FIRST-RELEASE.md); an organization variable of the same name also reaches `vars`. */
async function checkVariables(target: Target): Promise<CheckResult> {
  const { api, context, github, repo, repoPath } = target;
  const appRepository = context.settings?.sourceUrl?.match(/github\.com\/([^/]+\/[^/]+?)(?:\.git)?\/?$/)?.[1];
  const variableValues: Record<string, string> = {
    FINSIGHT_APP_REPOSITORY: appRepository ?? "<owner>/<application repository>",
    PULUMI_ORGANIZATION: "<your Pulumi organization>",
  };
  const problems: string[] = [];
  const fixes: string[] = [];
  const found: string[] = [];
  for (const [name, example] of Object.entries(variableValues)) {
    const own = await api.get(`${repoPath}/actions/variables/${name}`);
    if (own.status === 200) {
      found.push(name);
      continue;
    }
    const org = await api.get(`/orgs/${github.owner}/actions/variables/${name}`);
    if (org.status === 200) {
      found.push(`${name} (organization)`);
      continue;
    }
    problems.push(
      own.status === 404 ? `${name} is not set` : api.describe(`${repoPath}/actions/variables/${name}`, own),
    );
    fixes.push(`gh variable set ${name} --repo ${repo} --body ${example}`);
  }
  return problems.length > 0
    ? failed("variables", problems.join("; "), fixes.join(" && "))
    : passed("variables", `${found.join(", ")} set`);
}

/** Repository secrets: the previews' read token; the deploy secrets must not be here (a pull request could read them). */
async function checkRepositorySecrets(target: Target): Promise<CheckResult> {
  const { api, context, repo, repoPath } = target;
  const problems: string[] = [];
  const fixes: string[] = [];
  const readToken = await api.get(`${repoPath}/actions/secrets/FINSIGHT_GITHUB_READ_TOKEN`);
  if (readToken.status !== 200) {
    problems.push(
      readToken.status === 404
        ? "FINSIGHT_GITHUB_READ_TOKEN is not set (previews and drift checks read the environments with it)"
        : api.describe(`${repoPath}/actions/secrets/FINSIGHT_GITHUB_READ_TOKEN`, readToken),
    );
    fixes.push(`gh secret set FINSIGHT_GITHUB_READ_TOKEN --repo ${repo}`);
  }
  for (const name of deploySecretsFor(context.stack)) {
    const seen = await api.get(`${repoPath}/actions/secrets/${name}`);
    if (seen.status === 200) {
      problems.push(
        `${name} is a repository secret, which any same-repository pull request can read: keep it in the environments only`,
      );
      fixes.push(`gh secret delete ${name} --repo ${repo}`);
    }
  }
  const appToken = await api.get(`${repoPath}/actions/secrets/FINSIGHT_APP_TOKEN`);
  const appTokenNote =
    appToken.status === 200
      ? "FINSIGHT_APP_TOKEN set"
      : "no FINSIGHT_APP_TOKEN (fine for a public application repository)";
  return problems.length > 0
    ? failed("secrets", problems.join("; "), fixes.join(" && "))
    : passed("secrets", `FINSIGHT_GITHUB_READ_TOKEN set, no deploy secret at repository level; ${appTokenNote}`);
}

/** The rollback's record job opens a pull request with the workflow token. */
async function checkPullRequestSetting(target: Target): Promise<CheckResult> {
  const { api, repo, repoPath } = target;
  const workflowPath = `${repoPath}/actions/permissions/workflow`;
  const workflow = await api.get(workflowPath);
  if (workflow.status !== 200 || !isRecord(workflow.body)) {
    return failed(
      "pullRequests",
      api.describe(workflowPath, workflow),
      `give the token Administration read on ${repo}`,
    );
  }
  if (workflow.body.can_approve_pull_request_reviews !== true) {
    return failed(
      "pullRequests",
      `off in ${repo}: the rollback's record job cannot open its pull request`,
      `Settings → Actions → General → "Allow GitHub Actions to create and approve pull requests", or gh api -X PUT repos/${repo}/actions/permissions/workflow -F can_approve_pull_request_reviews=true`,
    );
  }
  return passed("pullRequests", `on in ${repo}`);
}

/** Whether main is protected, by a branch ruleset or else by classic branch protection. */
async function mainIsProtected(target: Target): Promise<boolean> {
  const { api, repoPath } = target;
  const mainRules = await api.get(`${repoPath}/rules/branches/main`);
  if (Array.isArray(mainRules.body) && mainRules.body.length > 0) return true;
  const classic = await api.get(`${repoPath}/branches/main/protection`);
  return classic.status === 200;
}

/** The name (else id) of the first active tag ruleset that covers v* tags, if any. */
async function tagRuleset(target: Target, rulesets: unknown[]): Promise<string | undefined> {
  const { api, repoPath } = target;
  for (const entry of rulesets) {
    if (!isRecord(entry) || entry.target !== "tag" || entry.enforcement !== "active" || typeof entry.id !== "number")
      continue;
    const detail = await api.get(`${repoPath}/rulesets/${entry.id}`);
    const include =
      isRecord(detail.body) && isRecord(detail.body.conditions) && isRecord(detail.body.conditions.ref_name)
        ? detail.body.conditions.ref_name.include
        : undefined;
    if (
      Array.isArray(include) &&
      include.some((pattern) => typeof pattern === "string" && refMatches(pattern, "refs/tags/v1.0.0"))
    ) {
      return String(entry.name ?? entry.id);
    }
  }
  return undefined;
}

/** Rulesets: main takes reviewed pull requests only; v* tags (which run release.yml) are restricted. */
async function checkRulesets(target: Target): Promise<CheckResult> {
  const { api, repoPath } = target;
  const problems: string[] = [];
  if (!(await mainIsProtected(target))) problems.push("no rule protects main");
  const rulesetsPath = `${repoPath}/rulesets?includes_parents=true&per_page=100`;
  const rulesets = await api.get(rulesetsPath);
  let tagRule: string | undefined;
  if (rulesets.status !== 200 || !Array.isArray(rulesets.body)) {
    problems.push(api.describe(rulesetsPath, rulesets));
  } else {
    tagRule = await tagRuleset(target, rulesets.body);
    if (!tagRule) problems.push("no active tag ruleset covers v* tags (whoever may push one runs release.yml)");
  }
  return problems.length > 0
    ? failed(
        "rulesets",
        problems.join("; "),
        `Settings → Rules → Rulesets: a branch ruleset on main (require a pull request) and a tag ruleset on refs/tags/v* (restrict creations to release-managers) (docs/FIRST-RELEASE.md)`,
      )
    : passed("rulesets", `main protected; v* tags restricted by ruleset ${tagRule}`);
}
