import { invalidSetting } from "../errors";

/**
 * Image names follow the grammar of distribution/reference (the parser Docker itself uses).
 * No maintained npm package exposes that grammar on its own, so the three rules are written
 * out here from the upstream regexp.go.
 */
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** Docker's limit on a repository name, registry included. */
export const MAX_REPOSITORY_LENGTH = 255;

export interface RegistryLocation {
  /** The registry host, with port if any: what `docker login` and credentials are keyed by. */
  host: string;
  /** Namespace below the host, e.g. `acme` in `ghcr.io/acme`; may be empty. */
  namespace: string;
}

const REGISTRY_ACCEPTED =
  "a registry host with an optional namespace, such as ghcr.io/acme, docker.io/acme or localhost:5000 (no scheme, lowercase path)";

/**
 * A registry without a host (`acme`) would make Docker push to Docker Hub under another name
 * (pulumi-docker-build #241), so a host is required: it has a dot or a port, or is `localhost`.
 */
export function parseRegistry(setting: string, value: string | undefined): RegistryLocation {
  const text = value?.trim() ?? "";
  if (text === "" || text.includes("://")) throw invalidSetting(setting, REGISTRY_ACCEPTED, value ?? "");
  const [host, ...path] = text.replace(/\/+$/, "").split("/");
  const looksLikeHost = host.includes(".") || host.includes(":") || host === "localhost";
  if (!looksLikeHost || !DOMAIN.test(host) || !path.every((part) => PATH_COMPONENT.test(part))) {
    throw invalidSetting(setting, REGISTRY_ACCEPTED, value);
  }
  return { host, namespace: path.join("/") };
}

/** An image name below the registry, e.g. `finsight-backend` or `team/finsight-backend`. */
export function parseRepositoryPath(setting: string, value: string): string {
  const parts = value.split("/");
  if (!parts.every((part) => PATH_COMPONENT.test(part))) {
    throw invalidSetting(
      setting,
      "lowercase letters, digits and separators (. _ __ -) in each path component, such as finsight-backend",
      value,
    );
  }
  return value;
}

export function repositoryOf(registry: RegistryLocation, imageName: string): string {
  return [registry.host, registry.namespace, imageName].filter((part) => part !== "").join("/");
}
