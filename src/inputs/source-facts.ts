import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { invalidSetting } from "../errors";
import type { ReleaseEnvironment } from "./process-env";

/** What the build context and the environment say about the source being released. */
export interface SourceFacts {
  versionFile?: { path: string; content: string };
  /** Full commit id of the source. */
  revision?: string;
  /** Commit time, seconds since the epoch. */
  commitEpoch?: number;
}

function git(context: string, args: string[]): string | undefined {
  try {
    return execFileSync("git", ["-C", context, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return undefined;
  }
}

/**
 * The release's only reads of the file system, done once before planning. The context's own
 * git HEAD is preferred to GITHUB_SHA: when the application is checked out beside this stack,
 * GITHUB_SHA names the workflow's commit, not the source that is built.
 */
export function readSourceFacts(context: string, env: ReleaseEnvironment): SourceFacts {
  const facts: SourceFacts = {};
  const versionPath = path.join(context, "VERSION");
  if (existsSync(versionPath)) facts.versionFile = { path: versionPath, content: readFileSync(versionPath, "utf8") };

  const isCheckout = existsSync(context) && git(context, ["rev-parse", "--show-toplevel"]) !== undefined;
  facts.revision = (isCheckout ? git(context, ["rev-parse", "HEAD"]) : undefined) ?? env.GITHUB_SHA;

  if (env.SOURCE_DATE_EPOCH !== undefined) {
    if (!/^\d+$/.test(env.SOURCE_DATE_EPOCH)) {
      throw invalidSetting("SOURCE_DATE_EPOCH", "whole seconds since 1970-01-01 UTC", env.SOURCE_DATE_EPOCH);
    }
    facts.commitEpoch = Number(env.SOURCE_DATE_EPOCH);
  } else if (isCheckout && facts.revision) {
    const seconds = git(context, ["log", "-1", "--format=%ct", facts.revision]);
    if (seconds && /^\d+$/.test(seconds)) facts.commitEpoch = Number(seconds);
  }
  return facts;
}
