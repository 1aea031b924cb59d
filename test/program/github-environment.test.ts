import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseGitHubSettings } from "../../src/inputs/github-settings";
import { planGitHubEnvironment } from "../../src/plan/github-environment";
import { assertRefused, mockGitHubId, type ProgramRun, runProgram } from "../support/program";
import { REGISTRY_PASSWORD, REGISTRY_USER } from "../support/registry";

const ENV = {
  RELEASE_VERSION: "1.4.0",
  GITHUB_SHA: "4f2a9c0e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
  SOURCE_DATE_EPOCH: "1795168800",
};
const ofType = (run: ProgramRun, type: string) => run.registered.filter((r) => r.type === `github:index/${type}`);
const isGitHub = (type: string) =>
  type.startsWith("github:") || type === "pulumi:providers:github" || type === "finsight:github:Environment";

/** Custom deployment policies on, protected-branch mode off: what tag patterns need. */
const CUSTOM_POLICIES = { protectedBranches: false, customBranchPolicies: true };

/** [branchPattern, tagPattern] of each deployment policy, in registration order. */
function deployPatterns(run: ProgramRun): unknown[][] {
  return ofType(run, "repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy").map((p) => [
    p.inputs.branchPattern,
    p.inputs.tagPattern,
  ]);
}

function variables(run: ProgramRun): Record<string, unknown> {
  return Object.fromEntries(
    ofType(run, "actionsEnvironmentVariable:ActionsEnvironmentVariable").map((v) => [
      v.inputs.variableName,
      v.inputs.value,
    ]),
  );
}

