/**
 * The doctor's lines about the stack file and the application checkout: the settings parse, no
 * `acme` is left, and the checkout at finsight:context is there, a git checkout, clean, with its
 * Dockerfile. Broken stack files are written by the test into a project of its own (the shipped
 * files are read where they are, never copied).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { runDoctor } from "../../src/doctor/run";
import { checkCheckout, checkPlaceholders, checkSettings } from "../../src/doctor/stack-files";
import { doctorContext } from "../support/doctor";
import { settingsOf } from "../support/plan-fixtures";
import { makeContext, PROJECT_DIR } from "../support/program";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "finsight-doctor-project-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A project of its own: the real Pulumi.yaml beside one stack file written here. */
function projectWith(stack: string, stackFile: string): string {
  const dir = fs.mkdtempSync(path.join(scratch, "p-"));
  fs.symlinkSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stackFile);
  return dir;
}

describe("doctor: stack settings and placeholders", () => {
  it("the shipped prod stack parses", () => {
    const context = doctorContext({ path: "/nonexistent", stack: "prod" });
    const result = checkSettings(context);
    assert.equal(result.status, "pass");
    assert.equal(result.detail, "Pulumi.prod.yaml is valid (variant full, ghcr.io/acme/finsight-backend)");
    assert.equal(context.settings?.variant, "full");
  });

  it("every problem of a broken stack file on one line, naming the keys", () => {
    const dir = projectWith(
      "broken",
      "config:\n  finsight:variant: ful\n  finsight:registry: ghcr.io/finsight-test\n  finsight:verison: 1.4.0\n",
    );
    const context = doctorContext({ path: "/nonexistent", stack: "broken", projectDir: dir });
    const result = checkSettings(context);
    assert.equal(result.status, "fail");
    assert.match(result.detail, /finsight:verison is not a known setting.*did you mean finsight:version\?/);
    assert.match(result.detail, / \| finsight:variant must be "demo" or "full", got "ful"/);
    assert.match(result.fix ?? "", /^edit Pulumi\.broken\.yaml /);
    assert.equal(context.settings, undefined);
  });

  it("the shipped prod and demo stacks still name acme: each key that does is listed", () => {
    for (const stack of ["prod", "demo"]) {
      const result = checkPlaceholders(doctorContext({ path: "/nonexistent", stack }));
      assert.equal(result.status, "fail");
      assert.equal(
        result.detail,
        `Pulumi.${stack}.yaml still names the example organisation acme in finsight:github, finsight:registry, finsight:sourceUrl`,
      );
    }
  });

  it("a stack file with the organisation replaced passes; so does the local stack", () => {
    const dir = projectWith(
      "ours",
      "config:\n  finsight:variant: demo\n  finsight:registry: ghcr.io/finsight-test\n  finsight:sourceUrl: https://github.com/finsight-test/finsight\n",
    );
    assert.equal(
      checkPlaceholders(doctorContext({ path: "/nonexistent", stack: "ours", projectDir: dir })).status,
      "pass",
    );
    assert.equal(checkPlaceholders(doctorContext({ path: "/nonexistent", stack: "local" })).status, "pass");
  });

  it("a stack file that is not YAML, or not a mapping: the settings line says so, naming the file and line", async () => {
    const cases: [string, RegExp][] = [
      ["config: [\n", /^Pulumi\.bad\.yaml is not valid YAML: .*at line \d+, column \d+$/],
      [
        "config:\n  finsight:push: true\n  finsight:push: false\n",
        /^Pulumi\.bad\.yaml is not valid YAML: Map keys must be unique/,
      ],
      ["just a string\n", /^Pulumi\.bad\.yaml must be a mapping with a config: section, got a string$/],
      ["config: [1, 2]\n", /^Pulumi\.bad\.yaml: config: must map keys to values, got a list$/],
    ];
    for (const [text, expected] of cases) {
      const dir = projectWith("bad", text);
      const report = await runDoctor(doctorContext({ path: "/nonexistent", stack: "bad", projectDir: dir }));
      const settings = report.checks.find((check) => check.id === "settings");
      assert.equal(settings?.status, "fail", text);
      assert.match(settings?.detail ?? "", expected);
      assert.doesNotMatch(settings?.detail ?? "", /\n/);
      const placeholders = report.checks.find((check) => check.id === "placeholders");
      assert.equal(placeholders?.detail, "not checked: Pulumi.bad.yaml does not parse (above)", text);
    }
  });

  it("acme inside another word is not the placeholder", () => {
    const dir = projectWith("ours", "config:\n  finsight:variant: demo\n  finsight:registry: ghcr.io/acmeworks\n");
    assert.equal(
      checkPlaceholders(doctorContext({ path: "/nonexistent", stack: "ours", projectDir: dir })).status,
      "pass",
    );
  });
});

