import type { AssembledInputs } from "./inputs/release-inputs";
import type { RegistryView } from "./model/registry";
import { planRelease, type ReleasePlan } from "./plan/release-plan";
import { listingQuestions, planListing, type ReleasedListing } from "./plan/released-listing";
import { releaseTargets } from "./plan/targets";
import { readRegistryView, registryViewFor } from "./registry/view";

/**
 * The release pipeline, in order, shared by index.ts (`pulumi up` / `preview`) and `npm run plan`:
 *
 *   1. inputs   settings, run intent, environment, source facts and registry access, read once at the
 *               edge (src/inputs; the caller assembles them, from Pulumi config or from stack files)
 *   2. targets  version, tags, pin and the questions for the registry, checked before any request
 *   3. view     the registry, read once with those questions (or not read, and said why)
 *   4. plan     every decision of the run, pure, from the three above
 */
export async function releasePipeline(
  assembled: AssembledInputs,
  options: { readRegistry: true } | { readRegistry: false; notRead: string },
): Promise<{ plan: ReleasePlan; view: RegistryView }> {
  const targets = releaseTargets(assembled.inputs);
  const view: RegistryView = options.readRegistry
    ? await registryViewFor(assembled.registryAccess, targets)
    : { status: "not read", reason: options.notRead };
  return { plan: planRelease(assembled.inputs, targets, view), view };
}

/** What the stack has released and what its floating tags serve: no version, checkout or pin needed. */
export async function releasedListing(assembled: AssembledInputs): Promise<ReleasedListing> {
  const view = await readRegistryView(assembled.registryAccess, listingQuestions(assembled.inputs));
  return planListing(assembled.inputs, view);
}
