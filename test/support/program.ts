/**
 * Evaluates the real index.ts under Pulumi's mock runtime, with the config of a shipped stack file
 * read from disk (plus any overrides a test names), and reports what was registered.
 * The idiom of pulumi/examples testing-unit-ts-mocks-jest: mocks and config first, program after.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { RELEASE_ENVIRONMENT_VARIABLES } from "../../src/inputs/process-env";
import { readStackConfig } from "../../src/inputs/stack-files";
import { floatingTagProvider } from "../../src/resources/floating-tag";
import { GIT_ENV } from "./git";
import {
  pushImage,
  REGISTRY_PASSWORD,
  REGISTRY_USER,
  startRegistry,
  type TestRegistry,
  tagDigest,
  writeDockerLogin,
} from "./registry";
import { tempDir } from "./temp";

export const PROJECT_DIR = path.resolve(__dirname, "../..");
const PROGRAM = path.join(PROJECT_DIR, "index.ts");
/** The stand-in for a `secure:` value, which only the Pulumi CLI can decrypt. */
export const SECRET_STAND_IN = "test-secret-value-from-stack-file";

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** Options as sent to the engine. */
  retainOnDelete: boolean;
  /** Input names whose changes the engine ignores after creation (`ignoreChanges`). */
  ignoreChanges: string[];
  parent: string;
  /** Input property names that arrived as Pulumi secrets. */
  secretInputs: string[];
  /** URNs each input depends on (what the engine must finish before it creates or updates this resource). */
  propertyDependencies: Record<string, string[]>;
}

/**
 * Every program run reads a real registry, as `pulumi up` does: one docker-registry per test file,
 * started on first use and stopped after the file's tests. Runs log in to it the way CI does, with
 * a docker config file (as docker/login-action writes it), unless a test sets credentials itself.
 */
let shared: Promise<{ registry: TestRegistry; dockerConfig: string }> | undefined;

export async function testRegistry(): Promise<{ registry: TestRegistry; dockerConfig: string }> {
  shared ??= startRegistry().then((registry) => {
    const dockerConfig = writeDockerLogin(
      fs.mkdtempSync(path.join(os.tmpdir(), "finsight-docker-config-")),
      registry.host,
    );
    return { registry, dockerConfig };
  });
  return shared;
}

after(async () => {
  if (!shared) return;
  const { registry, dockerConfig } = await shared;
  await registry.stop();
  fs.rmSync(dockerConfig, { recursive: true, force: true });
});

/** The namespace the shipped stacks use, moved onto the test registry: `127.0.0.1:<port>/acme`. */
export async function testRegistryLocation(namespace = "acme"): Promise<string> {
  return `${(await testRegistry()).registry.host}/${namespace}`;
}

/**
 * A build context as a release needs one: a clean git checkout holding a Dockerfile.backend, made once
 * per test file in a temporary directory (tests that need their own make it with `makeContext`).
 */
export function makeContext(files: Record<string, string> = { "Dockerfile.backend": "FROM scratch\n" }): string {
  const dir = tempDir("finsight-context-");
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", dir, ...args], { env: { ...process.env, ...GIT_ENV }, stdio: "ignore" });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "FinSight backend");
  return dir;
}
/** The commit and tree git gives a context's HEAD: what the release's labels must name. */
export function gitFacts(dir: string): { revision: string; tree: string } {
  const read = (...args: string[]) => execFileSync("git", ["-C", dir, ...args], { encoding: "utf8" }).trim();
  return { revision: read("rev-parse", "HEAD"), tree: read("rev-parse", "HEAD:./") };
}
let sharedContext: string | undefined;
/** The default context of every program run: the shipped stacks' `finsight/` does not exist in a clone. */
export const defaultContext = () => {
  sharedContext ??= makeContext();
  return sharedContext;
};

export interface ProgramRun {
  registered: Registered[];
  outputs: Record<string, unknown>;
  /** Messages the program sent to `pulumi.log.warn` (shown by the CLI as warnings). */
  warnings: string[];
  /** Messages the program sent to `pulumi.log.info` (the plan's notes). */
  infos: string[];
  error?: Error;
}

/**
 * What the Pulumi CLI prints for an error the program throws, by the SDK's own rules
 * (@pulumi/pulumi cmd/run/run.js): a RunError's message alone, anything else with its stack.
 */
export function printedError(error: unknown): string {
  const { RunError } = require("@pulumi/pulumi/errors") as { RunError: { isInstance(e: unknown): boolean } };
  const { defaultErrorMessage } = require("@pulumi/pulumi/cmd/run/error") as {
    defaultErrorMessage(e: unknown): string;
  };
  return RunError.isInstance(error) ? (error as Error).message : defaultErrorMessage(error);
}

