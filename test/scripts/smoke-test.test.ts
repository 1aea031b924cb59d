import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { dockerSkip } from "../support/docker-engine";
import { PROJECT_DIR } from "../support/program";

/**
 * scripts/smoke-test.sh against a real container on the machine's Docker engine: tiny images built FROM scratch
 * around the static busybox, one that answers HTTP on port 5002 as the backend does, and ones that do not.
 */

const SCRIPT = path.join(PROJECT_DIR, "scripts", "smoke-test.sh");
const BUSYBOX = "/usr/bin/busybox";
const RUN = `${process.pid}-${Date.now()}`;
const IMAGES = {
  answers: `finsight-smoke-test:answers-${RUN}`,
  silent: `finsight-smoke-test:silent-${RUN}`,
  crashes: `finsight-smoke-test:crashes-${RUN}`,
};

function docker(args: string[], timeout = 30_000) {
  return spawnSync("docker", args, { encoding: "utf8", timeout, env: { ...process.env, DOCKER_BUILDKIT: "0" } });
}

const skip = dockerSkip({ busybox: true });

/** Builds `tag` FROM scratch with the static busybox at /bin/busybox and the given command. */
function buildImage(tag: string, command: string[], pageText?: string) {
  const context = mkdtempSync(path.join(tmpdir(), "finsight-smoke-"));
  try {
    copyFileSync(BUSYBOX, path.join(context, "busybox"));
    mkdirSync(path.join(context, "www"));
    if (pageText !== undefined) {
      writeFileSync(path.join(context, "www", "index.html"), pageText);
      writeFileSync(path.join(context, "www", "health"), "ok\n");
    }
    writeFileSync(
      path.join(context, "Dockerfile"),
      [
        "FROM scratch",
        "COPY busybox /bin/busybox",
        "COPY www /www",
        "EXPOSE 5002",
        // Identical builds share an image id, and `ancestor=` matches by id: a label of this run keeps
        // another run's containers (a parallel test run on the same engine) out of `containersOf`.
        `LABEL org.finsight.smoke-test.run=${JSON.stringify(RUN)}`,
        `CMD ${JSON.stringify(command)}`,
      ].join("\n"),
    );
    const build = docker(["build", "--quiet", "--tag", tag, context], 60_000);
    assert.equal(build.status, 0, `docker build ${tag}: ${build.stderr}`);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

interface ScriptRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  seconds: number;
}

/** Runs the script; `whenStarted` is called once its container exists (to interrupt it). */
function runScript(args: string[], env: Record<string, string>, whenStarted?: (pid: number) => void) {
  return new Promise<ScriptRun>((resolve, reject) => {
    const started = Date.now();
    const child = spawn("bash", [SCRIPT, ...args], {
      env: { ...process.env, GITHUB_ACTIONS: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    // A bound of its own, so a hanging script fails the test instead of hanging it.
    const guard = setTimeout(() => child.kill("SIGKILL"), 40_000);
    let poll: NodeJS.Timeout | undefined;
    if (whenStarted) {
      poll = setInterval(() => {
        if (containersOf(args[0]).length > 0) {
          clearInterval(poll);
          whenStarted(child.pid ?? 0);
        }
      }, 200);
    }
    child.on("error", reject);
    child.on("close", (status, signal) => {
      clearTimeout(guard);
      if (poll) clearInterval(poll);
      resolve({ status, signal, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** Containers (running or not) made from `image`: the script must leave none behind. */
function containersOf(image: string): string[] {
  const listing = docker(["ps", "--all", "--quiet", "--filter", `ancestor=${image}`]);
  return listing.stdout.split("\n").filter(Boolean);
}

describe("scripts/smoke-test.sh against a real container", () => {
  before(() => {
    if (skip) return; // every test below is skipped with the reason
    // Like the demo backend, it only comes up with SKIP_ML=1.
    const serve = "exec /bin/busybox httpd -f -p 5002 -h /www";
    const needsSkipMl = `[ "$SKIP_ML" = 1 ] || { echo "SKIP_ML is not 1" >&2; exit 4; }; ${serve}`;
    buildImage(IMAGES.answers, ["/bin/busybox", "sh", "-c", needsSkipMl], "finsight backend\n");
    // Listens on nothing: a backend that never comes up.
    buildImage(IMAGES.silent, ["/bin/busybox", "sleep", "600"]);
    buildImage(IMAGES.crashes, ["/bin/busybox", "sh", "-c", "echo model file missing >&2; exit 3"]);
  });

  after(() => {
    if (skip) return;
    for (const image of Object.values(IMAGES)) {
      for (const id of containersOf(image)) docker(["rm", "--force", id]);
      docker(["rmi", "--force", image]);
    }
  });

  it("passes when the image answers HTTP on port 5002, and removes its container", { skip }, async () => {
    const run = await runScript([IMAGES.answers, "SKIP_ML=1"], { SMOKE_TIMEOUT: "10" });
    assert.equal(run.status, 0, run.output);
    assert.match(run.output, new RegExp(`${IMAGES.answers} answered HTTP on port 5002 after \\d+ attempt`));
    assert.ok(run.seconds < 10, `took ${run.seconds} s`);
    assert.deepEqual(containersOf(IMAGES.answers), []);
  });

  it("passes the ENV=VALUE arguments to the container, and refuses anything else", { skip }, async () => {
    const without = await runScript([IMAGES.answers], { SMOKE_TIMEOUT: "10" });
    assert.equal(without.status, 1, without.output);
    assert.match(without.output, /SKIP_ML is not 1/);
    const refused = await runScript([IMAGES.answers, "SKIP ML=1"], { SMOKE_TIMEOUT: "5" });
    assert.equal(refused.status, 2, refused.output);
    assert.match(refused.output, /not an ENV=VALUE assignment: SKIP ML=1/);
    assert.deepEqual(containersOf(IMAGES.answers), []);
  });

  it("fails within its timeout when nothing answers, shows the logs and removes the container", { skip }, async () => {
    const run = await runScript([IMAGES.silent], { SMOKE_TIMEOUT: "3" });
    assert.equal(run.status, 1, run.output);
    assert.match(run.output, /no HTTP answer on port 5002 within 3 s/);
    assert.match(run.output, /last 200 lines of the container's logs/);
    assert.ok(run.seconds < 12, `took ${run.seconds} s for a 3 s timeout`);
    assert.deepEqual(containersOf(IMAGES.silent), []);
  });

  it("fails at once when the container stops, with its logs", { skip }, async () => {
    const run = await runScript([IMAGES.crashes], { SMOKE_TIMEOUT: "30" });
    assert.equal(run.status, 1, run.output);
    assert.match(run.output, /the container stopped before it answered on port 5002/);
    assert.match(run.output, /model file missing/);
    assert.ok(run.seconds < 15, `took ${run.seconds} s: a stopped container must not wait for the timeout`);
    assert.deepEqual(containersOf(IMAGES.crashes), []);
  });

  it("removes the container when it is interrupted (a cancelled CI step)", { skip }, async () => {
    const run = await runScript([IMAGES.silent], { SMOKE_TIMEOUT: "30" }, (pid) => process.kill(pid, "SIGTERM"));
    assert.equal(run.status, 143, run.output);
    assert.ok(run.seconds < 15, `took ${run.seconds} s`);
    assert.deepEqual(containersOf(IMAGES.silent), []);
  });

  it("refuses to run without an image", async () => {
    const run = await runScript([], {});
    assert.equal(run.status, 2);
    assert.match(run.output, /usage: .*smoke-test\.sh IMAGE_REF \[ENV=VALUE…\]/);
  });
});
