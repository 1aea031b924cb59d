import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { CONFIG_KEYS, OBJECT_CONFIG_KEYS, SECRET_CONFIG_KEYS } from "../../src/inputs/settings";
import { PROJECT_DIR } from "../support/program";

const project = parse(readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8"));
const reference = readFileSync(path.join(PROJECT_DIR, "docs", "CONFIGURATION.md"), "utf8");

describe("Pulumi.yaml and docs/CONFIGURATION.md agree with the program", () => {
  it("declares every key the program reads, each with a type and a description", () => {
    const declarable = CONFIG_KEYS.filter((key) => !(OBJECT_CONFIG_KEYS as readonly string[]).includes(key));
    assert.deepEqual(Object.keys(project.config).sort(), [...declarable].sort());
    for (const [key, spec] of Object.entries(
      project.config as Record<string, { type?: string; description?: string }>,
    )) {
      assert.ok(["string", "integer", "boolean", "array"].includes(String(spec.type)), `${key} has a type`);
      assert.ok(spec.description && spec.description.length > 10, `${key} has a description`);
    }
  });

  it("documents every key in the configuration reference's table", () => {
    for (const key of [...CONFIG_KEYS, ...SECRET_CONFIG_KEYS]) {
      assert.match(
        reference,
        new RegExp(`^\\| \`finsight:${key}\` +\\|`, "m"),
        `docs/CONFIGURATION.md documents finsight:${key}`,
      );
    }
  });
});

/** Key names that hold credentials; their stack values must be `secure:` ciphertext. */
const SECRET_KEY = /(password|token|secret|private.?key|credential)/i;

describe("shipped stack files", () => {
  const stackFiles = readdirSync(PROJECT_DIR).filter((name) => /^Pulumi\.[^.]+\.yaml$/.test(name));

  it("ship a demo, a local and a prod stack", () => {
    assert.deepEqual(stackFiles.sort(), ["Pulumi.demo.yaml", "Pulumi.local.yaml", "Pulumi.prod.yaml"]);
  });

  for (const file of ["Pulumi.demo.yaml", "Pulumi.local.yaml", "Pulumi.prod.yaml"]) {
    it(`${file} stores no secret in plaintext`, () => {
      const config = (parse(readFileSync(path.join(PROJECT_DIR, file), "utf8")).config ?? {}) as Record<
        string,
        unknown
      >;
      const walk = (value: unknown, at: string): void => {
        if (value !== null && typeof value === "object" && !Array.isArray(value)) {
          if ("secure" in value) return;
          for (const [key, child] of Object.entries(value)) walk(child, `${at}.${key}`);
          return;
        }
        assert.ok(!SECRET_KEY.test(at), `${file}: ${at} holds a secret in plaintext; use pulumi config set --secret`);
      };
      for (const [key, value] of Object.entries(config)) walk(value, key);
      // Keys named by finsight:github.secrets hold secrets whatever they are called.
      const listed = Object.values(
        ((config["finsight:github"] ?? {}) as { secrets?: Record<string, string> }).secrets ?? {},
      );
      for (const key of listed) {
        const value = config[`finsight:${key}`];
        assert.ok(
          value === undefined || (typeof value === "object" && value !== null && "secure" in value),
          `${file}: finsight:${key} must be secure`,
        );
      }
    });
  }
});
