import { loadReleaseConfig } from "./src/config";
import { planRelease } from "./src/plan/release-plan";
import { GitHubEnvironment } from "./src/resources/github-environment";
import { ReleaseImage } from "./src/resources/release-image";

const { inputs, secrets, githubToken } = loadReleaseConfig();
const plan = planRelease(inputs);
const image = new ReleaseImage(plan.variant, { plan, registryPassword: secrets.registryPassword });
const environment = plan.github
  ? new GitHubEnvironment(plan.github.environment, {
      plan: plan.github,
      imageRef: image.pinnedRef,
      secrets,
      token: githubToken,
    })
  : undefined;

export const variant = plan.variant;
export const version = plan.version.text;
export const versionSource = plan.version.source;
export const repository = plan.repository;
export const imageRef = image.pinnedRef;
export const digest = image.digest;
export const tags = image.tags;
export const githubEnvironment = environment?.environment;
export const githubVariables = environment?.variableNames;
export const githubSecrets = environment?.secretNames;
