import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import type { ReviewerRef } from "../model/github-settings";
import type { GitHubEnvironmentPlan } from "../plan/github-environment";

export interface GitHubEnvironmentArgs {
  plan: GitHubEnvironmentPlan;
  /** The candidate's digest-pinned ref, for the variables the plan names in `fromCandidate`. */
  candidateRef: pulumi.Input<string>;
  /**
   * Settles once every floating tag of the run has moved: the variables (what users deploy) wait for
   * it, so a failed tag write stops them too, and an interrupted promotion or rollback never serves a
   * release its tags do not name; the next `pulumi up` completes both (promise 7).
   */
  afterTags?: pulumi.Input<unknown>;
  /** Secret values by `finsight:` config key; every key the plan's secrets name must be here. */
  secrets: Record<string, pulumi.Output<string>>;
  /** `github:token`; unset means the provider's own GITHUB_TOKEN. */
  token?: pulumi.Output<string>;
}

type ChildOptions = pulumi.CustomResourceOptions & { parent: pulumi.Resource; provider: github.Provider };

/**
 * The stack's GitHub Actions environment: protection, deployment refs, secrets, and the variables
 * deploy jobs read. Projected from the plan; the only work of its own is resolving reviewer names,
 * which starts first so that `reviewersResolved` fails before the program declares anything else.
 */
export class GitHubEnvironment extends pulumi.ComponentResource {
  public readonly environment: pulumi.Output<string>;
  /** Names of the variables the environment holds (values are in GitHub). */
  public readonly variableNames: pulumi.Output<string[]>;
  public readonly secretNames: pulumi.Output<string[]>;
  /**
   * Settles once every reviewer login and team slug has its numeric id; rejects, naming the reviewer,
   * when GitHub has no such user or team. index.ts awaits it before declaring the release.
   */
  public readonly reviewersResolved: Promise<void>;

  constructor(name: string, args: GitHubEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("finsight:github:Environment", name, {}, opts);
    const { plan } = args;
    // An explicit provider, so the owner comes from this stack's config and not from ambient github:owner.
    const provider = new github.Provider(
      `${name}-github`,
      { owner: plan.owner, ...(args.token ? { token: args.token } : {}) },
      { parent: this },
    );
    const childOpts: ChildOptions = { parent: this, provider };
    const users = Promise.all(plan.users.map((ref) => reviewerId(plan, "user", ref, childOpts)));
    const teams = Promise.all(plan.teams.map((ref) => reviewerId(plan, "team", ref, childOpts)));

    const [environmentName, resolveEnvironmentName] = pulumi.deferredOutput<string>();
    this.environment = environmentName;
    this.variableNames = pulumi.output(Object.keys(plan.variables).sort());
    this.secretNames = pulumi.output(plan.secrets.map((secret) => secret.name));
    // The children are declared once every reviewer has an id (the lookups run in previews too, so
    // previews show them): an unknown reviewer fails the run with its own message and nothing else is
    // declared, where an environment with a rejected reviewers input failed only at serialization.
    this.reviewersResolved = Promise.all([users, teams]).then(([userIds, teamIds]) => {
      const environment = declareEnvironment(name, plan, userIds, teamIds, childOpts);
      declareContents(name, args, environment, childOpts);
      resolveEnvironmentName(environment.environment);
      this.registerOutputs({
        environment: this.environment,
        variableNames: this.variableNames,
        secretNames: this.secretNames,
      });
    });
  }
}

/** A reviewer's numeric id: given, or looked up by login or team slug; a name GitHub does not know fails the run. */
async function reviewerId(
  plan: GitHubEnvironmentPlan,
  kind: "user" | "team",
  ref: ReviewerRef,
  opts: ChildOptions,
): Promise<number> {
  if ("id" in ref) return ref.id;
  try {
    const found =
      kind === "user"
        ? await github.getUser({ username: ref.name }, opts)
        : await github.getTeam({ slug: ref.name, summaryOnly: true }, opts);
    return Number(found.id);
  } catch (error) {
    throw new Error(
      `finsight:github.reviewers.${kind}s must name ${kind === "user" ? "GitHub users" : `teams of ${plan.owner}`} that exist, got ${JSON.stringify(ref.name)}: ${(error as Error).message}`,
    );
  }
}

/** The environment itself, its protection rules and the refs that may deploy to it. */
function declareEnvironment(
  name: string,
  plan: GitHubEnvironmentPlan,
  userIds: number[],
  teamIds: number[],
  opts: ChildOptions,
): github.RepositoryEnvironment {
  const hasReviewers = plan.users.length + plan.teams.length > 0;
  const hasPolicies = plan.branchPatterns.length + plan.tagPatterns.length > 0;
  const environment = new github.RepositoryEnvironment(
    name,
    {
      repository: plan.repository,
      environment: plan.environment,
      ...(hasReviewers ? { reviewers: [{ users: userIds, teams: teamIds }] } : {}),
      preventSelfReview: plan.preventSelfReview,
      waitTimer: plan.waitTimer,
      // Custom policies (branch and tag patterns) need protectedBranches off; with none, any ref may deploy.
      ...(hasPolicies ? { deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true } } : {}),
    },
    opts,
  );
  const target = { repository: plan.repository, environment: environment.environment };
  for (const branchPattern of plan.branchPatterns) {
    new github.RepositoryEnvironmentDeploymentPolicy(
      `${name}-branch-${branchPattern}`,
      { ...target, branchPattern },
      opts,
    );
  }
  for (const tagPattern of plan.tagPatterns) {
    new github.RepositoryEnvironmentDeploymentPolicy(`${name}-tag-${tagPattern}`, { ...target, tagPattern }, opts);
  }
  return environment;
}

/** The environment's secrets and variables, each exactly as the plan gives it. */
function declareContents(
  name: string,
  args: GitHubEnvironmentArgs,
  environment: github.RepositoryEnvironment,
  opts: ChildOptions,
): void {
  const { plan } = args;
  const target = { repository: plan.repository, environment: environment.environment };
  for (const secret of plan.secrets) {
    new github.ActionsEnvironmentSecret(
      `${name}-secret-${secret.name}`,
      // `value` (not the deprecated plaintextValue); a secret Output, so state holds it encrypted.
      { ...target, secretName: secret.name, value: args.secrets[secret.configKey] },
      opts,
    );
  }
  for (const [variableName, planned] of Object.entries(plan.variables)) {
    const chosen = plan.fromCandidate.includes(variableName) ? args.candidateRef : planned;
    const value = args.afterTags ? pulumi.all([chosen, args.afterTags]).apply(([ref]) => ref) : chosen;
    new github.ActionsEnvironmentVariable(
      `${name}-variable-${variableName}`,
      { ...target, variableName, value },
      // A candidate run keeps what GitHub holds: users deploy the promoted release until promotion.
      plan.kept.includes(variableName) ? { ...opts, ignoreChanges: ["value"] } : opts,
    );
  }
}
