/**
 * A release stack's world for generated histories: one registry (the in-memory model, or a real
 * docker-registry), the stack's config and checkout, its Pulumi state, and the release engineer and
 * the rest of the world acting on them. Each run goes through the REAL pipeline (src/pipeline.ts:
 * releaseTargets, the registry view read over HTTP semantics, planRelease and its gate) and the REAL
 * floating-tag provider (create/update/diff against the registry, as Pulumi calls it). What Pulumi and
 * docker-build would do around them is mirrored here from src/resources/release-image.ts: builds push
 * their images and indexes first, the floating tags follow, the environment's served image last.
 *
 * After every step, `checkPromises` judges the promises of src/plan/promises.ts with an oracle of its
 * own, from what the registry holds: it does not ask the planner what it meant.
 */
import { compare, SemVer, valid } from "semver";
import { parseSettings } from "../../src/inputs/settings";
import { ReleaseConfigError } from "../../src/model/errors";
import type { ReleaseEnvironment } from "../../src/model/source-facts";
import { releasePipeline } from "../../src/pipeline";
import { planImageInputs } from "../../src/plan/image-inputs";
import type { ReleasePlan } from "../../src/plan/release-plan";
import { releaseTargets } from "../../src/plan/targets";
import { floatingTagProvider } from "../../src/resources/floating-tag";
import { type RegistryModel, type StoredManifest, sha256 } from "../support/registry-model";

export const REPOSITORY = "acme/finsight-backend";
const INDEX = "application/vnd.oci.image.index.v1+json";
const IMAGE = "application/vnd.oci.image.manifest.v1+json";
const VERSION_LABEL = "org.opencontainers.image.version";

/** The versions a history releases: close enough to collide, with a prerelease and a second major. */
export const VERSIONS = ["1.2.0", "1.3.0", "1.3.5", "1.4.0", "1.4.1", "1.5.0-rc.1", "1.5.0", "2.0.0", "2.0.1"];
export const STABLE_VERSIONS = VERSIONS.filter((version) => !version.includes("-"));

/** Template sets, good and hostile: the config-time refusal must stop the hostile ones writing anything. */
export const TEMPLATE_SETS: readonly (readonly string[])[] = [
  // a prod stack's: the defaults, a commit tag, major lines only, no floating tag at all
  ["v{{version}}", "v{{major}}.{{minor}}", "v{{major}}", "latest"],
  ["v{{version}}", "sha-{{sha}}", "latest"],
  ["v{{version}}", "v{{major}}"],
  ["v{{version}}"],
  // hostile: a floating tag that renders a version's tag, a literal version, a prerelease's stable tag
  ["v{{version}}", "v{{major}}.{{minor}}.0", "latest"],
  ["v{{version}}", "v1.2.0", "latest"],
  ["v{{version}}", "v{{major}}.{{minor}}.{{patch}}", "latest"],
  // a demo stack's (its own version template: a history keeps to one stack's)
  ["demo-v{{version}}", "demo"],
  ["demo-v{{version}}", "demo-v{{major}}", "demo"],
  ["demo-v{{version}}", "demo-v{{major}}.{{minor}}.0", "demo"],
];
/** Which template sets one stack may move between: a history is a prod stack's or a demo stack's. */
export const STACK_TEMPLATES = {
  prod: { good: [0, 1, 2, 3], hostile: [4, 5, 6] },
  demo: { good: [7, 8], hostile: [9] },
};
export const PLATFORM_SETS: readonly (readonly string[])[] = [["linux/amd64"], ["linux/amd64", "linux/arm64"]];
/** Tags someone else may move by hand. */
export const FOREIGN_TAGS = ["latest", "v1", "v1.4", "v1.5", "v2", "demo"];
const VERSION_TEMPLATES = [
  { prefix: "v", suffix: "" },
  { prefix: "demo-v", suffix: "" },
];

/** What a write can run into: a registry that refuses or loses it, a killed process, a tag moved meanwhile. */
export type Fault =
  /** Every PUT of this tag's manifest fails in this run; `applied`: the registry stored it, then the answer was lost. */
  | { kind: "put-fails"; tag: string; applied: boolean; status: 429 | 500 | 503 }
  /** The process dies after this many floating-tag writes (every later request fails). */
  | { kind: "killed"; afterWrites: number }
  /** Someone moves this tag after the plan read the registry, before the writes. */
  | { kind: "moved-during-run"; tag: string };

export type Operation =
  | {
      kind: "release" | "candidate";
      version: string;
      templates: number;
      platforms: number;
      /** The version's recorded checkout, new content, or (for a version not yet released) the current commit as it is. */
      content: "same" | "new" | "this-commit";
    }
  | { kind: "promote"; version: string; digest: "right" | "wrong" }
  | { kind: "pin"; version: string }
  | { kind: "unpin" }
  | { kind: "rerun"; version: string }
  | { kind: "commit" }
  | { kind: "fault"; fault: Fault }
  | { kind: "move"; tag: string; to: string }
  | { kind: "half-index"; version: string };

