/**
 * Every command in the README and docs/ runs as written, or says why it cannot run here. Each fenced
 * block is one of:
 *   ```sh          runs here after the set-up: this test runs it, section by section, as one bash script
 *                  (a section's blocks share variables, as a reader's shell does);
 *   ```sh pulumi   needs the Pulumi CLI and a stack backend;
 *   ```sh github   needs GitHub (the gh CLI, a repository, Actions);
 *   ```sh registry needs the stack's own registry and its login (ghcr.io), not a loopback one;
 * and the README's first Set-up block is the set-up itself, which `.ci/run` runs (running it here would
 * run `npm test` inside `npm test`). Any other shell block, or an unknown marker, fails the test, so the
 * extraction is honest about what it skips; the counts of each kind are reported.
 *
 * The README's "Try it" runs against a real registry: Debian's docker-registry on localhost:5000, started
 * by the walkthrough itself. Port 5000 is the walkthrough's, so runs of this test on one machine take
 * turns (a lock file), and a port held by something else skips it, with the reason (a failure under CI=true).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { runProcess } from "../support/cli";
import { dockerSkip } from "../support/docker-engine";
import { PROJECT_DIR } from "../support/program";

const DOCUMENTS = [
  "README.md",
  ...fs
    .readdirSync(path.join(PROJECT_DIR, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`),
];
const SKIPPED_KINDS = ["pulumi", "github", "registry"] as const;
type Kind = "run" | "setup" | (typeof SKIPPED_KINDS)[number];

interface Block {
  file: string;
  section: string;
  kind: Kind;
  lines: string[];
}

/** The fenced blocks of a Markdown file with their section (the nearest `## ` heading); list-indented fences too. */
function fencedBlocks(file: string, text: string): { info: string; section: string; lines: string[] }[] {
  const blocks: { info: string; section: string; lines: string[] }[] = [];
  let section = "";
  let open: { indent: string; info: string; lines: string[] } | undefined;
  for (const line of text.split("\n")) {
    if (open) {
      if (line.trim() === "```" && line.startsWith(open.indent)) {
        blocks.push({ info: open.info, section, lines: open.lines });
        open = undefined;
      } else {
        open.lines.push(line.startsWith(open.indent) ? line.slice(open.indent.length) : line);
      }
      continue;
    }
    const fence = /^(\s*)```(.*)$/.exec(line);
    if (fence) open = { indent: fence[1], info: fence[2].trim(), lines: [] };
    else if (line.startsWith("## ")) section = line.slice(3).trim();
  }
  assert.equal(open, undefined, `${file}: a fence is not closed`);
  return blocks;
}

function classify(file: string, block: { info: string; section: string }, firstSetUpBlock: boolean): Kind | undefined {
  const [language, marker, ...rest] = block.info.split(/\s+/);
  if (["bash", "shell", "console", "shell-session", "zsh"].includes(language)) {
    assert.fail(`${file} (${block.section}): a ${language} block; write sh, sh pulumi, sh github or sh registry`);
  }
  if (language !== "sh") return undefined; // yaml, text, …: not commands
  assert.equal(rest.length, 0, `${file} (${block.section}): fence info "${block.info}"`);
  if (marker === undefined) return firstSetUpBlock ? "setup" : "run";
  assert.ok(
    (SKIPPED_KINDS as readonly string[]).includes(marker),
    `${file} (${block.section}): unknown marker "sh ${marker}" (known: ${SKIPPED_KINDS.join(", ")})`,
  );
  return marker as Kind;
}

const blocks: Block[] = DOCUMENTS.flatMap((file) => {
  const text = fs.readFileSync(path.join(PROJECT_DIR, file), "utf8");
  let setUpSeen = false;
  return fencedBlocks(file, text).flatMap((block) => {
    // The README's first Set-up block is the set-up line that .ci/run runs.
    const first = file === "README.md" && block.section === "Set-up" && block.info === "sh" && !setUpSeen;
    if (first) setUpSeen = true;
    const kind = classify(file, block, first);
    return kind ? [{ file, section: block.section, kind, lines: block.lines }] : [];
  });
});

/** What a section must print besides succeeding: the walkthrough shows the plan meeting the registry. */
const EXPECTED_OUTPUT: Record<string, RegExp[]> = {
  "README.md#Try it (no Docker Hub, no Pulumi CLI)": [
    // First plan: the registry is read and holds nothing; the offline base comes from finsight:buildArgs.
    /^registry +read \(\d+ requests\), released: -$/m,
    /^ {2}build args +USE_LIGHT=0, SOURCE_DATE_EPOCH=\d+, BASE_IMAGE=localhost:5000\/finsight-offline-base$/m,
    // Second plan, after the hand-made push of the same inputs: served by digest, nothing built.
    /^candidate +localhost:5000\/finsight-backend:v1\.4\.0@sha256:[0-9a-f]{64} \(in the registry: not built, not pushed\)$/m,
    /^registry +read \(\d+ requests\), released: 1\.4\.0$/m,
    // The image answers on port 5002.
    /"service":"finsight-backend","standIn":true,"version":"1\.4\.0","variant":"full","ml":"enabled"/,
  ],
};

/** Sections whose blocks run, in document order, each as one script. */
function runnableSections(): { key: string; script: string }[] {
  const sections = new Map<string, string[]>();
  for (const block of blocks.filter((b) => b.kind === "run")) {
    const key = `${block.file}#${block.section}`;
    sections.set(key, [...(sections.get(key) ?? []), ...block.lines]);
  }
  return [...sections].map(([key, lines]) => ({ key, script: lines.join("\n") }));
}