describe("demo environment", () => {
  it("has no reviewers and deploys from the default branch and release tags", async () => {
    const run = await runProgram({ stack: "demo", env: ENV });
    assert.equal(run.error, undefined);
    const [environment] = ofType(run, "repositoryEnvironment:RepositoryEnvironment");
    assert.equal(environment.inputs.environment, "demo");
    assert.equal(environment.inputs.repository, "finsight-release");
    assert.equal(environment.inputs.reviewers, undefined);
    assert.deepEqual(environment.inputs.deploymentBranchPolicy, CUSTOM_POLICIES);
    assert.deepEqual(deployPatterns(run), [
      ["main", undefined],
      [undefined, "v*"],
    ]);
    const [provider] = run.registered.filter((r) => r.type === "pulumi:providers:github");
    assert.equal(provider.inputs.owner, "acme");
    assert.equal(
      ofType(run, "actionsEnvironmentSecret:ActionsEnvironmentSecret").length,
      0,
      "the ambient docker login (the workflow token, for GHCR) needs no registry secret",
    );
  });

  it("variables carry the digest-pinned ref the stack pushed, its version and variant", async () => {
    const run = await runProgram({ stack: "demo", env: ENV });
    assert.equal(run.outputs.imageRef, `${run.outputs.repository}:demo-v1.4.0@${run.outputs.digest}`);
    assert.match(String(run.outputs.digest), /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(variables(run), {
      FINSIGHT_BACKEND_IMAGE: run.outputs.imageRef,
      FINSIGHT_VERSION: "1.4.0",
      FINSIGHT_VARIANT: "demo",
    });
    assert.equal(run.outputs.githubEnvironment, "demo");
    assert.deepEqual(run.outputs.githubVariables, ["FINSIGHT_BACKEND_IMAGE", "FINSIGHT_VARIANT", "FINSIGHT_VERSION"]);
  });
});

describe("prod environment", () => {
  it("requires reviewers (resolved to ids), prevents self-review and deploys from main (rollbacks) and v* tags (releases)", async () => {
    const run = await runProgram({ stack: "prod", env: ENV });
    assert.equal(run.error, undefined);
    const [environment] = ofType(run, "repositoryEnvironment:RepositoryEnvironment");
    assert.equal(environment.inputs.environment, "prod");
    assert.deepEqual(environment.inputs.reviewers, [{ users: [], teams: [mockGitHubId("release-managers")] }]);
    assert.equal(environment.inputs.preventSelfReview, true);
    assert.deepEqual(environment.inputs.deploymentBranchPolicy, CUSTOM_POLICIES);
    assert.deepEqual(deployPatterns(run), [
      ["main", undefined],
      [undefined, "v*"],
    ]);
    assert.equal(variables(run).FINSIGHT_BACKEND_IMAGE, run.outputs.imageRef);
    assert.equal(variables(run).FINSIGHT_VARIANT, "full");
  });

  it("users by login and by id, teams by slug and by id", async () => {
    const github = {
      owner: "acme",
      repository: "finsight",
      reviewers: { users: ["octocat", 1234, "5678"], teams: ["sre", 42] },
    };
    const run = await runProgram({ stack: "prod", env: ENV, config: { "finsight:github": JSON.stringify(github) } });
    assert.equal(run.error, undefined);
    const [environment] = ofType(run, "repositoryEnvironment:RepositoryEnvironment");
    assert.deepEqual(environment.inputs.reviewers, [
      { users: [mockGitHubId("octocat"), 1234, 5678], teams: [mockGitHubId("sre"), 42] },
    ]);
    assert.equal(environment.inputs.deploymentBranchPolicy, undefined, "no patterns: no custom policy");
  });

  it("every secret reaches GitHub as a Pulumi secret and never an output", async () => {
    const github = {
      owner: "acme",
      repository: "finsight",
      environment: "production",
      secrets: { SLACK_WEBHOOK: "slackWebhook" },
      variables: { DEPLOY_REGION: "eu-west-1" },
    };
    const run = await runProgram({
      stack: "prod",
      env: ENV,
      config: {
        "finsight:github": JSON.stringify(github),
        "finsight:registryUsername": REGISTRY_USER,
      },
      secrets: {
        "finsight:registryPassword": REGISTRY_PASSWORD,
        "finsight:pulumiAccessToken": "pul-s3cret",
        "finsight:slackWebhook": "hook-s3cret",
      },
    });
    assert.equal(run.error, undefined);
    const secrets = ofType(run, "actionsEnvironmentSecret:ActionsEnvironmentSecret");
    assert.deepEqual(secrets.map((s) => s.inputs.secretName).sort(), [
      "DOCKER_PASSWORD",
      "DOCKER_USERNAME",
      "PULUMI_ACCESS_TOKEN",
      "SLACK_WEBHOOK",
    ]);
    for (const secret of secrets) {
      assert.deepEqual(secret.secretInputs, ["value"], `${secret.inputs.secretName} is a secret input`);
      assert.equal(secret.inputs.plaintextValue, undefined);
      assert.equal(secret.inputs.environment, "production");
    }
    assert.equal(variables(run).DEPLOY_REGION, "eu-west-1");
    assert.deepEqual(run.outputs.githubSecrets, [
      "DOCKER_USERNAME",
      "DOCKER_PASSWORD",
      "PULUMI_ACCESS_TOKEN",
      "SLACK_WEBHOOK",
    ]);
    assert.doesNotMatch(JSON.stringify(run.outputs), /s3cret|registry-test-password/);
  });

  it("GHCR logs in with the workflow token: a user name there adds no DOCKER_* secret", () => {
    const facts = {
      variant: "full" as const,
      servedVersion: "1.4.0",
      keep: false,
      servedRef: { known: "ghcr.io/acme/finsight-backend:v1.4.0@sha256:" },
      hasPulumiAccessToken: false,
    };
    const settings = parseGitHubSettings(JSON.stringify({ owner: "acme", repository: "finsight" }), "prod");
    assert.ok(settings);
    const names = (registryHost: string) =>
      planGitHubEnvironment(settings, {
        ...facts,
        registryHost,
        registryUsername: "release-bot",
      }).secrets.map((secret) => secret.name);
    assert.deepEqual(names("ghcr.io"), []);
    assert.deepEqual(names("docker.io"), ["DOCKER_USERNAME", "DOCKER_PASSWORD"]);
  });

  it("enabled: false registers no GitHub resource at all", async () => {
    const run = await runProgram({
      stack: "prod",
      env: ENV,
      config: { "finsight:github": JSON.stringify({ enabled: false, owner: "acme", repository: "finsight" }) },
    });
    assert.equal(run.error, undefined);
    assert.ok(run.registered.length > 0);
    assert.deepEqual(
      run.registered.filter((r) => isGitHub(r.type)),
      [],
    );
    assert.equal(run.outputs.githubEnvironment, undefined);
  });
});

describe("bad GitHub settings register nothing", () => {
  const base = { owner: "acme", repository: "finsight" };
  const cases: { name: string; github: object; config?: Record<string, string>; message: RegExp }[] = [
    {
      name: "listed secret missing",
      github: { ...base, secrets: { SLACK_WEBHOOK: "slackWebhook" } },
      message:
        /^finsight:slackWebhook must be set to a non-empty secret for the environment secret SLACK_WEBHOOK listed in finsight:github\.secrets, got nothing/,
    },
    {
      name: "unknown reviewer form",
      github: { ...base, reviewers: { users: ["@alice"] } },
      message:
        /^finsight:github\.reviewers\.users must be GitHub logins \(such as octocat\) or numeric user ids, got "@alice"$/,
    },
    {
      name: "team given as org/slug",
      github: { ...base, reviewers: { teams: ["acme/sre"] } },
      message: /^finsight:github\.reviewers\.teams must be team slugs .*, got "acme\/sre"$/,
    },
    {
      name: "more reviewers than the API allows",
      github: { ...base, reviewers: { users: ["a1", "a2", "a3", "a4", "a5", "a6", "a7"] } },
      message: /^finsight:github\.reviewers\.users must be at most 6 users \(GitHub's limit\)/,
    },
    {
      name: "empty owner",
      github: { ...base, owner: "" },
      message: /^finsight:github\.owner must be the GitHub user or organization .*, got ""$/,
    },
    {
      name: "missing repository",
      github: { owner: "acme" },
      message: /^finsight:github\.repository must be a repository name .*, got ""$/,
    },
    {
      name: "variable the release owns",
      github: { ...base, variables: { FINSIGHT_BACKEND_IMAGE: "x" } },
      message: /^finsight:github\.variables must not set FINSIGHT_BACKEND_IMAGE/,
    },
    {
      name: "GITHUB_ prefixed name",
      github: { ...base, variables: { GITHUB_X: "x" } },
      message: /^finsight:github\.variables name must be .*not starting with a digit or GITHUB_, got "GITHUB_X"$/,
    },
    {
      name: "environment without a pushed image",
      github: base,
      config: { "finsight:push": "false" },
      message: /^finsight:push must be true while finsight:github is enabled/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const run = await runProgram({
        stack: "prod",
        env: ENV,
        config: { "finsight:github": JSON.stringify(c.github), ...c.config },
      });
      assertRefused(run, c.message);
    });
  }
});