export interface RunOptions {
  stack: string;
  /** Environment for the run; every variable the release reads is cleared first. */
  env?: Record<string, string>;
  /** Fully qualified config keys to set or (with undefined) remove on top of the stack file. */
  config?: Record<string, string | undefined>;
  /** Fully qualified config keys to set as secrets. */
  secrets?: Record<string, string>;
  preview?: boolean;
  /**
   * For runs that must fail on their config before the registry is asked anything: no registry is
   * started, and the stack points at a loopback port nothing listens on (a read would fail loudly).
   */
  offline?: boolean;
}

/** The type token Pulumi gives the FloatingTag dynamic resource (module "finsight", type "FloatingTag"). */
export const FLOATING_TAG_TYPE = "pulumi-nodejs:dynamic/finsight:FloatingTag";

/** The docker-build provider's outputs: a pushed Image gets a manifest digest and `ref` = first tag@digest. */
function providerState(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const digest = `sha256:${createHash("sha256").update(JSON.stringify(inputs)).digest("hex")}`;
  if (type === "docker-build:index:Image") {
    const tags = (inputs.tags as string[] | undefined) ?? [];
    const pushed = inputs.push === true;
    return { ...inputs, digest: pushed ? digest : "", ref: pushed ? `${tags[0]}@${digest}` : (tags[0] ?? "") };
  }
  if (type === "docker-build:index:Index") return { ...inputs, ref: `${inputs.tag}@${digest}` };
  // The floating-tag provider leaves the tag on the source's digest (test/floating-tag.test.ts shows it does).
  if (type === FLOATING_TAG_TYPE) return { ...inputs, digest: inputs.source, previousDigest: "" };
  return inputs;
}

/**
 * The GitHub provider's user and team lookups answer with the numeric id as a string, as the real
 * ones do. Ids here are derived from the name so every run sees the same ones.
 */
export function mockGitHubId(name: string): number {
  return Number.parseInt(createHash("sha256").update(name).digest("hex").slice(0, 7), 16);
}

/** Logins starting with this are unknown to the mocked GitHub: its getUser fails for them, as GitHub's 404 does. */
export const UNKNOWN_LOGIN_PREFIX = "ghost-";

function lookup(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  if (token === "github:index/getUser:getUser" && String(inputs.username).startsWith(UNKNOWN_LOGIN_PREFIX))
    // As the engine reports a failed invoke: a gRPC error whose `details` the SDK turns into the message.
    throw Object.assign(new Error("invoke failed"), {
      details: `GET https://api.github.com/users/${inputs.username}: 404 Not Found []`,
    });
  if (token === "github:index/getUser:getUser")
    return { id: String(mockGitHubId(String(inputs.username))), login: inputs.username };
  if (token === "github:index/getTeam:getTeam")
    return { id: String(mockGitHubId(String(inputs.slug))), slug: inputs.slug };
  throw new Error(`unmocked call ${token}`);
}

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

function secretPaths(value: unknown, at: string, found: string[]): void {
  if (value === null || typeof value !== "object") return;
  const record = value as Record<string, unknown>;
  if (
    record[pulumi.runtime.specialSigKey] === SECRET_SIG ||
    record[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  ) {
    found.push(at);
    return;
  }
  for (const [key, child] of Object.entries(record)) secretPaths(child, at ? `${at}.${key}` : key, found);
}

const settle = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));

