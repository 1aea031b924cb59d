import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import type { ReviewerRef } from "../inputs/github-settings";
import type { GitHubEnvironmentPlan } from "../plan/github-environment";

export interface GitHubEnvironmentArgs {
  plan: GitHubEnvironmentPlan;
  /** The release's digest-pinned image ref, written to FINSIGHT_BACKEND_IMAGE. */
  imageRef: pulumi.Input<string>;
  /** Secret values by `finsight:` config key; every key the plan's secrets name must be here. */
  secrets: Record<string, pulumi.Output<string>>;
  /** `github:token`; unset means the provider's own GITHUB_TOKEN. */
  token?: pulumi.Output<string>;
}

/** The API takes numeric ids; the provider's lookups return them as strings. */
function reviewerIds(refs: ReviewerRef[], lookup: (name: string) => pulumi.Output<string>): pulumi.Output<number>[] {
  return refs.map((ref) => ("id" in ref ? pulumi.output(ref.id) : lookup(ref.name).apply(Number)));
}

/**
 * The stack's GitHub Actions environment: protection, deployment refs, secrets, and the variables
 * deploy jobs read. Projected from the plan; the only work of its own is resolving reviewer names.
 */
export class GitHubEnvironment extends pulumi.ComponentResource {
  public readonly environment: pulumi.Output<string>;
  /** Names of the variables the environment holds (values are in GitHub). */
  public readonly variableNames: pulumi.Output<string[]>;
  public readonly secretNames: pulumi.Output<string[]>;

  constructor(name: string, args: GitHubEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("finsight:github:Environment", name, {}, opts);
    const { plan } = args;
    // An explicit provider, so the owner comes from this stack's config and not from ambient github:owner.
    const provider = new github.Provider(
      `${name}-github`,
      { owner: plan.owner, ...(args.token ? { token: args.token } : {}) },
      { parent: this },
    );
    const childOpts = { parent: this, provider };
    const invokeOpts = { parent: this, provider };

    const users = reviewerIds(plan.users, (username) => github.getUserOutput({ username }, invokeOpts).id);
    const teams = reviewerIds(plan.teams, (slug) => github.getTeamOutput({ slug, summaryOnly: true }, invokeOpts).id);
    const hasReviewers = plan.users.length + plan.teams.length > 0;
    const hasPolicies = plan.branchPatterns.length + plan.tagPatterns.length > 0;

    const environment = new github.RepositoryEnvironment(
      name,
      {
        repository: plan.repository,
        environment: plan.environment,
        ...(hasReviewers ? { reviewers: [{ users, teams }] } : {}),
        preventSelfReview: plan.preventSelfReview,
        waitTimer: plan.waitTimer,
        // Custom policies (branch and tag patterns) need protectedBranches off; with none, any ref may deploy.
        ...(hasPolicies ? { deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true } } : {}),
      },
      childOpts,
    );
    const target = { repository: plan.repository, environment: environment.environment };

    for (const branchPattern of plan.branchPatterns) {
      new github.RepositoryEnvironmentDeploymentPolicy(
        `${name}-branch-${branchPattern}`,
        { ...target, branchPattern },
        childOpts,
      );
    }
    for (const tagPattern of plan.tagPatterns) {
      new github.RepositoryEnvironmentDeploymentPolicy(
        `${name}-tag-${tagPattern}`,
        { ...target, tagPattern },
        childOpts,
      );
    }
    for (const secret of plan.secrets) {
      new github.ActionsEnvironmentSecret(
        `${name}-secret-${secret.name}`,
        // `value` (not the deprecated plaintextValue); a secret Output, so state holds it encrypted.
        { ...target, secretName: secret.name, value: args.secrets[secret.configKey] },
        childOpts,
      );
    }
    const variables: Record<string, pulumi.Input<string>> = {
      ...plan.variables,
      FINSIGHT_BACKEND_IMAGE: args.imageRef,
    };
    for (const [variableName, value] of Object.entries(variables)) {
      new github.ActionsEnvironmentVariable(
        `${name}-variable-${variableName}`,
        { ...target, variableName, value },
        childOpts,
      );
    }

    this.environment = environment.environment;
    this.variableNames = pulumi.output(Object.keys(variables).sort());
    this.secretNames = pulumi.output(plan.secrets.map((secret) => secret.name));
    this.registerOutputs({
      environment: this.environment,
      variableNames: this.variableNames,
      secretNames: this.secretNames,
    });
  }
}