export function describe(operation: Operation): string {
  switch (operation.kind) {
    case "release":
    case "candidate":
      return `${operation.kind} ${operation.version} tags=${JSON.stringify(TEMPLATE_SETS[operation.templates])} platforms=${PLATFORM_SETS[operation.platforms].join(",")}${operation.content === "same" ? "" : ` (${operation.content})`}`;
    case "promote":
      return `promote ${operation.version} with the ${operation.digest} digest`;
    case "pin":
      return `pin ${operation.version}`;
    case "rerun":
      return `re-run ${operation.version} from its checkout`;
    case "fault":
      return `next run: ${JSON.stringify(operation.fault)}`;
    case "move":
      return operation.to === "gone"
        ? `someone deletes ${operation.tag}`
        : `someone moves ${operation.tag} to ${operation.to}`;
    case "half-index":
      return `someone pushes ${operation.version} as an index missing linux/arm64`;
    default:
      return operation.kind;
  }
}

/** A broken promise: the history that led to it is printed by the property. */
export class BrokenPromise extends Error {
  override name = "BrokenPromise";
}

/** The registry a world runs against: its `fetch` for the code under test, and direct reads and writes for the world. */
export interface RegistryBackend {
  host: string;
  /** Below the host: `acme/<image name>`. */
  repository: string;
  credentials?: { username: string; password: string };
  /** What the code under test calls (faults are layered on top). */
  fetch: typeof fetch;
  putBlob(bytes: Buffer): Promise<string>;
  putManifest(tag: string | undefined, manifest: StoredManifest): Promise<string>;
  digestOf(tag: string): Promise<string | undefined>;
  manifest(digest: string): Promise<StoredManifest | undefined>;
  blob(digest: string): Promise<Buffer | undefined>;
  tags(): Promise<string[]>;
  /** Deletes a tag (someone else's doing); absent where the registry's API cannot (distribution 2.8). */
  deleteTag?(tag: string): Promise<void>;
  /** A copy to replay a step on without faults; undefined when the backend cannot be copied (a real registry). */
  clone?(): RegistryBackend;
}

export function modelBackend(model: RegistryModel, host = "127.0.0.1:1"): RegistryBackend {
  return {
    host,
    repository: REPOSITORY,
    fetch: model.fetch as typeof fetch,
    putBlob: async (bytes) => model.putBlob(REPOSITORY, bytes),
    putManifest: async (tag, manifest) => model.putManifest(REPOSITORY, tag, manifest),
    digestOf: async (tag) => model.digestOf(REPOSITORY, tag),
    manifest: async (digest) => model.manifest(REPOSITORY, digest),
    blob: async (digest) => model.blob(REPOSITORY, digest),
    tags: async () => model.tagList(REPOSITORY),
    deleteTag: async (tag) => model.deleteTag(REPOSITORY, tag),
    clone: () => modelBackend(model.clone(), host),
  };
}

interface Checkout {
  version: string;
  tree: string;
  revision: string;
  epoch: number;
}

interface RunResult {
  refused?: string;
  failed?: string;
  plan?: ReleasePlan;
  candidateDigest?: string;
  /** Floating tags this run wrote (PUTs the registry answered 201, or stored before losing the answer). */
  floatingWrites: { tag: string; digest: string }[];
  /** Where each managed floating tag should end: the plan's target digest, or where it already was. */
  chosen: Map<string, Set<string>>;
  foreignDuringRun?: { tag: string; digest: string };
  platforms: readonly string[];
}

interface Snapshot {
  digests: Map<string, string>;
}

/** The stack's state as Pulumi keeps it: each FloatingTag's id and outputs. */
type PulumiState = Map<string, { id: string; outs: Record<string, unknown> }>;

export class ReleaseWorld {
  private templates = 0;
  private platforms = 0;
  private pin?: string;
  private checkout: Checkout = { version: "1.2.0", tree: "tree-1.2.0-0", revision: revisionOf(0), epoch: 1700000000 };
  private readonly sources = new Map<string, Checkout>();
  private state: PulumiState = new Map();
  /** FINSIGHT_BACKEND_IMAGE as GitHub holds it after the last run that wrote it, and the tag that recorded it then. */
  private served?: { ref: string; version?: string; recordedBy: string };
  /** Whether someone else changed a tag since the stack last served. */
  private foreignSinceServed = false;
  private armed?: Fault;
  private counter = 1;
  /** Tag → the writer of each write, in order: a build, the floating-tag provider, or someone else. */
  private readonly writes = new Map<string, { digest: string; by: "build" | "floating" | "foreign" }[]>();
  /** Digest → the content a build made it from (tree, args, platforms…): what "same content" compares. */
  private readonly contents = new Map<string, string>();
  readonly log: string[] = [];
  runs = 0;
  /** How the runs ended and what the oracle compared: the figures that say the histories reach the promises. */
  readonly tally: Record<string, number> = {};
  private count(what: string): void {
    this.tally[what] = (this.tally[what] ?? 0) + 1;
  }

  constructor(
    private backend: RegistryBackend,
    private readonly options: { compareWithCleanReplay: boolean; templates?: number; reasons?: boolean } = {
      compareWithCleanReplay: true,
    },
  ) {
    this.templates = options.templates ?? 0;
  }

