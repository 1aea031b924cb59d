/**
 * A sample of the generated histories over real HTTP: against Debian's docker-registry (distribution
 * 2.8, basic auth), and against the in-memory model served on loopback, so that the client's sockets,
 * the registry's own manifest checks and its answers are in the loop too. A real registry cannot be
 * copied, so there a faulted step is followed by the next `pulumi up` and judged by the promises alone,
 * without the comparison with a clean replay that the in-memory histories make.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { REGISTRY_CREDENTIALS, startRegistry, type TestRegistry } from "../support/registry";
import { RegistryModel } from "../support/registry-model";
import { checkHistories } from "./histories";
import { httpBackend } from "./http-backend";

const seed = Number(process.env.FINSIGHT_PROPS_SEED ?? Date.now() % 2 ** 31);
let histories = 0;

describe("generated release histories over real HTTP", () => {
  let registry: TestRegistry | undefined;
  before(async () => {
    registry = await startRegistry();
  });
  after(async () => registry?.stop());

  it("every promise holds on a real docker-registry (a repository of its own per history)", async (t) => {
    t.diagnostic(`seed ${seed} (replay: FINSIGHT_PROPS_SEED=${seed})`);
    const run = await checkHistories({
      runs: 12,
      seed,
      backend: async () => {
        const host = (registry as TestRegistry).host;
        const repository = `acme/finsight-backend-${histories++}`;
        return { backend: httpBackend(host, repository, REGISTRY_CREDENTIALS), done: async () => {} };
      },
    });
    t.diagnostic(`${run.histories} histories, ${run.runs} pulumi up runs in ${run.seconds.toFixed(1)} s`);
    assert.ok(run.runs > 0);
  });

  it("every promise holds on the in-memory model served over loopback HTTP", async (t) => {
    t.diagnostic(`seed ${seed} (replay: FINSIGHT_PROPS_SEED=${seed})`);
    const run = await checkHistories({
      runs: 30,
      seed,
      backend: async () => {
        const model = new RegistryModel();
        const served = await model.serve();
        return { backend: httpBackend(served.host, "acme/finsight-backend"), done: () => served.close() };
      },
    });
    t.diagnostic(`${run.histories} histories, ${run.runs} pulumi up runs in ${run.seconds.toFixed(1)} s`);
    assert.ok(run.runs > 0);
  });
});