describe("doctor: the application checkout", () => {
  const checkoutOf = (context: string, dockerfile?: string) =>
    checkCheckout({
      ...doctorContext({ path: "/nonexistent", stack: "demo" }),
      settings: settingsOf("demo", {
        "finsight:context": context,
        ...(dockerfile ? { "finsight:dockerfile": dockerfile } : {}),
      }),
    });

  it("a clean checkout with its Dockerfile passes, naming the commit", () => {
    const dir = makeContext();
    const result = checkoutOf(dir);
    assert.equal(result.status, "pass", result.detail);
    assert.match(result.detail, /at [0-9a-f]{12}, clean, Dockerfile\.backend present$/);
  });

  it("a rollback (finsight:pin) builds nothing: no checkout is needed, and none is asked for", () => {
    const result = checkCheckout({
      ...doctorContext({ path: "/nonexistent", stack: "prod" }),
      settings: settingsOf("prod", { "finsight:context": path.join(scratch, "nowhere"), "finsight:pin": "1.3.2" }),
    });
    assert.equal(result.status, "skip", result.detail);
    assert.equal(
      result.detail,
      "finsight:pin is 1.3.2: a rollback builds nothing, so it needs no application checkout",
    );
  });

  it("missing: the clone command from finsight:sourceUrl", () => {
    const result = checkoutOf(path.join(scratch, "nowhere"));
    assert.equal(result.status, "fail");
    assert.match(result.detail, /nowhere\/ \(finsight:context\) does not exist$/);
    assert.equal(result.fix, `git clone https://github.com/acme/finsight ${path.join(scratch, "nowhere")}`);
  });

  it("not a git checkout: refused, since a release must name its commit", () => {
    const dir = fs.mkdtempSync(path.join(scratch, "plain-"));
    fs.writeFileSync(path.join(dir, "Dockerfile.backend"), "FROM scratch\n");
    const result = checkoutOf(dir);
    assert.equal(result.status, "fail");
    assert.match(result.detail, /is not a git checkout/);
  });

  it("no Dockerfile at finsight:dockerfile", () => {
    const result = checkoutOf(makeContext(), "docker/Dockerfile.backend");
    assert.equal(result.status, "fail");
    assert.match(result.detail, /has no docker\/Dockerfile\.backend \(finsight:dockerfile\)$/);
  });

  it("uncommitted files the build would include: counted, named, and how to put them away", () => {
    const dir = makeContext({ "Dockerfile.backend": "FROM scratch\n", ".dockerignore": "notes/\n" });
    fs.writeFileSync(path.join(dir, "Dockerfile.backend"), "FROM busybox\n");
    fs.writeFileSync(path.join(dir, "new.txt"), "x\n");
    fs.mkdirSync(path.join(dir, "notes"));
    fs.writeFileSync(path.join(dir, "notes", "ignored.txt"), "the build never sees this\n");
    const result = checkoutOf(dir);
    assert.equal(result.status, "fail");
    assert.match(
      result.detail,
      /has 2 uncommitted file\(s\) the build would include \(Dockerfile\.backend, new\.txt\)/,
    );
    assert.equal(result.fix, `git -C ${dir} stash --include-untracked   (or commit them)`);
  });
});