  private clone(): ReleaseWorld | undefined {
    const backend = this.backend.clone?.();
    if (!backend) return undefined;
    const copy = new ReleaseWorld(backend, { compareWithCleanReplay: false, templates: this.templates });
    copy.templates = this.templates;
    copy.platforms = this.platforms;
    copy.pin = this.pin;
    copy.checkout = { ...this.checkout };
    for (const [version, checkout] of this.sources) copy.sources.set(version, { ...checkout });
    copy.state = new Map([...this.state].map(([name, entry]) => [name, { ...entry, outs: { ...entry.outs } }]));
    copy.served = this.served ? { ...this.served } : undefined;
    copy.foreignSinceServed = this.foreignSinceServed;
    copy.counter = this.counter;
    for (const [tag, writes] of this.writes) copy.writes.set(tag, [...writes]);
    for (const [digest, content] of this.contents) copy.contents.set(digest, content);
    return copy;
  }

  // -- operations -------------------------------------------------------------------------------

  async apply(generated: Operation): Promise<void> {
    const operation = await this.resolve(generated);
    this.log.push(describe(operation));
    switch (operation.kind) {
      case "fault":
        this.armed = operation.fault;
        return;
      case "commit":
        this.checkout = { ...this.checkout, revision: revisionOf(this.counter++), epoch: this.checkout.epoch + 100 };
        return;
      case "move":
        return this.foreignMove(operation.tag, operation.to);
      case "half-index":
        return this.halfIndex(operation.version);
      default:
        return this.runStep(operation);
    }
  }

  /**
   * Versions given relative to the registry (`next-minor`, `released:2`: the third-lowest release) become
   * versions: histories then mostly release upwards and pin what exists, as release engineers do.
   */
  private async resolve(operation: Operation): Promise<Operation> {
    if (!("version" in operation)) return operation;
    const released = (await this.backend.tags())
      .map((tag) => ({ tag, version: versionOfTag(tag) }))
      .filter((entry): entry is { tag: string; version: string } => entry.version !== undefined)
      .filter((entry) => this.versionTag(entry.version) === entry.tag)
      .map((entry) => entry.version)
      .sort(compare);
    const stableReleased = released.filter((version) => !version.includes("-"));
    const { version } = operation;
    let resolved = version;
    if (version.startsWith("next-")) {
      const highest = new SemVer(stableReleased.at(-1) ?? "1.1.0");
      resolved =
        version === "next-major"
          ? `${highest.major + 1}.0.0`
          : version === "next-minor"
            ? `${highest.major}.${highest.minor + 1}.0`
            : `${highest.major}.${highest.minor}.${highest.patch + 1}`;
    } else if (version.startsWith("released:")) {
      const pool = operation.kind === "pin" || operation.kind === "half-index" ? stableReleased : released;
      resolved = pool.length ? pool[Number(version.slice(9)) % pool.length] : "1.2.0";
    }
    return { ...operation, version: resolved } as Operation;
  }

  /** A run-triggering operation: with a write fault armed, the faulted run, then the next `pulumi up`, compared with a clean one. */
  private async runStep(operation: Exclude<Operation, { kind: "fault" | "commit" | "move" | "half-index" }>) {
    const fault = this.armed;
    this.armed = undefined;
    const writeFault = fault && fault.kind !== "moved-during-run" ? fault : undefined;
    const reference = writeFault && this.options.compareWithCleanReplay ? this.clone() : undefined;
    if (reference) await reference.perform(operation, undefined);
    await this.perform(operation, fault);
    if (!writeFault) return;
    // Promise 7: the next `pulumi up` (the same intent, the registry as the failure left it) completes.
    this.log.push("  …the next pulumi up, without the fault");
    await this.perform(operation, undefined, { retry: true });
    if (reference) await this.sameAs(reference, operation);
  }

  private async perform(
    operation: Exclude<Operation, { kind: "fault" | "commit" | "move" | "half-index" }>,
    fault: Fault | undefined,
    options: { retry?: boolean } = {},
  ): Promise<void> {
    const env: ReleaseEnvironment = {};
    if (!options.retry) {
      switch (operation.kind) {
        case "release":
        case "candidate":
          this.templates = operation.templates;
          this.platforms = operation.platforms;
          this.checkoutFor(operation.version, operation.content);
          break;
        case "promote":
        case "rerun":
          this.checkoutFor(operation.version, "same");
          break;
        case "pin":
          this.pin = operation.version;
          break;
        case "unpin":
          this.pin = undefined;
          break;
      }
    }
    if (operation.kind === "candidate") env.FINSIGHT_PHASE = "candidate";
    let promoteDigest: string | undefined;
    if (operation.kind === "promote") {
      promoteDigest = await this.promoteDigestFor(operation.version, operation.digest);
      env.FINSIGHT_PROMOTE_DIGEST = promoteDigest;
    }
    const before = await this.snapshot();
    const servedBefore = this.served;
    const foreignBefore = this.foreignSinceServed;
    const result = await this.run(env, fault);
    this.runs++;
    this.count(result.refused ? "refused" : result.failed ? "failed" : `ok ${result.plan?.phase}`);
    if (this.options.reasons && (result.refused || result.failed)) {
      this.count(
        `  ${(result.refused ?? result.failed ?? "").replace(/[0-9a-f]{64}|\d+\.\d+\.\d+(-rc\.1)?/g, "…").slice(0, 90)}`,
      );
    }
    this.log.push(
      `  -> ${result.refused ? `refused: ${firstLine(result.refused)}` : result.failed ? `failed: ${firstLine(result.failed)}` : `ok, phase ${result.plan?.phase}, serves ${this.served?.version ?? this.served?.ref ?? "nothing"}`}`,
    );
    await this.checkPromises(operation, result, before, { promoteDigest, servedBefore, foreignBefore });
  }

