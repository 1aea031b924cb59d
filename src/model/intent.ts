/**
 * What a run was asked to do, in a release manager's words, decided before anything else from the
 * stack's settings and the run's own environment (src/inputs/intent.ts holds every rule that combines them):
 *
 * - `release`: build the candidate, push its exact tags and promote it, in one run (a laptop);
 * - `candidate`: push the exact tags only; floating tags and FINSIGHT_BACKEND_IMAGE stay (FINSIGHT_PHASE=candidate);
 * - `promotion`: move the floating tags to the candidate the checks verified, and to nothing else
 *   (FINSIGHT_PROMOTE_DIGEST);
 * - `rollback`: serve a released version again; nothing is built (finsight:pin, canonical version text).
 *
 * The phase and the promotion digest belong to one run: they come from the environment (or a flag of
 * `npm run plan`), never from the stack's config, so they can never leak into the next run.
 */
export type RunIntent =
  | { kind: "release" }
  | { kind: "candidate" }
  | { kind: "promotion"; digest: string }
  | { kind: "rollback"; pin: string };

/** The per-run environment variables that ask for an intent, and the `npm run plan` flags that set them. */
export const PHASE_VARIABLE = "FINSIGHT_PHASE";
export const PROMOTE_DIGEST_VARIABLE = "FINSIGHT_PROMOTE_DIGEST";
