import * as path from "node:path";
import { invalidSetting } from "../model/errors";
import { PHASE_VARIABLE, PROMOTE_DIGEST_VARIABLE, type RunIntent } from "../model/intent";
import type { ReleaseEnvironment } from "../model/source-facts";

/**
 * The run's intent, and every rule that combines settings which are each valid on their own but
 * contradict each other: refused together, here and nowhere else, rather than one silently winning.
 */

const PHASES = ["release", "candidate"] as const;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface IntentFacts {
  /** finsight:pin, canonical, when set and valid. */
  pin?: string;
  push?: boolean;
  /** Whether finsight:github is enabled. */
  github: boolean;
  /** finsight:dockerfile as written, when set. */
  dockerfile?: string;
}

/** The intent, or the problems that keep it from being decided (one line each). */
export function decideIntent(
  facts: IntentFacts,
  env: Pick<ReleaseEnvironment, "FINSIGHT_PHASE" | "FINSIGHT_PROMOTE_DIGEST">,
): { intent?: RunIntent; problems: string[] } {
  const problems: string[] = [];
  const phase = env.FINSIGHT_PHASE ?? "release";
  if (!(PHASES as readonly string[]).includes(phase)) {
    problems.push(
      `${PHASE_VARIABLE} must be "release" (the default: build and promote in one run) or "candidate" (push the exact tags only), got ${JSON.stringify(phase)}${phase === "promote" ? `: a promotion is asked with ${PROMOTE_DIGEST_VARIABLE}=<the verified candidate's digest>` : ""}`,
    );
  }
  const digest = env.FINSIGHT_PROMOTE_DIGEST;
  if (digest !== undefined && !DIGEST.test(digest)) {
    problems.push(
      invalidSetting(PROMOTE_DIGEST_VARIABLE, "the candidate's digest, sha256: and 64 hex digits", digest).message,
    );
  }
  const candidate = phase === "candidate";
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
  if (facts.github && facts.push === false) {
    problems.push(
      invalidSetting(
        "finsight:push",
        "true while finsight:github is enabled (FINSIGHT_BACKEND_IMAGE needs a pushed digest)",
        false,
      ).message,
    );
  }
  const dockerfile = facts.dockerfile;
  if (dockerfile !== undefined) {
    const normal = path.posix.normalize(dockerfile.replace(/\\/g, "/"));
    if (path.posix.isAbsolute(normal) || normal === ".." || normal.startsWith("../")) {
      problems.push(
        invalidSetting(
          "finsight:dockerfile",
          "a path inside the build context (its content is part of what the release's label and clean-tree check cover)",
          dockerfile,
        ).message,
      );
    }
  }
  if (problems.length > 0) return { problems };
  const intent: RunIntent =
    facts.pin !== undefined
      ? { kind: "rollback", pin: facts.pin }
      : digest !== undefined
        ? { kind: "promotion", digest }
        : candidate
          ? { kind: "candidate" }
          : { kind: "release" };
  return { intent, problems };
}