  private checkoutFor(version: string, content: "same" | "new" | "this-commit"): void {
    const recorded = this.sources.get(version);
    if (!recorded && content === "this-commit") {
      // Another version tagged on the commit checked out now: the same tree, the same commit.
      this.checkout = { ...this.checkout, version };
      this.sources.set(version, { ...this.checkout });
      return;
    }
    if (recorded && content !== "new") {
      // The same commit, or (after an unrelated commit on it) the same tree at another commit.
      if (this.checkout.version !== version || this.checkout.tree !== recorded.tree) this.checkout = { ...recorded };
      return;
    }
    const tree = `tree-${version}-${this.counter++}`;
    this.checkout = { version, tree, revision: revisionOf(this.counter++), epoch: 1700000000 + this.counter * 1000 };
    this.sources.set(version, { ...this.checkout });
  }

  private async promoteDigestFor(version: string, which: "right" | "wrong"): Promise<string> {
    const own = await this.backend.digestOf(this.versionTag(version));
    if (which === "right" && own) return own;
    // A wrong digest: another release's, or one the registry never held.
    const others = (await this.backend.tags()).filter((tag) => tag !== this.versionTag(version));
    const other = others.length ? await this.backend.digestOf(others[this.counter++ % others.length]) : undefined;
    return other && other !== own ? other : sha256(Buffer.from(`not a release ${this.counter++}`));
  }

  /** Where a tag points now, for example tests that replay a fixed history. */
  async digestOf(tag: string): Promise<string | undefined> {
    return this.backend.digestOf(tag);
  }

  /** FINSIGHT_BACKEND_IMAGE as the environment holds it after the last run that wrote it. */
  get servedRef(): string | undefined {
    return this.served?.ref;
  }

  /** The floating tag of every release in the current templates (`latest`, `demo`): the registry's record of what is served. */
  private servedTag(): string {
    return TEMPLATE_SETS[this.templates].find((template) => !template.includes("{{")) ?? "";
  }

  private versionTag(version: string): string {
    const template = TEMPLATE_SETS[this.templates].find((text) => text.endsWith("{{version}}")) ?? "v{{version}}";
    return template.replace("{{version}}", version.replace("+", "_"));
  }

  private async foreignMove(tag: string, to: string): Promise<void> {
    if (to === "gone") {
      if (!this.backend.deleteTag || !(await this.backend.digestOf(tag))) return;
      await this.backend.deleteTag(tag);
      this.record(tag, "", "foreign");
      this.foreignSinceServed = true;
      return;
    }
    const digest = to === "foreign" ? await this.foreignImage() : await this.backend.digestOf(this.versionTag(to));
    if (!digest) return;
    const manifest = await this.backend.manifest(digest);
    if (!manifest) return;
    await this.backend.putManifest(tag, manifest);
    this.record(tag, digest, "foreign");
    this.foreignSinceServed = true;
  }

