import { invalidSetting, ReleaseConfigError } from "../model/errors";
import type { ImageRepository, RegistryLocation } from "../model/image-repository";

/**
 * Image names follow the grammar of distribution/reference (the parser Docker itself uses).
 * No maintained npm package exposes that grammar on its own, so the rules are written out here
 * from the upstream regexp.go.
 */
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::([0-9]+))?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** Docker's limit on a repository name, registry included. */
const MAX_REPOSITORY_LENGTH = 255;

const REGISTRY_ACCEPTED =
  "a registry host with an optional namespace, such as ghcr.io/acme, docker.io/acme or localhost:5000 (no scheme, lowercase path, port 1-65535)";

/**
 * A registry without a host (`acme`) would make Docker push to Docker Hub under another name
 * (pulumi-docker-build #241), so a host is required: it has a dot or a port, or is `localhost`.
 * Host names are case-insensitive, so the host is kept lowercase: `GHCR.IO` is GHCR.
 */
/**
 * Whether a URL-like value carries a user or password before the host (`bot:secret@ghcr.io`,
 * `https://user:pw@…`): a credential that would sit in the stack file in plaintext.
 */
export function holdsCredentials(value: string): boolean {
  // Any `@` but a digest's, not only one before the first `/`: a password may hold `/`, `?` or `#`
  // (ECR's tokens are base64), which would end the authority early and let `bot:pa/ss@host` through
  // to be echoed in another error or accepted. No registry, namespace or source URL has an `@` otherwise.
  return /@(?!sha256:)/.test(value);
}

/** Refuses a value with credentials inside, without repeating any of it (a pull-request comment may show the message). */
export function credentialsInside(setting: string): ReleaseConfigError {
  return new ReleaseConfigError(
    `${setting} must not hold credentials (user or password before @): set finsight:registryUsername and the secret finsight:registryPassword, or use docker login; got a value with credentials (not shown)`,
  );
}

export function parseRegistry(setting: string, value: string | undefined): RegistryLocation {
  const text = value?.trim() ?? "";
  if (holdsCredentials(text)) throw credentialsInside(setting);
  if (text === "" || text.includes("://")) throw invalidSetting(setting, REGISTRY_ACCEPTED, value ?? "");
  const [rawHost, ...path] = text.replace(/\/+$/, "").split("/");
  const host = rawHost.toLowerCase();
  const looksLikeHost = host.includes(".") || host.includes(":") || host === "localhost";
  const domain = DOMAIN.exec(host);
  const port = domain?.[1] === undefined ? undefined : Number(domain[1]);
  const portOk = port === undefined || (Number.isInteger(port) && port >= 1 && port <= 65535);
  if (!looksLikeHost || !domain || !portOk || !path.every((part) => PATH_COMPONENT.test(part))) {
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

/**
 * The repository an image goes to, within Docker's length limit. The setting blamed is the one
 * that made it too long: the registry's namespace alone, or else the image name.
 */
export function imageRepository(registry: RegistryLocation, imageName: string): ImageRepository {
  const path = [registry.namespace, imageName].filter((part) => part !== "").join("/");
  const name = `${registry.host}/${path}`;
  if (name.length > MAX_REPOSITORY_LENGTH) {
    const registryAlone = [registry.host, registry.namespace].filter((part) => part !== "").join("/");
    const [setting, got] =
      registryAlone.length + 2 > MAX_REPOSITORY_LENGTH
        ? ["finsight:registry", registryAlone]
        : ["finsight:imageName", imageName];
    throw invalidSetting(
      setting,
      `a value that keeps the repository (${registryAlone.length > 40 ? `${registryAlone.slice(0, 40)}…` : registryAlone}/${imageName.length > 40 ? `${imageName.slice(0, 40)}…` : imageName}) within ${MAX_REPOSITORY_LENGTH} characters (it has ${name.length})`,
      got,
    );
  }
  return { host: registry.host, path, name };
}
