import * as pulumi from "@pulumi/pulumi";
import { loadReleaseConfig } from "./src/inputs/pulumi-config";
import { planRelease, releaseTargets } from "./src/plan/release-plan";
import { registryViewFor } from "./src/registry/view";
import { GitHubEnvironment } from "./src/resources/github-environment";
import { ReleaseImage } from "./src/resources/release-image";

// An async program: the registry is read once, before any resource is registered, and every
// decision of the run (pin, floating tags, downgrade, overwrite) is taken from that one view.
export = async () => {
  const { inputs, secrets, githubToken, registryAccess, registryCredentials } = loadReleaseConfig();
  const targets = releaseTargets(inputs);
  const plan = planRelease(targets, await registryViewFor(registryAccess, targets));
  for (const warning of plan.warnings) pulumi.log.warn(warning);

  const image = new ReleaseImage(plan.variant, {
    plan,
    registryPassword: secrets.registryPassword,
    tagCredentials: registryCredentials,
  });
  const environment = plan.github
    ? new GitHubEnvironment(plan.github.environment, {
        plan: plan.github,
        imageRef: image.pinnedRef,
        secrets,
        token: githubToken,
      })
    : undefined;

  return {
    variant: plan.variant,
    version: plan.version.text,
    versionSource: plan.version.source,
    pinnedVersion: plan.pin?.version,
    repository: plan.repository,
    imageRef: image.pinnedRef,
    digest: image.digest,
    tags: image.tags,
    floatingTags: image.floatingTags,
    githubEnvironment: environment?.environment,
    githubVariables: environment?.variableNames,
    githubSecrets: environment?.secretNames,
  };
};
