import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import dockerignore from "@balena/dockerignore";
import { invalidSetting } from "../model/errors";
import type { ReleaseEnvironment, SourceFacts } from "../model/source-facts";

function runGit(context: string, args: string[]): string {
  return execFileSync("git", ["-C", context, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
}

function git(context: string, args: string[]): string | undefined {
  try {
    return runGit(context, args);
  } catch {
    return undefined;
  }
}

const paths = (output: string | undefined) => (output ?? "").split("\0").filter((entry) => entry !== "");

/**
 * The ignore file BuildKit applies: `<Dockerfile>.dockerignore` beside the Dockerfile when it exists
 * (the per-Dockerfile form pulumi-docker-build #74 recommends), else `.dockerignore` at the root.
 * Matched with @balena/dockerignore, which implements Docker's own pattern rules.
 */
function buildIgnores(context: string, dockerfile: string): (file: string) => boolean {
  const candidates = [path.join(context, `${dockerfile}.dockerignore`), path.join(context, ".dockerignore")];
  const file = candidates.find((candidate) => existsSync(candidate));
  const rules = dockerignore();
  if (file) rules.add(readFileSync(file, "utf8").split(/\r?\n/));
  return (entry: string) => rules.ignores(entry);
}

/**
 * The release's only reads of the file system and git, done once before planning. The context's
 * own git HEAD is preferred to GITHUB_SHA: when the application is checked out beside this stack,
 * GITHUB_SHA names the workflow's commit, not the source that is built.
 */
export function readSourceFacts(
  context: string,
  env: ReleaseEnvironment,
  dockerfile = "Dockerfile.backend",
): SourceFacts {
  const contextExists = existsSync(context);
  const facts: SourceFacts = { contextExists, uncommitted: [] };
  const versionPath = path.join(context, "VERSION");
  if (existsSync(versionPath)) facts.versionFile = { path: versionPath, content: readFileSync(versionPath, "utf8") };

  const isCheckout = contextExists && git(context, ["rev-parse", "--show-toplevel"]) !== undefined;
  const head = isCheckout ? git(context, ["rev-parse", "--verify", "-q", "HEAD"])?.trim() : undefined;
  facts.revision = head || env.GITHUB_SHA;
  if (head) {
    facts.tree = git(context, ["rev-parse", "HEAD:./"])?.trim() || undefined;
    const ignored = buildIgnores(context, dockerfile);
    try {
      // --no-renames: a deleted file and an added one are both changes the build would see.
      const changed = paths(
        runGit(context, ["diff", "--name-only", "--no-renames", "--relative", "-z", "HEAD", "--", "."]),
      );
      const untracked = paths(runGit(context, ["ls-files", "--others", "-z", "--", "."])).filter(
        (file) => !ignored(file),
      );
      facts.uncommitted = [...new Set([...changed, ...untracked])].sort();
    } catch (error) {
      const detail = (error as { stderr?: string }).stderr?.trim().split("\n")[0] || (error as Error).message;
      facts.uncommittedUnknown = `git could not list the uncommitted files (${detail})`;
    }
  }

  if (env.SOURCE_DATE_EPOCH !== undefined) {
    if (!/^\d+$/.test(env.SOURCE_DATE_EPOCH)) {
      throw invalidSetting("SOURCE_DATE_EPOCH", "whole seconds since 1970-01-01 UTC", env.SOURCE_DATE_EPOCH);
    }
    facts.commitEpoch = Number(env.SOURCE_DATE_EPOCH);
  } else if (head) {
    const seconds = git(context, ["log", "-1", "--format=%ct", head])?.trim();
    if (seconds && /^\d+$/.test(seconds)) facts.commitEpoch = Number(seconds);
  }
  return facts;
}
