/**
 * A registry (or a proxy in front of it) that echoes the credentials it was sent, in every form and
 * at every place a message might be cut: nothing of them reaches an error, a view's reason, the
 * plan CLI's text, --json or error line, or the program's diagnostics, error and outputs. Every
 * output is scanned by the leak scanner (test/support/leak-scanner.ts) for every form of the password,
 * the basic pair and the bearer tokens the registry issued.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { RegistryClient, RegistryError } from "../../src/registry/client";
import { readRegistryView } from "../../src/registry/view";
import { runPlanCli } from "../support/cli";
import { faultProxyForSuite } from "../support/fault-proxy";
import { assertNoLeaks, type KnownSecret } from "../support/leak-scanner";
import { defaultContext, printedError, runProgram } from "../support/program";
import { pushImage, REGISTRY_PASSWORD, REGISTRY_USER, registryForSuite, writeDockerLogin } from "../support/registry";

const credentials = { username: REGISTRY_USER, password: REGISTRY_PASSWORD };
/** What `promise` failed with, or undefined when it did not fail. */
const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
const known: KnownSecret[] = [REGISTRY_PASSWORD, { whole: `${REGISTRY_USER}:${REGISTRY_PASSWORD}` }];
const ENV = {
  RELEASE_VERSION: "1.4.0",
  GITHUB_SHA: "4f2a9c0e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
  SOURCE_DATE_EPOCH: "1795168800",
};

describe("secrets stay out of every output, whatever the registry echoes (docker-registry behind a fault proxy)", () => {
  const registry = registryForSuite();
  const proxy = faultProxyForSuite(() => registry.host);
  const repository = "secrets/finsight-backend";
  /** Every output of the suite, scanned once more at its end. */
  const everything: Record<string, string> = {};
  const client = () => new RegistryClient({ host: proxy.host, repository, credentials });
  after(() => assertNoLeaks(everything, known));

  it("a 403 quoting the credentials in every form, the password at or across the cut of the body", async () => {
    const outputs: Record<string, string> = {};
    await pushImage(registry.host, repository, "v1.0.0");
    for (const offset of [0, 250, 280, 290, 295, 299, 300, 305]) {
      proxy.fault = { mode: "echo-secrets-403", offset };
      const error = await failureOf(client().listTags());
      assert.ok(error instanceof RegistryError, String(error));
      assert.equal(error.status, 403);
      assert.doesNotMatch(error.message, /\n/);
      outputs[`listTags, password at ${offset}`] = error.message;
      const view = await readRegistryView(
        { host: proxy.host, repository, credentials },
        { releaseTag: "v1.0.0", digestsOf: ["latest"] },
      );
      assert.equal(view.status, "unavailable");
      if (view.status === "unavailable") outputs[`view, password at ${offset}`] = view.reason;
    }
    Object.assign(everything, outputs);
    assertNoLeaks(outputs, known);
  });

  it("a malformed tag list quoting the password, across the cut of what a message quotes of it", async () => {
    const outputs: Record<string, string> = {};
    for (let offset = 60; offset <= 130; offset += 5) {
      proxy.fault = { mode: "tags-echo-secrets", offset };
      const error = await failureOf(client().listTags());
      assert.ok(error instanceof RegistryError, String(error));
      assert.match(error.message, /not a list of tags/);
      outputs[`tag list quoting the password at ${offset}`] = error.message;
    }
    Object.assign(everything, outputs);
    assertNoLeaks(outputs, known);
  });

  it("npm run plan --registry: its text, --json and error line", async () => {
    const outputs: Record<string, string> = {};
    const dockerConfig = writeDockerLogin(fs.mkdtempSync(path.join(os.tmpdir(), "finsight-login-")), proxy.host);
    try {
      for (const offset of [0, 295]) {
        proxy.fault = { mode: "echo-secrets-403", offset };
        for (const json of [false, true]) {
          const run = await runPlanCli(
            [
              ...["--stack", "prod", "--registry", ...(json ? ["--json"] : [])],
              ...[
                "--config",
                `finsight:registry=${proxy.host}/secrets`,
                "--config",
                `finsight:context=${defaultContext()}`,
              ],
            ],
            { env: { ...ENV, DOCKER_CONFIG: dockerConfig } },
          );
          assert.equal(run.code, 1, run.stderr);
          assert.match(run.stderr, /error: the registry could not be read: .*HTTP 403/);
          outputs[`plan${json ? " --json" : ""} stdout at ${offset}`] = run.stdout;
          outputs[`plan${json ? " --json" : ""} stderr at ${offset}`] = run.stderr;
        }
      }
    } finally {
      fs.rmSync(dockerConfig, { recursive: true, force: true });
    }
    Object.assign(everything, outputs);
    assertNoLeaks(outputs, known);
  });

  it("the program: its warnings and notes in a preview, its error in an update, its outputs", async () => {
    const outputs: Record<string, string> = {};
    for (const [offset, preview] of [
      [0, true],
      [290, true],
      [0, false],
      [295, false],
    ] as const) {
      proxy.fault = { mode: "echo-secrets-403", offset };
      const run = await runProgram({
        stack: "prod",
        env: ENV,
        preview,
        offline: true,
        config: { "finsight:registry": `${proxy.host}/secrets`, "finsight:registryUsername": REGISTRY_USER },
        secrets: { "finsight:registryPassword": REGISTRY_PASSWORD },
      });
      const name = `${preview ? "preview" : "up"}, password at ${offset}`;
      if (preview) {
        assert.equal(run.error, undefined);
        assert.match(run.warnings.join("\n"), /the registry could not be read .*HTTP 403/);
      } else {
        assert.ok(run.error);
        assert.match(run.error.message, /HTTP 403/);
        outputs[`${name} error`] = printedError(run.error);
      }
      outputs[`${name} warnings`] = run.warnings.join("\n");
      outputs[`${name} notes`] = run.infos.join("\n");
      outputs[`${name} outputs`] = JSON.stringify(run.outputs);
    }
    Object.assign(everything, outputs);
    assertNoLeaks(outputs, known);
  });
});

describe("the bearer tokens a token registry issues stay out of every message", () => {
  const registry = registryForSuite({ auth: "token" });
  const proxy = faultProxyForSuite(() => registry.host);

  it("a 403 quoting the bearer token it was sent, in every form", async () => {
    const outputs: Record<string, string> = {};
    for (const offset of [0, 290, 296]) {
      proxy.reset();
      const reader = new RegistryClient({ host: proxy.host, repository: "acme/tokens", credentials });
      assert.deepEqual(await reader.listTags(), []);
      proxy.fault = { mode: "echo-secrets-403", offset };
      const error = await failureOf(reader.listTags());
      assert.ok(error instanceof RegistryError, String(error));
      assert.equal(error.status, 403);
      outputs[`token echoed at ${offset}`] = error.message;
      const tokens = proxy.seen
        .map((seen) => seen.authorization)
        .filter((authorization) => authorization?.startsWith("Bearer "))
        .map((authorization) => (authorization as string).slice("Bearer ".length));
      assert.ok(tokens.length > 0, "the registry issued a token and the client used it");
      assertNoLeaks(outputs, [...known, ...new Set(tokens)]);
    }
  });
});
