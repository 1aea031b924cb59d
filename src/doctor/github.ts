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

export async function checkGitHub(context: DoctorContext): Promise<CheckResult[]> {
  const titles = {
    token: "GitHub token",
    repository: "GitHub repository",
    reviewers: "environment reviewers",
    environment: "environment and its secrets",
    variables: "workflow variables",
    secrets: "repository secrets",
    pullRequests: "Actions may open pull requests",
    rulesets: "rulesets (main, v* tags)",
  };
  const ids = Object.keys(titles) as (keyof typeof titles)[];
  const idOf = (key: keyof typeof titles) => `github-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const all = (status: (key: keyof typeof titles) => CheckResult) => ids.map(status);

  if (!context.settings) {
    return all((key) =>
      fail(idOf(key), titles[key], "not checked: the stack settings do not parse (above)", "fix the settings above"),
    );
  }
  const github: GitHubSettings | undefined = context.settings.github;
  if (!github) {
    return [skip("github", "GitHub", "finsight:github is unset or disabled: this stack manages nothing on GitHub")];
  }
  const repo = `${github.owner}/${github.repository}`;
  const env = github.environment;
  const source = tokenFor(context);
  if ("missing" in source) {
    return [
      fail(idOf("token"), titles.token, source.missing, `export GITHUB_TOKEN=…   (${ADMIN_TOKEN_RIGHTS})`),
      ...ids
        .slice(1)
        .map((key) => fail(idOf(key), titles[key], "not checked: needs a GitHub token (above)", "fix the token first")),
    ];
  }
  context.secrets.push(source.token);
  const api = new GitHubApi(context.env.GITHUB_API_URL?.trim() || "https://api.github.com", source.token);
  const results: CheckResult[] = [];
  const push = (result: CheckResult) => results.push(result);
  const rest = (from: keyof typeof titles, why: string, fix: string) => {
    for (const key of ids.slice(ids.indexOf(from))) push(fail(idOf(key), titles[key], `not checked: ${why}`, fix));
    return results;
  };

  // The repository answers for the token and the repository together: 401 is the token, 404 the repository.
  const repoPath = `/repos/${repo}`;
  let answer: Answer;
  try {
    answer = await api.get(repoPath);
  } catch (error) {
    push(fail(idOf("token"), titles.token, (error as Error).message, "check GITHUB_API_URL and the network"));
    return rest("repository", "the GitHub API did not answer", "fix the line above first");
  }
  if (answer.status === 401) {
    push(
      fail(
        idOf("token"),
        titles.token,
        `${source.from} is refused: ${api.describe(repoPath, answer)}`,
        `export GITHUB_TOKEN=…   (${ADMIN_TOKEN_RIGHTS})`,
      ),
    );
    return rest("repository", "the token is refused", "fix the token first");
  }
  if (answer.status !== 200 || !isRecord(answer.body)) {
    push(pass(idOf("token"), titles.token, `${source.from} is accepted by ${api.base}`));
    push(
      fail(
        idOf("repository"),
        titles.repository,
        answer.status === 404
          ? `${repo} not found, or the token cannot see it (finsight:github.owner, .repository)`
          : api.describe(repoPath, answer),
        `create ${repo}, or grant the token access to it, or correct finsight:github in Pulumi.${context.stack}.yaml`,
      ),
    );
    return rest("reviewers", `${repo} could not be read`, "fix the repository first");
  }
  const scopes = answer.headers.get("x-oauth-scopes");
  const grantedScopes =
    scopes
      ?.split(",")
      .map((scope) => scope.trim())
      .filter(Boolean) ?? [];
  const admin = isRecord(answer.body.permissions) ? answer.body.permissions.admin : undefined;
  const tokenProblems: string[] = [];
  if (scopes !== null) {
    if (!grantedScopes.includes("repo"))
      tokenProblems.push(`a classic token needs the repo scope (it has: ${grantedScopes.join(", ") || "none"})`);
    if (github.teams.length > 0 && !grantedScopes.some((scope) => /^(read|write|admin):org$/.test(scope))) {
      tokenProblems.push("team reviewers need read:org");
    }
  }
  if (admin === false)
    tokenProblems.push(`its account is not an admin of ${repo}: managing an environment needs Administration write`);
  const probes = [
    `${repoPath}/environments?per_page=1`,
    `${repoPath}/actions/variables?per_page=1`,
    `${repoPath}/actions/secrets/public-key`,
  ];
  for (const probe of probes) {
    const seen = await api.get(probe);
    if (seen.status !== 200) tokenProblems.push(api.describe(probe, seen));
  }
  if (tokenProblems.length > 0) {
    push(
      fail(
        idOf("token"),
        titles.token,
        `${source.from}: ${tokenProblems.join("; ")}`,
        `export GITHUB_TOKEN=…   (${ADMIN_TOKEN_RIGHTS})`,
      ),
    );
  } else {
    push(
      pass(
        idOf("token"),
        titles.token,
        `${source.from}${scopes !== null ? ` (classic: ${grantedScopes.join(", ")})` : ""}: admin of ${repo}; environments, variables and secrets readable (write rights cannot be seen without writing)`,
      ),
    );
  }

  const origin = originRepository(context);
  const fullName = typeof answer.body.full_name === "string" ? answer.body.full_name : repo;
  if (origin && origin.toLowerCase() !== fullName.toLowerCase()) {
    push(
      fail(
        idOf("repository"),
        titles.repository,
        `${fullName} is not where the workflows run (origin is ${origin}): the environment must be in the workflows' repository`,
        `set finsight:github.owner and .repository in Pulumi.${context.stack}.yaml to ${origin}`,
      ),
    );
  } else {
    push(pass(idOf("repository"), titles.repository, `${fullName} found${origin ? " (this checkout's origin)" : ""}`));
  }

  // Reviewers: the program resolves logins and slugs before it declares anything; so does this.
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
  const reviewerCount = github.users.length + github.teams.length;
  if (unresolved.length > 0) {
    push(
      fail(
        idOf("reviewers"),
        titles.reviewers,
        unresolved.join("; "),
        `create the team (gh api -X POST orgs/${github.owner}/teams -f name=<slug>) or correct finsight:github.reviewers; team lookups need organization Members read`,
      ),
    );
  } else {
    push(
      reviewerCount === 0
        ? pass(idOf("reviewers"), titles.reviewers, "none configured (this environment needs no approval)")
        : pass(
            idOf("reviewers"),
            titles.reviewers,
            `${reviewerCount} resolved: ${[...github.users.map((u) => ("id" in u ? `#${u.id}` : u.name)), ...github.teams.map((t) => `team ${"id" in t ? `#${t.id}` : t.name}`)].join(", ")}`,
          ),
    );
  }

  // The environment and the deploy secrets the workflows read from it (never from the repository). The
  // workflows give prod, whose reviewers approve every run, the admin token; every other stack gets the
  // environments-only FINSIGHT_GITHUB_TOKEN, and must not hold the admin token at all.
  const adminToken = "FINSIGHT_GITHUB_ADMIN_TOKEN";
  const githubToken = context.stack === "prod" ? adminToken : "FINSIGHT_GITHUB_TOKEN";
  const deploySecrets = ["PULUMI_ACCESS_TOKEN", githubToken];
  const envPath = `${repoPath}/environments/${encodeURIComponent(env)}`;
  const environment = await api.get(envPath);
  if (environment.status === 404) {
    push(
      fail(
        idOf("environment"),
        titles.environment,
        `${repo} has no environment ${env} yet, so its secrets ${deploySecrets.join(" and ")} cannot exist`,
        `create it with its reviewers and secrets before the first release (docs/FIRST-RELEASE.md)`,
      ),
    );
  } else if (environment.status !== 200) {
    push(
      fail(
        idOf("environment"),
        titles.environment,
        api.describe(envPath, environment),
        `give the token Environments read on ${repo}`,
      ),
    );
  } else {
    const missing: string[] = [];
    for (const name of deploySecrets) {
      const seen = await api.get(`${envPath}/secrets/${name}`);
      if (seen.status === 404) missing.push(name);
      else if (seen.status !== 200) missing.push(`${name} (${api.describe(`${envPath}/secrets/${name}`, seen)})`);
    }
    const exposedAdmin =
      githubToken !== adminToken && (await api.get(`${envPath}/secrets/${adminToken}`)).status !== 404;
    push(
      exposedAdmin
        ? fail(
            idOf("environment"),
            titles.environment,
            `environment ${env} holds ${adminToken} (or its presence could not be ruled out), but only prod's reviewed environment may: any v* tag reaches ${env}`,
            `gh secret delete ${adminToken} --env ${env} --repo ${repo}`,
          )
        : missing.length > 0
          ? fail(
              idOf("environment"),
              titles.environment,
              `environment ${env} lacks ${missing.join(", ")}`,
              missing.map((name) => `gh secret set ${name.split(" ")[0]} --env ${env} --repo ${repo}`).join(" && "),
            )
          : pass(idOf("environment"), titles.environment, `${env} exists and holds ${deploySecrets.join(", ")}`),
    );
  }

  // Variables: repository variables (docs/FIRST-RELEASE.md); an organization variable of the same name also reaches `vars`.
  const appRepository = context.settings.sourceUrl?.match(/github\.com\/([^/]+\/[^/]+?)(?:\.git)?\/?$/)?.[1];
  const variableValues: Record<string, string> = {
    FINSIGHT_APP_REPOSITORY: appRepository ?? "<owner>/<application repository>",
    PULUMI_ORGANIZATION: "<your Pulumi organization>",
  };
  const variableProblems: string[] = [];
  const variableFixes: string[] = [];
  const variableFound: string[] = [];
  for (const [name, example] of Object.entries(variableValues)) {
    const own = await api.get(`${repoPath}/actions/variables/${name}`);
    if (own.status === 200) {
      variableFound.push(name);
      continue;
    }
    const org = await api.get(`/orgs/${github.owner}/actions/variables/${name}`);
    if (org.status === 200) {
      variableFound.push(`${name} (organization)`);
      continue;
    }
    variableProblems.push(
      own.status === 404 ? `${name} is not set` : api.describe(`${repoPath}/actions/variables/${name}`, own),
    );
    variableFixes.push(`gh variable set ${name} --repo ${repo} --body ${example}`);
  }
  push(
    variableProblems.length > 0
      ? fail(idOf("variables"), titles.variables, variableProblems.join("; "), variableFixes.join(" && "))
      : pass(idOf("variables"), titles.variables, `${variableFound.join(", ")} set`),
  );

  // Repository secrets: the previews' read token; the deploy secrets must not be here (a pull request could read them).
  const secretProblems: string[] = [];
  const secretFixes: string[] = [];
  const readToken = await api.get(`${repoPath}/actions/secrets/FINSIGHT_GITHUB_READ_TOKEN`);
  if (readToken.status !== 200) {
    secretProblems.push(
      readToken.status === 404
        ? "FINSIGHT_GITHUB_READ_TOKEN is not set (previews and drift checks read the environments with it)"
        : api.describe(`${repoPath}/actions/secrets/FINSIGHT_GITHUB_READ_TOKEN`, readToken),
    );
    secretFixes.push(`gh secret set FINSIGHT_GITHUB_READ_TOKEN --repo ${repo}`);
  }
  for (const name of deploySecrets) {
    const seen = await api.get(`${repoPath}/actions/secrets/${name}`);
    if (seen.status === 200) {
      secretProblems.push(
        `${name} is a repository secret, which any same-repository pull request can read: keep it in the environments only`,
      );
      secretFixes.push(`gh secret delete ${name} --repo ${repo}`);
    }
  }
  const appToken = await api.get(`${repoPath}/actions/secrets/FINSIGHT_APP_TOKEN`);
  const appTokenNote =
    appToken.status === 200
      ? "FINSIGHT_APP_TOKEN set"
      : "no FINSIGHT_APP_TOKEN (fine for a public application repository)";
  push(
    secretProblems.length > 0
      ? fail(idOf("secrets"), titles.secrets, secretProblems.join("; "), secretFixes.join(" && "))
      : pass(
          idOf("secrets"),
          titles.secrets,
          `FINSIGHT_GITHUB_READ_TOKEN set, no deploy secret at repository level; ${appTokenNote}`,
        ),
  );

  // The rollback's record job opens a pull request with the workflow token.
  const workflowPath = `${repoPath}/actions/permissions/workflow`;
  const workflow = await api.get(workflowPath);
  if (workflow.status !== 200 || !isRecord(workflow.body)) {
    push(
      fail(
        idOf("pullRequests"),
        titles.pullRequests,
        api.describe(workflowPath, workflow),
        `give the token Administration read on ${repo}`,
      ),
    );
  } else if (workflow.body.can_approve_pull_request_reviews !== true) {
    push(
      fail(
        idOf("pullRequests"),
        titles.pullRequests,
        `off in ${repo}: the rollback's record job cannot open its pull request`,
        `Settings → Actions → General → "Allow GitHub Actions to create and approve pull requests", or gh api -X PUT repos/${repo}/actions/permissions/workflow -F can_approve_pull_request_reviews=true`,
      ),
    );
  } else {
    push(pass(idOf("pullRequests"), titles.pullRequests, `on in ${repo}`));
  }

  // Rulesets: main takes reviewed pull requests only; v* tags (which run release.yml) are restricted.
  const rulesProblems: string[] = [];
  const mainRules = await api.get(`${repoPath}/rules/branches/main`);
  const mainProtection = Array.isArray(mainRules.body) && mainRules.body.length > 0;
  if (!mainProtection) {
    const classic = await api.get(`${repoPath}/branches/main/protection`);
    if (classic.status !== 200) rulesProblems.push("no rule protects main");
  }
  const rulesetsPath = `${repoPath}/rulesets?includes_parents=true&per_page=100`;
  const rulesets = await api.get(rulesetsPath);
  let tagRule: string | undefined;
  if (rulesets.status !== 200 || !Array.isArray(rulesets.body)) {
    rulesProblems.push(api.describe(rulesetsPath, rulesets));
  } else {
    for (const entry of rulesets.body) {
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
        tagRule = String(entry.name ?? entry.id);
        break;
      }
    }
    if (!tagRule) rulesProblems.push("no active tag ruleset covers v* tags (whoever may push one runs release.yml)");
  }
  push(
    rulesProblems.length > 0
      ? fail(
          idOf("rulesets"),
          titles.rulesets,
          rulesProblems.join("; "),
          `Settings → Rules → Rulesets: a branch ruleset on main (require a pull request) and a tag ruleset on refs/tags/v* (restrict creations to release-managers) (docs/FIRST-RELEASE.md)`,
        )
      : pass(idOf("rulesets"), titles.rulesets, `main protected; v* tags restricted by ruleset ${tagRule}`),
  );
  return results;
}
