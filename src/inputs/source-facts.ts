import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, statSync } from "node:fs";
import * as path from "node:path";
import dockerignore from "@balena/dockerignore";
import { invalidSetting } from "../model/errors";
import type { ReleaseSettings } from "../model/settings";
import type { ReleaseEnvironment, SourceFacts } from "../model/source-facts";
import { readContextFile } from "./context-file";

/** A version is a line; anything near this size is not one. */
const VERSION_FILE_MAX_BYTES = 1024;
/** Ignore files list patterns; a megabyte of them is already absurd. */
const IGNORE_FILE_MAX_BYTES = 1024 * 1024;

function runGit(context: string, args: string[], input?: string): string {
  return execFileSync("git", ["-C", context, ...args], {
    encoding: "utf8",
    ...(input !== undefined ? { input } : {}),
    stdio: [input !== undefined ? "pipe" : "ignore", "pipe", "pipe"],
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
  const rules = dockerignore();
  for (const candidate of [`${dockerfile}.dockerignore`, ".dockerignore"]) {
    const text = readContextFile(context, candidate, "ignore file", IGNORE_FILE_MAX_BYTES);
    if (text === undefined) continue;
    rules.add(text.split(/\r?\n/));
    break;
  }
  return (entry: string) => rules.ignores(entry);
}

/**
 * Whether the VERSION file is consulted at all: only when no earlier source names the version
 * (finsight:version or --version, RELEASE_VERSION, a pushed tag) and the run is no rollback (whose
 * version is the pin's), in resolveVersion's order. A file that is not read can neither block the
 * run nor leak into a message.
 */
export function versionFileConsulted(
  settings: Pick<ReleaseSettings, "version" | "intent">,
  env: Pick<ReleaseEnvironment, "RELEASE_VERSION" | "GITHUB_REF_TYPE" | "GITHUB_REF_NAME">,
): boolean {
  return !(
    settings.intent.kind === "rollback" ||
    settings.version?.text.trim() ||
    env.RELEASE_VERSION?.trim() ||
    (env.GITHUB_REF_TYPE === "tag" && env.GITHUB_REF_NAME?.trim())
  );
}

function lstatOrUndefined(file: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Tracked files whose index entry tells git not to look at the disk (`git update-index --skip-worktree`
 * or `--assume-unchanged`, shown by `git ls-files -v` as `S` or a lowercase tag), and whose bytes on
 * disk are not the committed blob, or are gone: `git diff` and `git status` stay silent about them,
 * but the build sends the disk. Each is compared with the commit itself, the flags aside.
 */
function hiddenChanges(context: string): { path: string; flag: string }[] {
  const flagged = paths(runGit(context, ["ls-files", "-v", "-z", "--", "."]))
    .map((entry) => ({ tag: entry.slice(0, 1), path: entry.slice(2) }))
    .filter(({ tag }) => tag === "S" || (tag !== tag.toUpperCase() && tag !== "?"))
    .map(({ tag, path: file }) => ({
      path: file,
      flag: tag === "S" || tag === "s" ? "skip-worktree" : "assume-unchanged",
    }));
  if (flagged.length === 0) return [];
  // ls-tree is the commit's blob and mode (one listing of the context: a sparse checkout may flag
  // thousands of files); hash-object (filters applied, as `git add` would) is the disk.
  const committed = new Map(
    paths(runGit(context, ["ls-tree", "-r", "-z", "HEAD", "--", "."])).map((line) => {
      const [meta, file] = line.split("\t");
      const [mode, , blob] = meta.split(" ");
      return [file, { mode, blob }];
    }),
  );
  // Only regular files and links are hashed: git hash-object opens a FIFO and waits for a writer
  // forever. Anything else in a tracked file's place is not what was committed (kept in the list).
  const present = flagged.filter((file) => {
    const stat = lstatOrUndefined(path.join(context, file.path));
    return stat !== undefined && (stat.isFile() || stat.isSymbolicLink());
  });
  const hashes = present.length
    ? runGit(context, ["hash-object", "--stdin-paths"], present.map((file) => path.join(context, file.path)).join("\n"))
        .trim()
        .split("\n")
    : [];
  const onDisk = new Map(present.map((file, index) => [file.path, hashes[index]]));
  return flagged.filter((file) => {
    const blob = committed.get(file.path);
    const hash = onDisk.get(file.path);
    if (!blob || hash === undefined) return true; // gone from disk, or not in the commit
    const executable = (statSync(path.join(context, file.path)).mode & 0o111) !== 0;
    return hash !== blob.blob || executable !== (blob.mode === "100755");
  });
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
  options: { readVersionFile?: boolean } = {},
): SourceFacts {
  const contextExists = existsSync(context);
  const facts: SourceFacts = { contextExists, uncommitted: [] };
  if (options.readVersionFile ?? true) {
    const content = readContextFile(context, "VERSION", "VERSION file", VERSION_FILE_MAX_BYTES);
    if (content !== undefined) facts.versionFile = { path: path.join(context, "VERSION"), content };
  }

  const isCheckout = contextExists && git(context, ["rev-parse", "--show-toplevel"]) !== undefined;
  const head = isCheckout ? git(context, ["rev-parse", "--verify", "-q", "HEAD"])?.trim() : undefined;
  facts.revision = head || env.GITHUB_SHA;
  if (head) {
    facts.tree = git(context, ["rev-parse", "HEAD:./"])?.trim() || undefined;
    Object.assign(facts, uncommittedFiles(context, dockerfile));
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

/**
 * The files the build would send that differ from HEAD (changed, untracked and not ignored by the
 * build, or hidden from git by a flag), or why git could not list them.
 */
function uncommittedFiles(
  context: string,
  dockerfile: string,
): Pick<SourceFacts, "uncommitted"> | Pick<SourceFacts, "uncommittedUnknown"> {
  const ignored = buildIgnores(context, dockerfile);
  try {
    // --no-renames: a deleted file and an added one are both changes the build would see.
    // core.fileMode=true: the build sends file modes, whatever this checkout tells git to ignore.
    const changed = paths(
      runGit(context, [
        "-c",
        "core.fileMode=true",
        "diff",
        "--no-ext-diff",
        "--name-only",
        "--no-renames",
        "--relative",
        "-z",
        "HEAD",
        "--",
        ".",
      ]),
    );
    const untracked = paths(runGit(context, ["ls-files", "--others", "-z", "--", "."])).filter(
      (file) => !ignored(file),
    );
    const hidden = hiddenChanges(context).filter((file) => !ignored(file.path));
    return {
      uncommitted: [
        ...new Set([...changed, ...untracked].filter((file) => !hidden.some((flagged) => flagged.path === file))),
        ...hidden.map((file) => `${file.path} (${file.flag})`),
      ].sort(),
    };
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim().split("\n")[0] || (error as Error).message;
    return { uncommittedUnknown: `git could not list the uncommitted files (${detail})` };
  }
}
