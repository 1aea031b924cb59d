/**
 * The environment variables the release reads. `readReleaseEnvironment(process.env)` is the one
 * place that looks at the process environment; everything else receives this object.
 */
export interface ReleaseEnvironment {
  RELEASE_VERSION?: string;
  GITHUB_REF_TYPE?: string;
  GITHUB_REF_NAME?: string;
  GITHUB_SHA?: string;
  GITHUB_RUN_ID?: string;
  /** The reproducible-builds convention for "the time this source was last changed". */
  SOURCE_DATE_EPOCH?: string;
  /** Per-run intents (src/model/intent.ts): `candidate` pushes the exact tags only. */
  FINSIGHT_PHASE?: string;
  /** Per-run intents: the verified candidate's digest, the only one a promotion may move tags to. */
  FINSIGHT_PROMOTE_DIGEST?: string;
}

/** What the build context and the environment say about the source being released. */
export interface SourceFacts {
  /** Whether the context directory exists at all. */
  contextExists: boolean;
  versionFile?: { path: string; content: string };
  /** Full commit id of the source. */
  revision?: string;
  /**
   * Git's tree id of the context directory at HEAD: its content as committed, the same on every
   * fresh checkout of the commit, and its own even when the context is a folder of a larger repository.
   */
  tree?: string;
  /**
   * Files that would make the build differ from `tree`: uncommitted changes to tracked files, and
   * untracked (or git-ignored) files that the context's .dockerignore does not exclude. Empty when
   * the context is not a checkout.
   */
  uncommitted: string[];
  /** Why git could not say what is uncommitted; a pushing release refuses rather than assume a clean tree. */
  uncommittedUnknown?: string;
  /** Commit time, seconds since the epoch. */
  commitEpoch?: number;
}