  private async foreignImage(): Promise<string> {
    const layer = await this.backend.putBlob(Buffer.from(`someone else's image ${this.counter++}`));
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: { Labels: {} } }));
    const configDigest = await this.backend.putBlob(config);
    return this.backend.putManifest(undefined, imageManifest(configDigest, config.length, layer));
  }

  /** What `imagetools create` leaves after a failed arm64 build: the stack's own labels, linux/amd64 only. */
  private async halfIndex(version: string): Promise<void> {
    const tag = this.versionTag(version);
    if (await this.backend.digestOf(tag)) return;
    const saved = this.checkout;
    this.checkoutFor(version, "same");
    const labels = this.labelsFor(version);
    this.checkout = saved;
    if (!labels) return;
    const child = await this.pushImage(labels, "linux/amd64", `half ${version}`);
    const index = await this.backend.putManifest(tag, indexManifest([{ digest: child, platform: "linux/amd64" }]));
    this.record(tag, index, "foreign");
    this.foreignSinceServed = true;
  }

  /** The labels this stack's build of `version` would carry with two platforms, or undefined when its config is refused. */
  private labelsFor(version: string): Record<string, string> | undefined {
    try {
      const inputs = this.inputs({}, { version, platforms: PLATFORM_SETS[1] });
      return planImageInputs(inputs.settings, releaseTargets(inputs).version, inputs.source).labels;
    } catch {
      return undefined;
    }
  }

  // -- one run: the pipeline, then what Pulumi and docker-build do with its plan -----------------

  private inputs(env: ReleaseEnvironment, override: { version?: string; platforms?: readonly string[] } = {}) {
    const values: Record<string, string> = {
      "finsight:variant": "full",
      "finsight:version": override.version ?? this.checkout.version,
      "finsight:registry": `${this.backend.host}/acme`,
      "finsight:imageName": this.backend.repository.slice("acme/".length),
      "finsight:context": "finsight",
      "finsight:dockerfile": "Dockerfile.backend",
      "finsight:platforms": JSON.stringify(override.platforms ?? PLATFORM_SETS[this.platforms]),
      "finsight:push": "true",
      "finsight:cache": "registry",
      "finsight:allowDowngrade": "false",
      "finsight:registryInsecure": "false",
      "finsight:registryDeadline": "120",
      "finsight:buildOnPreview": "false",
      "finsight:tags": JSON.stringify(TEMPLATE_SETS[this.templates]),
      ...(this.pin ? { "finsight:pin": this.pin } : {}),
    };
    const settings = parseSettings({ values, secretKeys: new Set() }, "prod", env);
    return {
      stack: "prod",
      settings,
      env,
      source: {
        contextExists: true,
        revision: this.checkout.revision,
        tree: this.checkout.tree,
        uncommitted: [],
        commitEpoch: this.checkout.epoch,
      },
      preview: false,
    };
  }

  private async run(env: ReleaseEnvironment, fault: Fault | undefined): Promise<RunResult> {
    const result: RunResult = { floatingWrites: [], chosen: new Map(), platforms: PLATFORM_SETS[this.platforms] };
    const saved = globalThis.fetch;
    globalThis.fetch = this.faulty(fault, result);
    try {
      let plan: ReleasePlan;
      try {
        const inputs = this.inputs(env);
        const credentials = this.backend.credentials;
        ({ plan } = await releasePipeline(
          {
            inputs,
            registryAccess: {
              host: this.backend.host,
              repository: this.backend.repository,
              ...(credentials ? { credentials } : {}),
            },
          },
          { readRegistry: true },
        ));
      } catch (error) {
        if (error instanceof ReleaseConfigError) return { ...result, refused: error.message };
        throw error;
      }
      result.plan = plan;
      if (fault?.kind === "moved-during-run") {
        const digest = await this.foreignImage();
        const manifest = (await this.backend.manifest(digest)) as StoredManifest;
        await this.backend.putManifest(fault.tag, manifest);
        this.record(fault.tag, digest, "foreign");
        this.foreignSinceServed = true;
        result.foreignDuringRun = { tag: fault.tag, digest };
      }
      const candidateDigest = await this.build(plan);
      result.candidateDigest = candidateDigest;
      const failure = await this.moveFloatingTags(plan, candidateDigest, result);
      if (failure) return { ...result, failed: failure };
      // The environment's variables wait for every floating tag (promise 7); GitHub keeps them on an unchanged serve.
      const recordedBy = this.servedTag();
      if (plan.served.kind === "candidate") {
        this.served = { ref: `${plan.releaseTag}@${candidateDigest}`, version: plan.version.text, recordedBy };
      } else if (plan.served.kind === "image") {
        const { ref, version } = plan.served;
        this.served = { ref, ...(version ? { version } : {}), recordedBy };
      }
      if (plan.served.kind !== "unchanged") this.foreignSinceServed = false;
      return result;
    } finally {
      globalThis.fetch = saved;
    }
  }

  /** `fetch` for the code under test, with the armed fault on top; it also records the floating-tag PUTs. */
  private faulty(fault: Fault | undefined, result: RunResult): typeof fetch {
    const inner = this.backend.fetch;
    let writes = 0;
    return (async (input: string | URL | Request, init: RequestInit = {}) => {
      const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
      const put = init.method === "PUT" ? /\/manifests\/([^/]+)$/.exec(url.pathname)?.[1] : undefined;
      if (fault?.kind === "killed" && writes >= fault.afterWrites) throw new TypeError("fetch failed (process killed)");
      if (put !== undefined && fault?.kind === "put-fails" && fault.tag === put) {
        if (fault.applied) {
          const stored = await inner(input, init);
          if (stored.status === 201) this.recordWrite(result, put, init);
        }
        return new Response(JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "injected" }] }), {
          status: fault.status,
          headers: { "content-type": "application/json", ...(fault.status === 429 ? { "retry-after": "0" } : {}) },
        });
      }
      const response = await inner(input, init);
      if (put !== undefined && response.status === 201) {
        writes++;
        this.recordWrite(result, put, init);
      }
      return response;
    }) as typeof fetch;
  }

  private recordWrite(result: RunResult, tag: string, init: RequestInit): void {
    const digest = sha256(Buffer.from(init.body as Uint8Array));
    result.floatingWrites.push({ tag, digest });
    this.record(tag, digest, "floating");
  }

  private record(tag: string, digest: string, by: "build" | "floating" | "foreign"): void {
    const list = this.writes.get(tag) ?? [];
    list.push({ digest, by });
    this.writes.set(tag, list);
  }

  /** docker-build's part: one image per build (per platform), an index per exact tag when there are several. */
  private async build(plan: ReleasePlan): Promise<string> {
    if (plan.candidate.source === "registry") return plan.candidate.digest;
    if (plan.candidate.source !== "build" || plan.builds.length === 0) return "";
    const prefix = `${plan.repository.name}:`;
    const bare = (tag: string) => tag.slice(prefix.length);
    const images = new Map<string, { digest: string; platform: string }>();
    for (const build of plan.builds) {
      const platform = build.platforms[0];
      const content = JSON.stringify({
        tree: this.checkout.tree,
        args: build.buildArgs,
        dockerfile: build.dockerfile,
        target: build.target ?? "",
        platforms: plan.indexes.length ? [platform] : build.platforms,
        labels: build.labels,
      });
      const digest = await this.pushImage(build.labels, platform, content);
      this.contents.set(digest, contentKey(this.checkout.tree, plan, build.platforms));
      images.set(build.name, { digest, platform });
      for (const tag of build.tags) await this.pushTag(bare(tag), digest);
    }
    for (const index of plan.indexes) {
      const children = index.sources.map((name) => images.get(name) as { digest: string; platform: string });
      const manifest = indexManifest(children);
      const digest = await this.backend.putManifest(undefined, manifest);
      this.contents.set(
        digest,
        contentKey(
          this.checkout.tree,
          plan,
          children.map((child) => child.platform),
        ),
      );
      await this.pushTag(bare(index.tag), digest);
    }
    const candidate = plan.candidate.digestOf;
    if ("index" in candidate) {
      const index = plan.indexes.find((entry) => entry.name === candidate.index);
      return (index && (await this.backend.digestOf(bare(index.tag)))) ?? "";
    }
    return images.get(candidate.image)?.digest ?? "";
  }

  /** A push of an exact tag: promise 1 says it never lands on a tag the registry already has. */
  private async pushTag(tag: string, digest: string): Promise<void> {
    const existing = await this.backend.digestOf(tag);
    if (existing !== undefined) {
      throw new BrokenPromise(`promise 1: the build pushed ${tag} again (it held ${existing}, now ${digest})`);
    }
    const manifest = (await this.backend.manifest(digest)) as StoredManifest;
    await this.backend.putManifest(tag, manifest);
    this.record(tag, digest, "build");
  }

  private async pushImage(labels: Record<string, string>, platform: string, content: string): Promise<string> {
    const layer = Buffer.from(content);
    const layerDigest = await this.backend.putBlob(layer);
    const [os, architecture] = platform.split("/");
    const config = Buffer.from(
      JSON.stringify({ architecture, os, config: { Labels: labels }, rootfs: { type: "layers", diff_ids: [] } }),
    );
    const configDigest = await this.backend.putBlob(config);
    return this.backend.putManifest(undefined, imageManifest(configDigest, config.length, layerDigest));
  }

  /** Pulumi's part for the FloatingTags: create, or diff and update, in plan order; a failure stops the run. */
  private async moveFloatingTags(
    plan: ReleasePlan,
    candidateDigest: string,
    result: RunResult,
  ): Promise<string | undefined> {
    const planned = new Set(plan.floatingTags.map((tag) => tag.name));
    for (const tag of plan.floatingTags) {
      const source = tag.target.kind === "release" ? candidateDigest : tag.target.reference;
      result.chosen.set(tag.tag, new Set([source, ...(tag.seen ? [tag.seen] : [])]));
      const inputs = {
        host: plan.repository.host,
        repository: plan.repository.path,
        tag: tag.tag,
        source,
        insecure: false,
        registryTokenHosts: plan.registryTokenHosts,
        ...(tag.seen !== undefined ? { seenDigest: tag.seen } : {}),
        ...(this.backend.credentials ?? { username: "model", password: "model-password" }),
      };
      const existing = this.state.get(tag.name);
      try {
        if (!existing) {
          const created = await floatingTagProvider.create(inputs);
          this.state.set(tag.name, { id: created.id, outs: created.outs });
        } else {
          const diff = await floatingTagProvider.diff?.(existing.id, existing.outs, inputs);
          if (diff?.changes) {
            const updated = await floatingTagProvider.update?.(existing.id, existing.outs, inputs);
            this.state.set(tag.name, { id: existing.id, outs: updated?.outs ?? existing.outs });
          }
        }
      } catch (error) {
        return (error as Error).message;
      }
    }
    // A resource that leaves the program is deleted from the state; the provider's delete does nothing.
    for (const name of [...this.state.keys()]) if (!planned.has(name)) this.state.delete(name);
    return undefined;
  }

  // -- the oracle ---------------------------------------------------------------------------------

  private async snapshot(): Promise<Snapshot> {
    const digests = new Map<string, string>();
    for (const tag of await this.backend.tags()) {
      const digest = await this.backend.digestOf(tag);
      if (digest) digests.set(tag, digest);
    }
    return { digests };
  }

  /** The version label and platforms of an image, read from the registry. */
  private async imageOf(digest: string): Promise<{ version?: string; platforms: string[] }> {
    const manifest = await this.backend.manifest(digest);
    if (!manifest) return { platforms: [] };
    const parsed = JSON.parse(manifest.bytes.toString()) as {
      manifests?: { digest: string; platform?: { os: string; architecture: string } }[];
      config?: { digest: string };
    };
    if (parsed.manifests) {
      const children = parsed.manifests.filter((child) => child.platform && child.platform.os !== "unknown");
      const first = children[0] ? await this.imageOf(children[0].digest) : { platforms: [] };
      return {
        ...(first.version ? { version: first.version } : {}),
        platforms: children.map((child) => `${child.platform?.os}/${child.platform?.architecture}`),
      };
    }
    const config = JSON.parse(((await this.backend.blob(parsed.config?.digest ?? "")) ?? Buffer.from("{}")).toString());
    const version = config.config?.Labels?.[VERSION_LABEL];
    return { ...(version ? { version } : {}), platforms: [`${config.os}/${config.architecture}`] };
  }

  /** The release a digest is, as the registry shows it: a version whose own tag (any version template) has it. */
  private releaseOf(digest: string | undefined, digests: Map<string, string>): string | undefined {
    if (!digest) return undefined;
    const found = [...digests]
      .filter(([tag, held]) => held === digest && versionOfTag(tag) !== undefined)
      .map(([tag]) => versionOfTag(tag) as string)
      .sort(compare);
    return found.at(-1);
  }

  private fail(promise: string, detail: string): never {
    throw new BrokenPromise(`${promise}: ${detail}`);
  }

  private async checkPromises(
    operation: Operation,
    result: RunResult,
    before: Snapshot,
    context: {
      promoteDigest?: string;
      servedBefore?: { version?: string; recordedBy: string };
      foreignBefore: boolean;
    },
  ) {
    const { promoteDigest, servedBefore, foreignBefore } = context;
    const after = await this.snapshot();
    const plan = result.plan;

    // Promise 1: a tag that names a release holds that release (its version label), whoever wrote last
    // if not someone else; the provider never writes a tag a build wrote, nor one that names a version.
    for (const [tag, digest] of after.digests) {
      const named = versionOfTag(tag);
      const history = this.writes.get(tag) ?? [];
      if (
        history.some((write) => write.by === "floating") &&
        (named || history.some((write) => write.by === "build"))
      ) {
        this.fail("promise 1", `the floating-tag provider wrote ${tag}, a tag that names a release`);
      }
      if (!named || history.at(-1)?.by === "foreign") continue;
      const image = await this.imageOf(digest);
      if (image.version !== undefined && image.version !== named) {
        this.fail("promise 1", `${tag} names ${named} but holds ${image.version}'s image (${digest})`);
      }
    }
    for (const [tag, digest] of before.digests) {
      const history = this.writes.get(tag) ?? [];
      if (history.some((write) => write.by === "build") && after.digests.get(tag) !== digest) {
        if (history.at(-1)?.by !== "foreign") this.fail("promise 1", `${tag} changed from ${digest}`);
      }
    }

    // The README's first promises: a rollback builds nothing, and no run deletes a tag.
    if (plan?.phase === "rollback" && plan.builds.length > 0) this.fail("rollback", "a rollback built an image");
    for (const tag of before.digests.keys()) {
      if (!after.digests.has(tag) && this.writes.get(tag)?.at(-1)?.by !== "foreign") {
        this.fail("never deleted", `${tag} was in the registry before the run and is gone after it`);
      }
    }

    // Promise 2: whatever this run pointed a floating tag at, and what it serves, holds every platform.
    for (const write of result.floatingWrites) {
      const { platforms } = await this.imageOf(write.digest);
      const missing = result.platforms.filter((platform) => !platforms.includes(platform));
      if (missing.length) this.fail("promise 2", `${write.tag} now points at ${write.digest}, which lacks ${missing}`);
    }
    if (plan && !result.refused && !result.failed && plan.served.kind !== "unchanged") {
      const digest = this.served?.ref.split("@")[1];
      if (digest) {
        const { platforms } = await this.imageOf(digest);
        const missing = result.platforms.filter((platform) => !platforms.includes(platform));
        if (missing.length) this.fail("promise 2", `the stack serves ${digest}, which lacks ${missing}`);
      }
    }

    // Promise 3: without a pin, what is served never goes below what the served tag showed before.
    const pinned = plan?.phase === "rollback";
    if (plan && !result.refused && !result.failed && !pinned && plan.served.kind !== "unchanged") {
      const servedVersion = plan.served.kind === "candidate" ? plan.version.text : plan.served.version;
      for (const tag of ["latest", "demo"]) {
        const shown = this.releaseOf(before.digests.get(tag), before.digests);
        if (
          shown &&
          servedVersion &&
          TEMPLATE_SETS[this.templates].includes(tag) &&
          compare(servedVersion, shown) < 0
        ) {
          this.fail("promise 3", `serves ${servedVersion}, below ${shown}, which ${tag} showed served`);
        }
      }
    }
    // …and never below what the stack itself served before, unless someone else moved a tag meanwhile,
    // or finsight:tags changed the tag that records what is served (README: what the registry cannot show).
    if (servedBefore && this.served && !pinned && !foreignBefore && servedBefore.recordedBy === this.servedTag()) {
      const [was, now] = [servedBefore.version, this.served.version];
      if (was && now && valid(was) && valid(now) && compare(now, was) < 0) {
        this.fail("promise 3", `the stack served ${was} and now serves ${now}, without a pin`);
      }
    }

    // Promise 4: a successful release or promotion of stable X moves each of its floating tags whose
    // release (as the registry showed it) is not above X, and no other; a failed candidate is no rival.
    if (plan && !result.refused && !result.failed && (plan.phase === "release" || plan.phase === "promote")) {
      const stable = !new SemVer(plan.version.text).prerelease.length;
      for (const tag of plan.tags.floating) {
        const held = this.releaseOf(before.digests.get(tag), before.digests);
        const now = after.digests.get(tag);
        if (!stable || held === undefined || result.foreignDuringRun?.tag === tag) continue;
        this.count(compare(held, plan.version.text) <= 0 ? "promise 4: tag must move" : "promise 4: tag must stay");
        if (compare(held, plan.version.text) <= 0 && now !== result.candidateDigest) {
          this.fail("promise 4", `${tag} held ${held}, not above ${plan.version.text}, yet did not move to it`);
        }
        if (compare(held, plan.version.text) > 0 && now !== before.digests.get(tag)) {
          this.fail("promise 4", `${tag} held ${held}, above ${plan.version.text}, yet moved`);
        }
      }
    }

    // Promotion only of the verified digest: a wrong one is refused, and moves nothing.
    if (operation.kind === "promote" && promoteDigest) {
      const own = before.digests.get(this.versionTag(operation.version));
      if (own !== promoteDigest && !result.refused) {
        this.fail(
          "promise 7",
          `a promotion named ${promoteDigest}, not ${own ?? "any candidate"}, and was not refused`,
        );
      }
    }

    // Promise 5: the same content under an existing release tag is that release: no refusal for "other inputs", no build.
    if (plan && (operation.kind === "release" || operation.kind === "rerun") && !this.pin) {
      const releaseTag = plan.releaseTag.slice(plan.repository.name.length + 1);
      const existing = before.digests.get(releaseTag);
      const same = existing && this.contents.get(existing) === contentKey(this.checkout.tree, plan, result.platforms);
      if (same && plan.builds.length > 0)
        this.fail("promise 5", `${releaseTag} is this content, yet it was built again`);
    }
    if (!plan && result.refused?.includes("built from other inputs") && !this.pin) {
      const existing = before.digests.get(this.versionTag(this.checkout.version));
      const current = contentKey(this.checkout.tree, { version: { text: this.checkout.version } }, result.platforms);
      if (existing && this.contents.get(existing) === current) {
        this.fail("promise 5", `the same content was refused as another source: ${firstLine(result.refused)}`);
      }
    }

    // Promise 7: every floating tag the run managed ends where the plan chose, or where it was.
    if (plan) {
      for (const [tag, chosen] of result.chosen) {
        const now = after.digests.get(tag);
        if (result.foreignDuringRun?.tag === tag) {
          if (now !== result.foreignDuringRun.digest)
            this.fail("promise 7", `${tag}, moved by someone during the run, was moved back`);
          continue;
        }
        if (now !== undefined && !chosen.has(now) && now !== before.digests.get(tag)) {
          this.fail("promise 7", `${tag} ends on ${now}, which the plan did not choose`);
        }
      }
    }
  }

  /** Promise 7: after the faulted run and the next `pulumi up`, the registry and the served image are as after one clean run. */
  private async sameAs(reference: ReleaseWorld, operation: Operation): Promise<void> {
    this.count("promise 7: faulted run + next up compared with one clean run");
    const mine = await this.snapshot();
    const theirs = await reference.snapshot();
    for (const tag of new Set([...mine.digests.keys(), ...theirs.digests.keys()])) {
      if (mine.digests.get(tag) !== theirs.digests.get(tag)) {
        this.fail(
          "promise 7",
          `after a failed write and the next pulumi up of "${describe(operation)}", ${tag} is ${mine.digests.get(tag) ?? "missing"}; one clean run leaves ${theirs.digests.get(tag) ?? "it missing"}`,
        );
      }
    }
    if (this.served?.ref !== reference.served?.ref) {
      this.fail(
        "promise 7",
        `after the next pulumi up the stack serves ${this.served?.ref}; one clean run serves ${reference.served?.ref}`,
      );
    }
  }
}

