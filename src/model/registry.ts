/** How to reach the registry, and what one run asked and learnt of it: the vocabulary of src/registry. */

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Registry credentials for resources (docker-build's registries input): the password stays a Pulumi secret there. */
export interface RegistryLogin<Password> {
  address: string;
  username: string;
  password: Password;
}

export interface RegistryAccess {
  /** Registry host with port, as in an image reference: `ghcr.io`, `127.0.0.1:5000`. */
  host: string;
  /** Repository path below the host: `acme/finsight-backend`. */
  repository: string;
  credentials?: RegistryCredentials;
  /** Speak plain HTTP to a registry that is not on a loopback address (set on purpose only). */
  insecure?: boolean;
  /** Per-request timeout in milliseconds (connection, headers and body together). */
  timeoutMs?: number;
  /** One limit on everything a client does, in milliseconds (finsight:registryDeadline for a run's read). */
  deadlineMs?: number;
  /**
   * Hosts (hostname, or hostname:port) of a token service other than the registry's own host that
   * may receive the credentials, for registries whose bearer realm lives on a sibling host.
   */
  registryTokenHosts?: string[];
}

export interface RegistryQuestions {
  /** The release's own tag (`v1.4.0`): when it exists, its image's labels are read. */
  releaseTag: string;
  /**
   * Tags asked for by manifest whatever the tag list says (the release's exact and per-platform tags):
   * whether an exact tag exists decides whether it may be pushed, so a stale or lying list must not
   * decide it. Only a 404 means absent.
   */
  exactTags?: string[];
  /** Tags whose current digest the plan needs when the list names them (floating tags, the pin's tag). */
  digestsOf: string[];
  /** Tags to read once the list is known (a candidate run's recent releases, to name what is promoted). */
  digestsAfterListing?: (tags: readonly string[]) => string[];
  /** Tags whose images are described when they exist (platforms, and the release they are): see `imageFactsOf`. */
  imagesOf?: string[];
  /** A version's own tag (`1.4.0` → `v1.4.0`), to confirm the release an image's version label names. */
  releaseTagFor?: (version: string) => string;
}

/** An image as the promises need it: the platforms it holds, and the release it is, when its own tag confirms it. */
export interface ImageFacts {
  /** `os/architecture` of every platform image (attestations excluded); one entry for a single-platform image. */
  platforms: string[];
  /** The release whose own tag resolves to this digest (read from the version label, confirmed by that tag). */
  release?: { version: string; tag: string };
}

export type RegistryView =
  | {
      status: "read";
      /** Every tag in the repository. */
      tags: string[];
      /** Current digest of each asked-about tag that exists. */
      digests: Record<string, string>;
      /** Labels of the image under the release tag, when that tag exists. */
      releaseLabels?: Record<string, string>;
      /** What each digest the plan may serve, pin or float holds (`imagesOf`), keyed by digest. */
      images?: Record<string, ImageFacts>;
      /** HTTP requests the view took. */
      requests: number;
    }
  | { status: "unavailable"; reason: string }
  /** Nothing depends on the registry (an image that is built but not pushed, and no pin). */
  | { status: "not read"; reason: string };