export async function runProgram(options: RunOptions): Promise<ProgramRun> {
  const registered: Registered[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({ id: `${args.name}-id`, state: providerState(args.type, args.inputs) }),
      call: (args) => lookup(args.token, args.inputs),
    },
    "finsight",
    options.stack,
    options.preview ?? false,
  );
  // Record the options the program sent with each resource: MockResourceArgs does not carry them.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource: (req: RegisterRequest, callback: unknown) => unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    const raw = req.getObject()?.toJavaScript() ?? {};
    const secretInputs: string[] = [];
    secretPaths(raw, "", secretInputs);
    registered.push({
      type: req.getType(),
      name: req.getName(),
      inputs: raw,
      retainOnDelete: req.getRetainondelete() === true,
      ignoreChanges: req.getIgnorechangesList(),
      parent: req.getParent(),
      secretInputs,
      propertyDependencies: propertyDependenciesOf(req),
    });
    return register(req, callback);
  };

  const { registry, dockerConfig } = options.offline
    ? { registry: { host: "127.0.0.1:9" }, dockerConfig: path.join(os.tmpdir(), "finsight-no-docker-login") }
    : await testRegistry();
  const { values } = readStackConfig(PROJECT_DIR, options.stack);
  const config: Record<string, string> = {
    ...values,
    "finsight:registry": `${registry.host}/acme`,
  };
  // The shipped demo and prod stacks build `finsight/`, which a clone of this project does not have.
  if (!fs.existsSync(path.resolve(PROJECT_DIR, config["finsight:context"] ?? ""))) {
    config["finsight:context"] = defaultContext();
  }
  for (const [key, value] of Object.entries(options.config ?? {})) {
    if (value === undefined) delete config[key];
    else config[key] = value;
  }
  Object.assign(config, options.secrets ?? {});
  pulumi.runtime.setAllConfig(config, Object.keys(options.secrets ?? {}));

  const savedEnv = Object.fromEntries(RELEASE_ENVIRONMENT_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of RELEASE_ENVIRONMENT_VARIABLES) delete process.env[name];
  const savedDockerConfig = process.env.DOCKER_CONFIG;
  process.env.DOCKER_CONFIG = dockerConfig;
  Object.assign(process.env, options.env ?? {});
  delete require.cache[require.resolve(PROGRAM)];
  const warnings: string[] = [];
  const infos: string[] = [];
  const log = pulumi.log as { warn: typeof pulumi.log.warn; info: typeof pulumi.log.info };
  const { warn, info } = log;
  log.warn = async (message: string) => {
    warnings.push(message);
  };
  log.info = async (message: string) => {
    infos.push(message);
  };
  try {
    // index.ts exports an async function, as a Pulumi program may: the engine calls it and awaits it.
    const program = require(PROGRAM) as () => Promise<Record<string, unknown>>;
    const exported = await program();
    const outputs: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(exported)) {
      if (value === undefined) continue;
      outputs[name] = pulumi.Output.isInstance(value) ? await settle(value) : value;
    }
    return { registered, outputs, warnings, infos };
  } catch (error) {
    return { registered, outputs: {}, warnings, infos, error: error as Error };
  } finally {
    log.warn = warn;
    log.info = info;
    // Let every registration of this run reach the mock monitor before the next run replaces it.
    await pulumi.runtime.disconnect();
    if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = savedDockerConfig;
    for (const [name, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

interface RegisterRequest {
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getType(): string;
  getName(): string;
  getParent(): string;
  getRetainondelete(): boolean | undefined;
  getIgnorechangesList(): string[];
  getPropertydependenciesMap(): {
    forEach(visit: (dependencies: { getUrnsList(): string[] }, name: string) => void): void;
  };
}

function propertyDependenciesOf(req: RegisterRequest): Record<string, string[]> {
  const dependencies: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((urns, name) => {
    dependencies[name] = urns.getUrnsList();
  });
  return dependencies;
}

export const imagesOf = (run: ProgramRun) => run.registered.filter((r) => r.type === "docker-build:index:Image");
export const indexesOf = (run: ProgramRun) => run.registered.filter((r) => r.type === "docker-build:index:Index");
/** The floating tags a run manages, by tag, with the image each points at. */
export function floatingTagsOf(run: ProgramRun): Record<string, string> {
  return Object.fromEntries(
    run.registered
      .filter((r) => r.type === FLOATING_TAG_TYPE)
      .map((r) => [r.inputs.tag as string, r.inputs.source as string]),
  );
}

/** A refused run: one ReleaseConfigError with the expected message, and nothing registered before it. */
export function assertRefused(run: ProgramRun, message: RegExp): void {
  assert.ok(run.error, "the program should have failed");
  assert.equal(run.error.name, "ReleaseConfigError");
  assert.match(run.error.message, message);
  assert.deepEqual(run.registered, [], "nothing may be registered before the input is valid");
}

let namespaceCount = 0;

/**
 * A namespace of its own on the test registry, so no test sees another's releases: the config that
 * points a stack at it, a way to seed images as an earlier `pulumi up` left them, and a way to apply
 * a run's floating tags with the real provider, as `pulumi up` would (with the registry's login).
 */
export async function namespacedRegistry(prefix: string) {
  const { host } = (await testRegistry()).registry;
  const namespace = `${prefix}${++namespaceCount}`;
  const repositoryPath = `${namespace}/finsight-backend`;
  return {
    config: { "finsight:registry": `${host}/${namespace}` },
    repository: `${host}/${repositoryPath}`,
    /** Uploads an image under `tag`; `sameAs` gives it the very image (and digest) seeded under that tag. */
    seed: (tag: string, labels: Record<string, string> = {}, sameAs = tag) =>
      pushImage(host, repositoryPath, tag, { labels, content: `${namespace} ${sameAs} ${JSON.stringify(labels)}` }),
    digestOf: (tag: string) => tagDigest(host, repositoryPath, tag),
    /** The manifest bytes a tag resolves to, as `docker pull` gets them. */
    async manifest(tag: string): Promise<Buffer> {
      const response = await fetch(`http://${host}/v2/${repositoryPath}/manifests/${tag}`, {
        headers: {
          authorization: `Basic ${Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString("base64")}`,
          accept: "application/vnd.oci.image.manifest.v1+json",
        },
      });
      assert.equal(response.status, 200, `GET manifest ${tag}`);
      return Buffer.from(await response.arrayBuffer());
    },
    async apply(run: ProgramRun) {
      for (const tag of run.registered.filter((r) => r.type === FLOATING_TAG_TYPE)) {
        const { __provider, ...inputs } = tag.inputs;
        await floatingTagProvider.create({ ...inputs, username: REGISTRY_USER, password: REGISTRY_PASSWORD });
      }
    },
  };
}

export { GIT_ENV };
