import { KNOWN_PLATFORMS } from "./platforms";
import { slug } from "./slug";

export interface RegistryLocation {
  /** The registry host, lowercase, with port if any: what `docker login` and credentials are keyed by. */
  host: string;
  /** Namespace below the host, e.g. `acme` in `ghcr.io/acme`; may be empty. */
  namespace: string;
}

/** One image repository, in the two forms the release needs; sliced once, here. */
export interface ImageRepository {
  host: string;
  /** Below the host, as the registry API names it: `acme/finsight-backend`. */
  path: string;
  /** As image references name it: `ghcr.io/acme/finsight-backend`. */
  name: string;
}

/** `ghcr.io/acme/finsight-backend:v1.4.0`: a bare tag in the repository; the one way a tag is qualified. */
export const qualify = (repository: ImageRepository, tag: string) => `${repository.name}:${tag}`;

/** `v1.4.0-linux-arm64`: the per-platform build of a multi-platform release, joined by the release's index. */
export const platformTag = (releaseTag: string, platform: string) => `${releaseTag}-${slug(platform)}`;

/** The endings of per-platform tags: a release's part, never a release (nor a template's tag) of its own. */
export const PLATFORM_SUFFIXES: readonly string[] = KNOWN_PLATFORMS.map((platform) => `-${slug(platform)}`);
