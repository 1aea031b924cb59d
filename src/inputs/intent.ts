import { invalidSetting } from "../model/errors";
import { PHASE_VARIABLE, PROMOTE_DIGEST_VARIABLE, type RunIntent } from "../model/intent";
import type { ReleaseEnvironment } from "../model/source-facts";
import type { TagTemplate } from "../model/tag-template";

/**
 * The run's intent, and every rule that combines settings and per-run values which are each valid on
 * their own but contradict each other: refused together, here and nowhere else, rather than one
 * silently winning.
 */

const PHASES = ["release", "candidate"] as const;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface IntentFacts {
  /** finsight:pin, canonical, when set and valid. */
  pin?: string;
  push?: boolean;
  /** Whether finsight:github is enabled. */
  github: boolean;
  /** finsight:tags, parsed, when they parsed. */
  tags?: readonly TagTemplate[];
}

/** The intent, or the problems that keep it from being decided (one line each). */
export function decideIntent(
  facts: IntentFacts,
  env: Pick<ReleaseEnvironment, "FINSIGHT_PHASE" | "FINSIGHT_PROMOTE_DIGEST">,
): { intent?: RunIntent; problems: string[] } {
  const phase = env.FINSIGHT_PHASE ?? "release";
  const digest = env.FINSIGHT_PROMOTE_DIGEST;
  const problems = [...valueProblems(phase, digest), ...combinationProblems(facts, phase === "candidate", digest)];
  if (problems.length > 0) return { problems };
  const intent: RunIntent =
    facts.pin !== undefined
      ? { kind: "rollback", pin: facts.pin }
      : digest !== undefined
        ? { kind: "promotion", digest }
        : phase === "candidate"
          ? { kind: "candidate" }
          : { kind: "release" };
  return { intent, problems };
}

/** Each per-run value on its own. */
function valueProblems(phase: string, digest: string | undefined): string[] {
  const problems: string[] = [];
  if (!(PHASES as readonly string[]).includes(phase)) {
    problems.push(
      `${PHASE_VARIABLE} must be "release" (the default: build and promote in one run) or "candidate" (push the exact tags only), got ${JSON.stringify(phase)}${phase === "promote" ? `: a promotion is asked with ${PROMOTE_DIGEST_VARIABLE}=<the verified candidate's digest>` : ""}`,
    );
  }
  if (digest !== undefined && !DIGEST.test(digest)) {
    problems.push(
      invalidSetting(PROMOTE_DIGEST_VARIABLE, "the candidate's digest, sha256: and 64 hex digits", digest).message,
    );
  }
  return problems;
}

/** Settings and per-run values that contradict each other. */
function combinationProblems(facts: IntentFacts, candidate: boolean, digest: string | undefined): string[] {
  const problems: string[] = [];
  if (facts.pin !== undefined && candidate) {
    problems.push(
      `${PHASE_VARIABLE} must be unset while finsight:pin is set, got "candidate": a rollback moves the floating tags to the pinned release; remove the pin to push a candidate`,
    );
  }
  if (facts.pin !== undefined && digest !== undefined) {
    problems.push(
      `${PROMOTE_DIGEST_VARIABLE} must be unset while finsight:pin is set, got ${digest}: a rollback promotes the pinned release, not a candidate`,
    );
  }
  if (digest !== undefined && candidate) {
    problems.push(
      `${PROMOTE_DIGEST_VARIABLE} must be unset when ${PHASE_VARIABLE} is "candidate", got ${digest}: a candidate run promotes nothing`,
    );
  }
  if (digest !== undefined && facts.push === false) {
    problems.push(
      `${PROMOTE_DIGEST_VARIABLE} must be unset when finsight:push is false, got ${digest}: a promotion moves tags in the registry`,
    );
  }
  if (facts.pin !== undefined && facts.tags && !facts.tags.some((template) => template.versionAlone)) {
    problems.push(
      `finsight:pin needs a tag template that names the version alone (such as v{{version}}) in finsight:tags, got ${JSON.stringify(facts.tags.map((template) => template.text))}`,
    );
  }
  if (facts.github && facts.push === false) {
    problems.push(
      invalidSetting(
        "finsight:push",
        "true while finsight:github is enabled (FINSIGHT_BACKEND_IMAGE needs a pushed digest)",
        false,
      ).message,
    );
  }
  return problems;
}