/** Which version a tag names through any version template a history uses (`v1.4.0`, `demo-v1.4.0`). */
function versionOfTag(tag: string): string | undefined {
  for (const { prefix } of VERSION_TEMPLATES) {
    if (!tag.startsWith(prefix)) continue;
    const text = tag.slice(prefix.length).replace("_", "+");
    if (valid(text) === text && !/-linux-/.test(text)) return text;
  }
  return undefined;
}

function contentKey(tree: string, plan: { version: { text: string } }, platforms: readonly string[]): string {
  return JSON.stringify({ tree, version: plan.version.text, platforms: [...platforms].sort() });
}

function imageManifest(configDigest: string, configSize: number, layerDigest: string): StoredManifest {
  return {
    mediaType: IMAGE,
    bytes: Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: IMAGE,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: configSize },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layerDigest, size: 1 }],
      }),
    ),
  };
}

function indexManifest(children: { digest: string; platform: string }[]): StoredManifest {
  return {
    mediaType: INDEX,
    bytes: Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: INDEX,
        manifests: children.map((child) => {
          const [os, architecture] = child.platform.split("/");
          return { mediaType: IMAGE, digest: child.digest, size: 1, platform: { os, architecture } };
        }),
      }),
    ),
  };
}

const revisionOf = (n: number) => sha256(Buffer.from(`commit ${n}`)).slice(7, 47);
const firstLine = (text: string) => text.split("\n")[0].slice(0, 220);
