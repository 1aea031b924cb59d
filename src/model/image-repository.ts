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
