/**
 * The doctor's GitHub lines, against a loopback stand-in for the REST API (GITHUB_API_URL): the
 * token, the repository, the reviewers, the environment's deploy secrets, the workflows' variables
 * and repository secrets, the Actions pull-request setting and the rulesets. Every line is shown
 * passing on a repository set up as docs/FIRST-RELEASE.md says, and failing for each thing missing.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import type { DoctorContext } from "../../src/doctor/context";
import { checkGitHub } from "../../src/doctor/github";
import type { CheckResult } from "../../src/doctor/report";
import {
  doctorContext,
  fakeTools,
  type GitHubStandIn,
  goodGitHub,
  type Route,
  startGitHubStandIn,
} from "../support/doctor";
import { settingsOf } from "../support/plan-fixtures";
import { freePort } from "../support/registry";

const TOKEN = "github_pat_doctor_test_token_0123456789";
const REPO = "acme/finsight";
const GOOD = goodGitHub(REPO, "prod", "release-managers");

describe("doctor: GitHub", () => {
  let api: GitHubStandIn;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "finsight-doctor-github-"));
  const tools = fakeTools({});
  before(async () => {
    api = await startGitHubStandIn(TOKEN, GOOD);
  });
  beforeEach(() => {
    api.routes.clear();
    for (const [key, route] of Object.entries(GOOD)) api.routes.set(key, route);
    api.requests.length = 0;
  });
  after(async () => {
    await api.close();
    tools.remove();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  /** A project directory that is a git checkout, with `origin` when given. */
  function project(origin?: string): string {
    const dir = fs.mkdtempSync(path.join(scratch, "p-"));
    execFileSync("git", ["init", "-q", dir]);
    if (origin) execFileSync("git", ["-C", dir, "remote", "add", "origin", origin]);
    return dir;
  }

  function contextFor(
    options: { token?: string | null; origin?: string; stack?: "prod" | "demo" } = {},
  ): DoctorContext {
    const context = doctorContext({
      path: tools.path,
      stack: options.stack ?? "prod",
      projectDir: project(options.origin),
    });
    context.env.GITHUB_API_URL = api.url;
    if (options.token !== null) context.env.GITHUB_TOKEN = options.token ?? TOKEN;
    context.settings = settingsOf(options.stack ?? "prod", {}, { github: true });
    return context;
  }

  const byId = (results: CheckResult[]) => Object.fromEntries(results.map((result) => [result.id, result]));
  const set = (key: string, route: Route) => api.routes.set(key, route);
  const drop = (key: string) => api.routes.delete(key);

  it("a repository set up as FIRST-RELEASE.md says: every line passes, and nothing but GETs were sent", async () => {
    const results = await checkGitHub(contextFor({ origin: `git@github.com:${REPO}.git` }));
    assert.deepEqual(
      results.map((result) => [result.id, result.status]),
      [
        ["github-token", "pass"],
        ["github-repository", "pass"],
        ["github-reviewers", "pass"],
        ["github-environment", "pass"],
        ["github-variables", "pass"],
        ["github-secrets", "pass"],
        ["github-pull-requests", "pass"],
        ["github-rulesets", "pass"],
      ],
      JSON.stringify(results, null, 1),
    );
    const lines = byId(results);
    assert.equal(lines["github-repository"].detail, `${REPO} found (this checkout's origin)`);
    assert.equal(lines["github-reviewers"].detail, "1 resolved: team release-managers");
    assert.equal(
      lines["github-environment"].detail,
      "prod exists and holds PULUMI_ACCESS_TOKEN, FINSIGHT_GITHUB_ADMIN_TOKEN",
    );
    assert.equal(lines["github-rulesets"].detail, "main protected; v* tags restricted by ruleset release tags");
    assert.ok(api.requests.every((request) => request.method === "GET"));
    assert.ok(api.requests.every((request) => request.authorization === `Bearer ${TOKEN}`));
  });

  it("a stack without finsight:github: one line, not checked, nothing asked", async () => {
    const context = contextFor();
    context.settings = settingsOf("prod");
    const results = await checkGitHub(context);
    assert.deepEqual(
      results.map((result) => result.status),
      ["skip"],
      JSON.stringify(results),
    );
    assert.equal(api.requests.length, 0);
  });

  it("no token: the rights it needs; every other line waits for it", async () => {
    const results = await checkGitHub(contextFor({ token: null }));
    assert.equal(results[0].status, "fail");
    assert.equal(results[0].detail, "neither GITHUB_TOKEN nor the secret github:token is set");
    assert.match(
      results[0].fix ?? "",
      /Administration, Environments, Secrets and Variables write, plus organization Members read/,
    );
    assert.ok(
      results
        .slice(1)
        .every((result) => result.status === "fail" && result.detail === "not checked: needs a GitHub token (above)"),
    );
    assert.equal(api.requests.length, 0);
  });

  it("a token GitHub refuses (401)", async () => {
    const results = await checkGitHub(contextFor({ token: "github_pat_revoked" }));
    assert.equal(results[0].status, "fail");
    assert.match(
      results[0].detail,
      /^GITHUB_TOKEN is refused: GET \/repos\/acme\/finsight answered 401: Bad credentials$/,
    );
    assert.equal(results.length, 8);
  });

  it("the repository is not found (or not visible to the token)", async () => {
    drop(`GET /repos/${REPO}`);
    const lines = byId(await checkGitHub(contextFor()));
    assert.equal(lines["github-token"].status, "pass");
    assert.equal(lines["github-repository"].status, "fail");
    assert.match(lines["github-repository"].detail, /^acme\/finsight not found, or the token cannot see it/);
    assert.equal(lines["github-reviewers"].detail, "not checked: acme/finsight could not be read");
  });

  it("the token's account is not an admin of the repository", async () => {
    set(`GET /repos/${REPO}`, { status: 200, body: { full_name: REPO, permissions: { admin: false, push: true } } });
    const lines = byId(await checkGitHub(contextFor()));
    assert.equal(lines["github-token"].status, "fail");
    assert.match(lines["github-token"].detail, /its account is not an admin of acme\/finsight/);
  });

  it("a fine-grained token without a permission: the one GitHub says the endpoint wants", async () => {
    set(`GET /repos/${REPO}/actions/secrets/public-key`, {
      status: 403,
      body: { message: "Resource not accessible by personal access token" },
      headers: { "x-accepted-github-permissions": "secrets=read" },
    });
    const lines = byId(await checkGitHub(contextFor()));
    assert.equal(lines["github-token"].status, "fail");
    assert.match(
      lines["github-token"].detail,
      /GET \/repos\/acme\/finsight\/actions\/secrets\/public-key answered 403 \(needs secrets=read\): Resource not accessible/,
    );
  });

  it("a classic token without repo, and without read:org for team reviewers", async () => {
    set(`GET /repos/${REPO}`, {
      status: 200,
      body: { full_name: REPO, permissions: { admin: true } },
      headers: { "x-oauth-scopes": "public_repo, workflow" },
    });
    const lines = byId(await checkGitHub(contextFor()));
    assert.equal(lines["github-token"].status, "fail");
    assert.match(
      lines["github-token"].detail,
      /a classic token needs the repo scope \(it has: public_repo, workflow\); team reviewers need read:org/,
    );
  });

  it("the stack names another repository than the one the workflows run in", async () => {
    const lines = byId(await checkGitHub(contextFor({ origin: "https://github.com/acme/finsight-release.git" })));
    assert.equal(lines["github-repository"].status, "fail");
    assert.equal(
      lines["github-repository"].detail,
      "acme/finsight is not where the workflows run (origin is acme/finsight-release): the environment must be in the workflows' repository",
    );
  });

  it("a reviewer team GitHub does not know", async () => {
    drop("GET /orgs/acme/teams/release-managers");
    const lines = byId(await checkGitHub(contextFor()));
    assert.equal(lines["github-reviewers"].status, "fail");
    assert.match(
      lines["github-reviewers"].detail,
      /^team release-managers: GET \/orgs\/acme\/teams\/release-managers answered 404: Not Found$/,
    );
  });

  it("no environment yet: where to create it, before the first release", async () => {
    drop(`GET /repos/${REPO}/environments/prod`);
    const lines = byId(await checkGitHub(contextFor()));
    assert.equal(lines["github-environment"].status, "fail");
    assert.equal(
      lines["github-environment"].detail,
      "acme/finsight has no environment prod yet, so its secrets PULUMI_ACCESS_TOKEN and FINSIGHT_GITHUB_ADMIN_TOKEN cannot exist",
    );
    assert.match(lines["github-environment"].fix ?? "", /docs\/FIRST-RELEASE\.md/);
  });

  it("an environment without its deploy secrets: the gh command for each", async () => {
    drop(`GET /repos/${REPO}/environments/prod/secrets/FINSIGHT_GITHUB_ADMIN_TOKEN`);
    const lines = byId(await checkGitHub(contextFor()));
    assert.equal(lines["github-environment"].status, "fail");
    assert.equal(lines["github-environment"].detail, "environment prod lacks FINSIGHT_GITHUB_ADMIN_TOKEN");
    assert.equal(
      lines["github-environment"].fix,
      "gh secret set FINSIGHT_GITHUB_ADMIN_TOKEN --env prod --repo acme/finsight",
    );
  });

  it("demo holds the environments-only token; the admin token there fails, with the command that removes it", async () => {
    api.routes.clear();
    for (const [key, route] of Object.entries(goodGitHub(REPO, "demo"))) api.routes.set(key, route);
    const good = byId(await checkGitHub(contextFor({ stack: "demo" })));
    assert.equal(good["github-environment"].status, "pass", good["github-environment"].detail);
    assert.equal(good["github-environment"].detail, "demo exists and holds PULUMI_ACCESS_TOKEN, FINSIGHT_GITHUB_TOKEN");
    set(`GET /repos/${REPO}/environments/demo/secrets/FINSIGHT_GITHUB_ADMIN_TOKEN`, {
      status: 200,
      body: { name: "FINSIGHT_GITHUB_ADMIN_TOKEN" },
    });
    const exposed = byId(await checkGitHub(contextFor({ stack: "demo" })));
    assert.equal(exposed["github-environment"].status, "fail");
    assert.match(
      exposed["github-environment"].detail,
      /^environment demo holds FINSIGHT_GITHUB_ADMIN_TOKEN .* only prod's reviewed environment may/,
    );
    assert.equal(
      exposed["github-environment"].fix,
      "gh secret delete FINSIGHT_GITHUB_ADMIN_TOKEN --env demo --repo acme/finsight",
    );
  });

  it("workflow variables: missing ones get `gh variable set`; an organization variable counts", async () => {
    drop(`GET /repos/${REPO}/actions/variables/FINSIGHT_APP_REPOSITORY`);
    drop(`GET /repos/${REPO}/actions/variables/PULUMI_ORGANIZATION`);
    set("GET /orgs/acme/actions/variables/PULUMI_ORGANIZATION", { status: 200, body: { name: "PULUMI_ORGANIZATION" } });
    const lines = byId(await checkGitHub(contextFor()));
    assert.equal(lines["github-variables"].status, "fail");
    assert.equal(lines["github-variables"].detail, "FINSIGHT_APP_REPOSITORY is not set");
    assert.equal(
      lines["github-variables"].fix,
      "gh variable set FINSIGHT_APP_REPOSITORY --repo acme/finsight --body acme/finsight",
    );
  });

  it("repository secrets: the read token missing, a deploy secret where pull requests can read it", async () => {
    drop(`GET /repos/${REPO}/actions/secrets/FINSIGHT_GITHUB_READ_TOKEN`);
    set(`GET /repos/${REPO}/actions/secrets/PULUMI_ACCESS_TOKEN`, {
      status: 200,
      body: { name: "PULUMI_ACCESS_TOKEN" },
    });
    const lines = byId(await checkGitHub(contextFor()));
    assert.equal(lines["github-secrets"].status, "fail");
    assert.match(
      lines["github-secrets"].detail,
      /^FINSIGHT_GITHUB_READ_TOKEN is not set .*; PULUMI_ACCESS_TOKEN is a repository secret, which any same-repository pull request can read/,
    );
    assert.equal(
      lines["github-secrets"].fix,
      "gh secret set FINSIGHT_GITHUB_READ_TOKEN --repo acme/finsight && gh secret delete PULUMI_ACCESS_TOKEN --repo acme/finsight",
    );
  });

  it("Actions may not open pull requests: the setting's name and the API call", async () => {
    set(`GET /repos/${REPO}/actions/permissions/workflow`, {
      status: 200,
      body: { default_workflow_permissions: "read", can_approve_pull_request_reviews: false },
    });
    const lines = byId(await checkGitHub(contextFor()));
    assert.equal(lines["github-pull-requests"].status, "fail");
    assert.match(lines["github-pull-requests"].fix ?? "", /Allow GitHub Actions to create and approve pull requests/);
  });

  it("rulesets: main unprotected and no tag ruleset covering v*", async () => {
    set(`GET /repos/${REPO}/rules/branches/main`, { status: 200, body: [] });
    set(`GET /repos/${REPO}/rulesets/2`, {
      status: 200,
      body: {
        id: 2,
        name: "release tags",
        target: "tag",
        enforcement: "active",
        conditions: { ref_name: { include: ["refs/tags/release-*"] } },
      },
    });
    const lines = byId(await checkGitHub(contextFor()));
    assert.equal(lines["github-rulesets"].status, "fail");
    assert.equal(
      lines["github-rulesets"].detail,
      "no rule protects main; no active tag ruleset covers v* tags (whoever may push one runs release.yml)",
    );
  });

  it("a disabled tag ruleset does not count; classic branch protection does", async () => {
    set(`GET /repos/${REPO}/rules/branches/main`, { status: 200, body: [] });
    set(`GET /repos/${REPO}/branches/main/protection`, { status: 200, body: {} });
    set(`GET /repos/${REPO}/rulesets?includes_parents=true&per_page=100`, {
      status: 200,
      body: [{ id: 2, name: "release tags", target: "tag", enforcement: "disabled" }],
    });
    const lines = byId(await checkGitHub(contextFor()));
    assert.equal(
      lines["github-rulesets"].detail,
      "no active tag ruleset covers v* tags (whoever may push one runs release.yml)",
    );
  });

  it("GITHUB_API_URL pointing nowhere: one line naming it, the rest wait", async () => {
    const context = contextFor();
    const port = await freePort();
    context.env.GITHUB_API_URL = `http://127.0.0.1:${port}`;
    const results = await checkGitHub(context);
    assert.equal(results[0].status, "fail");
    assert.equal(
      results[0].detail,
      `GitHub API http://127.0.0.1:${port} could not be reached: GET /repos/acme/finsight: ECONNREFUSED`,
    );
    assert.ok(results.slice(1).every((result) => result.detail === "not checked: the GitHub API did not answer"));
  });

  it("the token is held for redaction, and a body echoing it is not where it could show", async () => {
    set(`GET /repos/${REPO}/environments/prod`, {
      status: 500,
      body: { message: `upstream said Authorization: Bearer ${TOKEN}` },
    });
    const context = contextFor();
    const results = await checkGitHub(context);
    assert.deepEqual(context.secrets, [TOKEN]);
    assert.doesNotMatch(JSON.stringify(results), new RegExp(TOKEN));
  });
});
