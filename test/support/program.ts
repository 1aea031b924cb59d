/**
 * Evaluates the real index.ts under Pulumi's mock runtime, with the config of a shipped stack file
 * read from disk (plus any overrides a test names), and reports what was registered.
 * The idiom of pulumi/examples testing-unit-ts-mocks-jest: mocks and config first, program after.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { RELEASE_ENVIRONMENT_VARIABLES } from "../../src/environment";
import { readStackConfig } from "../../src/stack-files";

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
  parent: string;
  /** Input property names that arrived as Pulumi secrets. */
  secretInputs: string[];
}

export interface ProgramRun {
  registered: Registered[];
  outputs: Record<string, unknown>;
  error?: Error;
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
}

/** The docker-build provider's outputs: a pushed Image gets a manifest digest and `ref` = first tag@digest. */
function providerState(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const digest = `sha256:${createHash("sha256").update(JSON.stringify(inputs)).digest("hex")}`;
  if (type === "docker-build:index:Image") {
    const tags = (inputs.tags as string[] | undefined) ?? [];
    const pushed = inputs.push === true;
    return { ...inputs, digest: pushed ? digest : "", ref: pushed ? `${tags[0]}@${digest}` : (tags[0] ?? "") };
  }
  if (type === "docker-build:index:Index") return { ...inputs, ref: `${inputs.tag}@${digest}` };
  return inputs;
}

/**
 * The GitHub provider's user and team lookups answer with the numeric id as a string, as the real
 * ones do. Ids here are derived from the name so every run sees the same ones.
 */
export function mockGitHubId(name: string): number {
  return Number.parseInt(createHash("sha256").update(name).digest("hex").slice(0, 7), 16);
}

function lookup(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
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
      parent: req.getParent(),
      secretInputs,
    });
    return register(req, callback);
  };

  const { values } = readStackConfig(PROJECT_DIR, options.stack);
  const config: Record<string, string> = { ...values };
  for (const [key, value] of Object.entries(options.config ?? {})) {
    if (value === undefined) delete config[key];
    else config[key] = value;
  }
  Object.assign(config, options.secrets ?? {});
  pulumi.runtime.setAllConfig(config, Object.keys(options.secrets ?? {}));

  const savedEnv = Object.fromEntries(RELEASE_ENVIRONMENT_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of RELEASE_ENVIRONMENT_VARIABLES) delete process.env[name];
  Object.assign(process.env, options.env ?? {});
  delete require.cache[require.resolve(PROGRAM)];
  try {
    const program = require(PROGRAM) as Record<string, unknown>;
    const outputs: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(program)) {
      outputs[name] = pulumi.Output.isInstance(value) ? await settle(value) : value;
    }
    return { registered, outputs };
  } catch (error) {
    return { registered, outputs: {}, error: error as Error };
  } finally {
    // Let every registration of this run reach the mock monitor before the next run replaces it.
    await pulumi.runtime.disconnect();
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
}

export const imagesOf = (run: ProgramRun) => run.registered.filter((r) => r.type === "docker-build:index:Image");
export const indexesOf = (run: ProgramRun) => run.registered.filter((r) => r.type === "docker-build:index:Index");

/** A refused run: one ReleaseConfigError with the expected message, and nothing registered before it. */
export function assertRefused(run: ProgramRun, message: RegExp): void {
  assert.ok(run.error, "the program should have failed");
  assert.equal(run.error.name, "ReleaseConfigError");
  assert.match(run.error.message, message);
  assert.deepEqual(run.registered, [], "nothing may be registered before the input is valid");
}