const LOCK = path.join(os.tmpdir(), "finsight-try-it.lock");

/** Port 5000 is the walkthrough's: one run of it at a time on this machine. A lock left by a dead process is taken over. */
async function withPort5000<T>(work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(path.join(LOCK, "pid"), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(fs.readFileSync(path.join(LOCK, "pid"), { encoding: "utf8", flag: "a+" }) || 0);
      let alive = holder > 0;
      try {
        if (alive) process.kill(holder, 0);
      } catch {
        alive = false;
      }
      if (!alive && holder > 0) fs.rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`${LOCK} is still held by process ${holder}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await work();
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

/** Runs a script as a reader's bash would, in its own process group so that whatever it leaves running is stopped. */
async function runScript(script: string): Promise<{ status: number | null; output: string }> {
  const run = await runProcess("bash", ["-euo", "pipefail", "-c", script], {
    timeoutMs: 5 * 60_000,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ...(process.env.CI ? { CI: process.env.CI } : {}),
    },
  });
  return { status: run.code, output: `${run.stdout}${run.stderr}` };
}

describe("every command in the README and docs/ runs as written", () => {
  it("every shell block is marked: runs here, or needs the Pulumi CLI, GitHub or the stack's registry", (t) => {
    const count = (kind: Kind) => blocks.filter((block) => block.kind === kind).length;
    const commands = (kind: Kind) =>
      blocks
        .filter((block) => block.kind === kind)
        .flatMap((block) => block.lines)
        .filter((line) => line.trim() && !line.trim().startsWith("#")).length;
    t.diagnostic(
      `run here: ${count("run")} blocks (${commands("run")} lines); set-up run by .ci/run: ${count("setup")}; ` +
        SKIPPED_KINDS.map((kind) => `needs ${kind}: ${count(kind)} blocks (${commands(kind)} lines)`).join("; "),
    );
    assert.equal(count("setup"), 1, "the README's set-up line, which .ci/run runs");
    assert.ok(count("run") >= 5, "the main job, the walkthrough, the plan of a release by hand");
    for (const kind of SKIPPED_KINDS) assert.ok(count(kind) > 0, `the docs have ${kind} blocks`);
  });

  const engineSkip = dockerSkip({ busybox: true });
  for (const { key, script } of runnableSections()) {
    const needsDocker = /\bdocker\b/.test(script);
    const needsPort5000 = script.includes("localhost:5000") && /docker-registry serve/.test(script);
    it(`${key}`, { skip: needsDocker ? engineSkip : false, timeout: 12 * 60_000 }, async (t) => {
      const run = async () => {
        if (needsPort5000 && !(await portFree(5000))) {
          const why = "port 5000 is in use by something else (Debian's docker-registry service?)";
          if (process.env.CI === "true") assert.fail(`CI=true, but ${why}`);
          t.skip(why);
          return;
        }
        try {
          const { status, output } = await runScript(script);
          assert.equal(status, 0, `${key} failed:\n${output}`);
          for (const expected of EXPECTED_OUTPUT[key] ?? []) assert.match(output, expected, output);
        } finally {
          if (needsDocker) {
            // What the walkthrough's clean-up removes, removed again in case it did not get there.
            spawnSync("docker", ["rm", "--force", "finsight-try"], { stdio: "ignore" });
            spawnSync(
              "docker",
              [
                "image",
                "rm",
                "--force",
                "localhost:5000/finsight-backend:v1.4.0",
                "localhost:5000/finsight-offline-base",
              ],
              { stdio: "ignore" },
            );
          }
        }
      };
      await (needsPort5000 ? withPort5000(run) : run());
    });
  }

  it("the walkthrough's output checks name a section that runs", () => {
    const keys = runnableSections().map((section) => section.key);
    for (const key of Object.keys(EXPECTED_OUTPUT)) assert.ok(keys.includes(key), `${key} is a runnable section`);
  });
});
