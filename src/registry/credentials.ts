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
 *
 * A config.json that is there but malformed is an error naming the file, the key and what is
 * accepted, in one line and without its values (they are credentials); a missing one is anonymous
 * access. The floating-tag provider, serialised by Pulumi into the state, reads the login with it.
 */

/** A docker config.json that is not what `docker login` writes. */
export class DockerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DockerConfigError";
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** What a value is, never what it holds: `a list`, `a number`, `null`. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

type Refuse = (key: string, accepted: string, got: string) => DockerConfigError;

/** The error for a key of `file` that is not what `docker login` writes, naming what it is, never what it holds. */
const refusal =
  (file: string): Refuse =>
  (key, accepted, got) =>
    new DockerConfigError(
      `${file}: ${key} must be ${accepted}, got ${got}; fix or remove the file (docker login writes it anew)`,
    );

/** The keys of a docker config.json this reads, each checked for its shape. */
interface DockerConfig {
  auths?: Record<string, unknown>;
  credHelpers?: Record<string, unknown>;
  credsStore?: string;
}

export function dockerCredentials(host: string, env: NodeJS.ProcessEnv): RegistryCredentials | undefined {
  const dir = env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), ".docker");
  const file = path.join(dir, "config.json");
  const refuse = refusal(file);
  const config = readDockerConfig(file, refuse);
  if (!config) return undefined; // no docker login: anonymous access
  const helper = config.credHelpers?.[host] ?? config.credsStore;
  if (helper !== undefined && typeof helper !== "string") {
    throw refuse(`credHelpers[${JSON.stringify(host)}]`, "a helper name", kindOf(helper));
  }
  return (helper ? helperCredentials(helper, host, env) : undefined) ?? authsCredentials(config.auths, host, refuse);
}

/** Far above any docker login's config.json (a few KiB even with many hosts). */
const MAX_DOCKER_CONFIG_BYTES = 4 * 1024 * 1024;

/** The config file, parsed and its top-level keys checked; undefined when there is none. */
function readDockerConfig(file: string, refuse: Refuse): DockerConfig | undefined {
  // Stat before reading: a FIFO would block the read until a writer came, and a device such as
  // /dev/zero never ends, so only a regular file of a docker config's size is read.
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return undefined;
  }
  if (!stat.isFile()) {
    throw new DockerConfigError(
      `${file} must be a regular file (as docker login writes it), got ${stat.isDirectory() ? "a directory" : "a FIFO, socket or device"}; fix or remove it`,
    );
  }
  if (stat.size > MAX_DOCKER_CONFIG_BYTES) {
    throw new DockerConfigError(
      `${file} is larger than ${MAX_DOCKER_CONFIG_BYTES / 1024 / 1024} MiB (${stat.size} bytes), not a docker login's config; fix or remove the file`,
    );
  }
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text, which holds credentials: not repeated.
    throw new DockerConfigError(`${file} is not JSON; fix or remove the file (docker login writes it anew)`);
  }
  if (!isRecord(config)) {
    throw new DockerConfigError(`${file} must be a JSON object (as docker login writes it), got ${kindOf(config)}`);
  }
  const { auths, credHelpers, credsStore } = config;
  if (auths !== undefined && !isRecord(auths)) {
    throw refuse("auths", "a map of registry hosts to logins", kindOf(auths));
  }
  if (credHelpers !== undefined && !isRecord(credHelpers)) {
    throw refuse("credHelpers", "a map of registry hosts to helper names", kindOf(credHelpers));
  }
  if (credsStore !== undefined && typeof credsStore !== "string") {
    throw refuse("credsStore", "a helper name", kindOf(credsStore));
  }
  return { auths, credHelpers, credsStore };
}

/** What the credential helper `docker-credential-<helper>` has for `host`, or undefined when it has nothing. */
function helperCredentials(helper: string, host: string, env: NodeJS.ProcessEnv): RegistryCredentials | undefined {
  try {
    const answer = execFileSync(`docker-credential-${helper}`, ["get"], {
      input: host,
      encoding: "utf8",
      env,
      stdio: ["pipe", "pipe", "ignore"],
      timeout: 10_000,
    });
    const { Username, Secret } = JSON.parse(answer) as { Username?: unknown; Secret?: unknown };
    if (typeof Username === "string" && typeof Secret === "string" && Username && Secret) {
      return { username: Username, password: Secret };
    }
  } catch {
    // The helper has nothing for this host (or is missing): fall through to `auths`.
  }
  return undefined;
}

/** The `auths` entry for `host`, checked for its shape: `auth` (base64 of user:password) or username and password. */
function authsCredentials(
  auths: Record<string, unknown> | undefined,
  host: string,
  refuse: Refuse,
): RegistryCredentials | undefined {
  // `docker login` files Docker Hub under its old index address.
  const keys = host === "docker.io" ? ["https://index.docker.io/v1/", host] : [host, `https://${host}`];
  const key = keys.find((candidate) => auths?.[candidate] !== undefined);
  if (key === undefined || !auths) return undefined;
  const entry = auths[key];
  const name = `auths[${JSON.stringify(key)}]`;
  if (!isRecord(entry)) {
    throw refuse(name, "an object with auth (base64 of user:password) or username and password", kindOf(entry));
  }
  if (entry.auth !== undefined && entry.auth !== "") {
    if (typeof entry.auth !== "string") throw refuse(`${name}.auth`, "base64 of user:password", kindOf(entry.auth));
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) throw refuse(`${name}.auth`, "base64 of user:password", 'a value without ":" (not shown)');
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  for (const field of ["username", "password"] as const) {
    if (entry[field] !== undefined && typeof entry[field] !== "string") {
      throw refuse(`${name}.${field}`, "text", kindOf(entry[field]));
    }
  }
  if (typeof entry.username === "string" && typeof entry.password === "string" && entry.username && entry.password) {
    return { username: entry.username, password: entry.password };
  }
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
