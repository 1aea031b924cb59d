/**
 * The stand-in FinSight backend (examples/finsight-backend), the build context of the `local` stack.
 * Its Dockerfile is read and checked on every machine; with a Docker engine it is also built, without
 * any pull, on a busybox base made FROM scratch (offline-base/), in both variants, and run: the smoke
 * test of the release workflow (an HTTP answer on port 5002) must pass against it.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { dockerSkip } from "../support/docker-engine";
import { PROJECT_DIR } from "../support/program";

const CONTEXT = path.join(PROJECT_DIR, "examples", "finsight-backend");
const DOCKERFILE = path.join(CONTEXT, "Dockerfile.backend");
const VERSION = fs.readFileSync(path.join(CONTEXT, "VERSION"), "utf8").trim();

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions in order: comments and blank lines dropped, continuation lines joined. */
function instructions(text: string): Instruction[] {
  const logical = text
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n")
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((line) => line.trim() !== "");
  return logical.map((line) => {
    const [keyword, ...rest] = line.trim().split(/\s+/);
    return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
  });
}

/** Whether `.dockerignore` keeps a context path: the last matching pattern decides (`!` keeps). */
function keptByDockerignore(patterns: string[], file: string): boolean {
  let kept = true;
  for (const pattern of patterns) {
    const negated = pattern.startsWith("!");
    const glob = negated ? pattern.slice(1) : pattern;
    const regex = new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}(/.*)?$`);
    if (regex.test(file)) kept = negated;
  }
  return kept;
}

const KEYWORDS = new Set(
  "FROM RUN CMD LABEL EXPOSE ENV ADD COPY ENTRYPOINT VOLUME USER WORKDIR ARG ONBUILD STOPSIGNAL HEALTHCHECK SHELL".split(
    " ",
  ),
);

describe("examples/finsight-backend: Dockerfile.backend as written", () => {
  const steps = instructions(fs.readFileSync(DOCKERFILE, "utf8"));
  const stages = steps.flatMap((step, i) => (step.keyword === "FROM" ? [{ at: i, ...step }] : []));
  const stageSteps = (name: string) => {
    const start = stages.findIndex((stage) => stage.args.endsWith(` AS ${name}`));
    assert.notEqual(start, -1, `stage ${name}`);
    return steps.slice(stages[start].at + 1, stages[start + 1]?.at ?? steps.length);
  };

  it("uses only Dockerfile instructions; every stage starts from BASE_IMAGE, declared first with a default", () => {
    for (const step of steps) assert.ok(KEYWORDS.has(step.keyword), `unknown instruction ${step.keyword}`);
    assert.deepEqual(steps[0], { keyword: "ARG", args: "BASE_IMAGE=busybox:1.37" });
    assert.deepEqual(
      stages.map((stage) => stage.args),
      [`\${BASE_IMAGE} AS deps`, `\${BASE_IMAGE} AS runtime`],
    );
  });

  it("honours USE_LIGHT in the deps stage and SKIP_ML as build arg and environment of the runtime", () => {
    const deps = stageSteps("deps");
    assert.ok(deps.some((s) => s.keyword === "ARG" && s.args === "USE_LIGHT=0"));
    assert.ok(deps.some((s) => s.keyword === "RUN" && s.args.includes('"$USE_LIGHT" = "1"')));
    const runtime = stageSteps("runtime");
    assert.ok(runtime.some((s) => s.keyword === "ARG" && s.args === "SKIP_ML=0"));
    assert.ok(runtime.some((s) => s.keyword === "ENV" && s.args.includes(`SKIP_ML=\${SKIP_ML}`)));
    // The runtime stage copies only the deps stage's result, never the build stage's tree.
    assert.deepEqual(
      runtime.filter((s) => s.keyword === "COPY").map((s) => s.args),
      ["--from=deps /out/app/ /app/", "VERSION serve.sh /app/"],
    );
    assert.ok(runtime.some((s) => s.keyword === "EXPOSE" && s.args === "5002"));
    assert.deepEqual(runtime.at(-1), { keyword: "CMD", args: '["sh", "/app/serve.sh"]' });
  });

  it("copies only files that exist in the context and that .dockerignore keeps; nothing else is context", () => {
    const patterns = fs
      .readFileSync(path.join(CONTEXT, ".dockerignore"), "utf8")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"));
    const copied = steps
      .filter((s) => s.keyword === "COPY" && !s.args.startsWith("--from="))
      .flatMap((s) => s.args.split(/\s+/).slice(0, -1));
    assert.deepEqual(copied.sort(), ["VERSION", "requirements.light.txt", "requirements.txt", "serve.sh"]);
    for (const file of copied) {
      assert.ok(fs.existsSync(path.join(CONTEXT, file)), `${file} exists`);
      assert.ok(keptByDockerignore(patterns, file), `${file} is kept by .dockerignore`);
    }
    for (const file of ["README.md", "offline-base/Dockerfile", "offline-base/build.sh"]) {
      assert.ok(fs.existsSync(path.join(CONTEXT, file)), `${file} exists`);
      assert.equal(keptByDockerignore(patterns, file), false, `${file} stays out of the context`);
    }
  });

  it("has the real backend's files: a semver VERSION and both requirements files in pip format", () => {
    assert.match(VERSION, /^\d+\.\d+\.\d+$/);
    const light = fs.readFileSync(path.join(CONTEXT, "requirements.light.txt"), "utf8");
    const full = fs.readFileSync(path.join(CONTEXT, "requirements.txt"), "utf8");
    const entries = (text: string) => text.split("\n").filter((line) => line.trim() && !line.startsWith("#"));
    assert.deepEqual(entries(light), [], "the stand-in server needs no Python package");
    assert.deepEqual(entries(full), ["-r requirements.light.txt"], "full = light + the ML stack");
  });
});

const skip = dockerSkip({ busybox: true });
const engineUp = skip === false;

describe("examples/finsight-backend: built and run on the Docker engine, nothing pulled", () => {
  const run = `standin${process.pid}`;
  const base = `finsight-offline-base:${run}`;
  const image = (variant: string) => `finsight-backend-standin:${run}-${variant}`;
  const containers: string[] = [];
  const builtSeconds: Record<string, number> = {};
  const docker = (...args: string[]) =>
    execFileSync("docker", args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"], // the classic builder's deprecation notice is not test output
      env: { ...process.env, DOCKER_BUILDKIT: "0" }, // the classic builder: no buildx on this engine
      timeout: 180_000,
    }).trim();

  /** Builds one variant; its deps stage is tagged too, so cleaning up leaves no untagged stage behind. */
  function build(variant: "light" | "full", buildArgs: string[]): void {
    const args = buildArgs.flatMap((arg) => ["--build-arg", arg]);
    const started = process.hrtime.bigint();
    for (const [target, tag] of [
      ["deps", `${image(variant)}-deps`],
      ["runtime", image(variant)],
    ]) {
      docker("build", "--quiet", "--file", DOCKERFILE, "--target", target, "--tag", tag, ...args, CONTEXT);
    }
    builtSeconds[variant] = Number(process.hrtime.bigint() - started) / 1e9;
  }

  before(() => {
    if (!engineUp) return;
    execFileSync("sh", [path.join(CONTEXT, "offline-base", "build.sh"), base], { stdio: "pipe", timeout: 120_000 });
    build("light", [`BASE_IMAGE=${base}`, "USE_LIGHT=1", "SKIP_ML=1"]);
    build("full", [`BASE_IMAGE=${base}`, "USE_LIGHT=0"]);
  });
  after(() => {
    if (!engineUp) return;
    if (containers.length) spawnSync("docker", ["rm", "--force", ...containers]);
    const tags = ["light", "full"].flatMap((v) => [image(v), `${image(v)}-deps`]);
    spawnSync("docker", ["image", "rm", "--force", ...tags, base]);
  });

  const sizeOf = (ref: string) => Number(docker("image", "inspect", "--format", "{{.Size}}", ref));

  it("builds both variants from the offline base; the light image adds only kilobytes, the full one its ML stand-in", {
    skip,
  }, (t) => {
    const [baseSize, light, full] = [sizeOf(base), sizeOf(image("light")), sizeOf(image("full"))];
    t.diagnostic(
      `sizes: base ${baseSize} B, light ${light} B, full ${full} B; build s: light ${builtSeconds.light.toFixed(1)}, full ${builtSeconds.full.toFixed(1)}`,
    );
    assert.ok(light - baseSize < 64 * 1024, `light adds ${light - baseSize} B to the base`);
    assert.ok(full - light >= 24 * 1024 * 1024, `full is ${full - light} B larger than light`);
    const envOf = (ref: string) =>
      JSON.parse(docker("image", "inspect", "--format", "{{json .Config.Env}}", ref)) as string[];
    assert.ok(envOf(image("light")).includes("SKIP_ML=1"), "the demo build bakes SKIP_ML=1 in");
    assert.ok(envOf(image("full")).includes("SKIP_ML=0"));
  });

  /** Starts a container on a free loopback port and returns what GET / and GET /status.json answer. */
  async function smoke(ref: string, env: string[] = []): Promise<{ page: string; status: Record<string, unknown> }> {
    const name = `${run}-${containers.length}`;
    containers.push(name);
    docker("run", "--detach", "--name", name, ...env.flatMap((e) => ["--env", e]), "--publish", "127.0.0.1::5002", ref);
    const address = docker("port", name, "5002").split("\n")[0];
    // The release workflow's smoke test: any HTTP answer on port 5002 (GET /) within 120 s.
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const page = await fetch(`http://${address}/`);
        if (page.status === 200) {
          const status = (await (await fetch(`http://${address}/status.json`)).json()) as Record<string, unknown>;
          return { page: await page.text(), status };
        }
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error(`${ref} did not answer on port 5002`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  it("answers the smoke test on port 5002, saying which build it is and whether ML is on", { skip }, async () => {
    const light = await smoke(image("light"));
    assert.match(light.page, /FinSight backend stand-in/);
    assert.deepEqual(light.status, {
      service: "finsight-backend",
      standIn: true,
      version: VERSION,
      variant: "light",
      ml: "disabled",
    });
    const full = await smoke(image("full"));
    assert.deepEqual(full.status, { ...light.status, variant: "full", ml: "enabled" });
    const fullWithoutMl = await smoke(image("full"), ["SKIP_ML=1"]);
    assert.deepEqual(fullWithoutMl.status, { ...light.status, variant: "full", ml: "disabled" });
  });
});
