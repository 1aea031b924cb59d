import * as pulumi from "@pulumi/pulumi";
import { loadRelease } from "./src/inputs/pulumi-config";
import { releasePipeline } from "./src/pipeline";
import { GitHubEnvironment } from "./src/resources/github-environment";
import { ReleaseImage } from "./src/resources/release-image";

// An async program: the registry is read once, before any resource is registered, and every
// decision of the run (candidate, promotion, pin, floating tags, guards) is taken from that one view.
export = async () => {
  const { secretsFor, githubToken, login, ...assembled } = loadRelease();
  const { plan } = await releasePipeline(assembled, { readRegistry: true });
  for (const note of plan.notes) pulumi.log.info(note);
  for (const warning of plan.warnings) pulumi.log.warn(warning);

  // The environment comes first so that a reviewer GitHub does not know fails the run before the
  // release declares anything; it learns the candidate's ref once the image is declared.
  const [candidateRef, resolveCandidateRef] = pulumi.deferredOutput<string>();
  const [afterTags, resolveAfterTags] = pulumi.deferredOutput<string[]>();
  const environment = plan.github
    ? new GitHubEnvironment(plan.github.environment, {
        plan: plan.github,
        candidateRef,
        afterTags,
        secrets: secretsFor(plan.github.secrets.map((secret) => secret.configKey)),
        token: githubToken,
      })
    : undefined;
  await environment?.reviewersResolved;

  const image = new ReleaseImage(plan.variant, {
    repository: plan.repository,
    releaseTag: plan.releaseTag,
    candidate: plan.candidate,
    pushedTags: plan.pushedTags,
    builds: plan.builds,
    indexes: plan.indexes,
    floatingTags: plan.floatingTags,
    served: plan.served,
    insecure: plan.registryInsecure,
    registryTokenHosts: plan.registryTokenHosts,
    ...(login ? { login } : {}),
  });
  resolveCandidateRef(image.candidateRef);
  resolveAfterTags(image.floatingTagUrns);

  return {
    variant: plan.variant,
    phase: plan.phase,
    // What the stack stands on (drift and roll forward check the application out at it); a candidate
    // run leaves it on the promoted release, and names itself in candidateVersion.
    version: plan.stackVersion,
    // A rollback has no candidate: nothing is built, whatever version the checkout names.
    candidateVersion: plan.pin ? "" : plan.version.text,
    versionSource: plan.pin ? "pin" : plan.version.source,
    pinnedVersion: plan.pin?.version,
    // What users get now, and (in a rollback) the release removing the pin returns to.
    servedVersion: plan.served.kind === "candidate" ? plan.version.text : (plan.served.version ?? ""),
    rollForwardVersion: plan.rollForwardVersion,
    repository: plan.repository.name,
    imageRef: image.servedRef,
    digest: image.servedDigest,
    candidateRef: image.candidateRef,
    tags: image.tags,
    floatingTags: image.floatingTags,
    githubEnvironment: environment?.environment,
    githubVariables: environment?.variableNames,
    githubSecrets: environment?.secretNames,
  };
};
