import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RegistryAccess, RegistryCredentials } from "../model/registry";
import { RegistryClient } from "./client";

/**
 * The credentials `docker login` stored for a registry host: what the docker-build push uses when
 * the stack sets no finsight:registryUsername, so the registry reads and the floating tags use the
 * same login (docker/login-action in CI writes exactly this file). Supports the `auths` entries and
 * credential helpers (`credHelpers`, `credsStore`), as Docker's own keychain does.
 */
export function dockerCredentials(host: string, env: NodeJS.ProcessEnv): RegistryCredentials | undefined {
  const dir = env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), ".docker");
  let config: {
    auths?: Record<string, { auth?: string; username?: string; password?: string }>;
    credHelpers?: Record<string, string>;
    credsStore?: string;
  };
  try {
    config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
  } catch {
    return undefined; // no docker login: anonymous access
  }
  // A file of another shape (`null`, a list) holds no login either, as an unreadable one.
  if (config === null || typeof config !== "object" || Array.isArray(config)) return undefined;
  const helper = config.credHelpers?.[host] ?? config.credsStore;
  if (helper) {
    try {
      const answer = execFileSync(`docker-credential-${helper}`, ["get"], {
        input: host,
        encoding: "utf8",
        env,
        stdio: ["pipe", "pipe", "ignore"],
        timeout: 10_000,
      });
      const { Username, Secret } = JSON.parse(answer) as { Username?: string; Secret?: string };
      if (Username && Secret) return { username: Username, password: Secret };
    } catch {
      // The helper has nothing for this host (or is missing): fall through to `auths`.
    }
  }
  // `docker login` files Docker Hub under its old index address.
  const keys = host === "docker.io" ? ["https://index.docker.io/v1/", host] : [host, `https://${host}`];
  const entry = keys.map((key) => config.auths?.[key]).find((found) => found !== undefined);
  if (typeof entry?.auth === "string" && entry.auth !== "") {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry?.username === "string" && entry.username && typeof entry.password === "string" && entry.password)
    return { username: entry.username, password: entry.password };
  return undefined;
}

/**
 * The one credential rule of the release, for the program's reads, `npm run plan` and the floating-tag
 * provider alike: the stack's configured login (finsight:registryUsername and registryPassword) when it
 * has one, else the `docker login` of this machine for the host, else anonymous.
 */
export function credentialsFor(
  host: string,
  configured: RegistryCredentials | undefined,
  env: NodeJS.ProcessEnv,
): RegistryCredentials | undefined {
  return configured ?? dockerCredentials(host, env);
}

/** A client for the stack's repository with the credentials the one rule gives. */
export function registryClientFor(
  access: Omit<RegistryAccess, "credentials">,
  configured: RegistryCredentials | undefined,
  env: NodeJS.ProcessEnv,
): RegistryClient {
  const credentials = credentialsFor(access.host, configured, env);
  return new RegistryClient({ ...access, ...(credentials ? { credentials } : {}) });
}
