/**
 * Promise 7, as the program declares it: FINSIGHT_BACKEND_IMAGE (the served release) is written only
 * after every floating tag has moved. A promotion or rollback interrupted by a failed tag write (a 429,
 * a 5xx, a killed process) then never leaves the environment serving a release the tags do not name:
 * the engine skips whatever depends on a failed resource, and the next `pulumi up` completes both.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FLOATING_TAG_TYPE, floatingTagsOf, namespacedRegistry, runProgram } from "../support/program";

const ENV = { GITHUB_REF_TYPE: "tag", GITHUB_REF_NAME: "v1.4.0" };

describe("the served image follows the floating tags", () => {
  it("a rollback: FINSIGHT_BACKEND_IMAGE waits for latest, v1 and v1.3", async () => {
    const registry = await namespacedRegistry("served-after-tags");
    await registry.seed("v1.3.2");
    await registry.seed("v1.4.0");
    const run = await runProgram({
      stack: "prod",
      env: ENV,
      config: { ...registry.config, "finsight:pin": "1.3.2" },
    });
    assert.equal(run.error, undefined);
    const tags = run.registered.filter((r) => r.type === FLOATING_TAG_TYPE);
    assert.deepEqual(Object.keys(floatingTagsOf(run)).sort(), ["latest", "v1", "v1.3"]);
    const variable = run.registered.find(
      (r) =>
        r.type === "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable" &&
        r.inputs.variableName === "FINSIGHT_BACKEND_IMAGE",
    );
    assert.ok(variable, "the environment variable is declared");
    const waitsFor = variable.propertyDependencies.value ?? [];
    for (const tag of tags) {
      assert.ok(
        waitsFor.some((urn) => urn.endsWith(`::${tag.name}`)),
        `FINSIGHT_BACKEND_IMAGE must wait for ${tag.name}; it waits for ${JSON.stringify(waitsFor)}`,
      );
    }
  });
});
