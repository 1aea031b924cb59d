/**
 * npm test's share of the generated histories: 2,000 of them on the in-memory registry, with a seed
 * printed for replay (FINSIGHT_PROPS_SEED=<seed> to run the same histories again).
 * `npm run test:props -- --runs 100000` runs more; test/props/real-registry.test.ts runs a sample
 * against a real docker-registry.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { checkHistories } from "./histories";

const seed = Number(process.env.FINSIGHT_PROPS_SEED ?? Date.now() % 2 ** 31);

it("every promise holds after every step of 2,000 generated release histories", async (t) => {
  t.diagnostic(`seed ${seed} (replay: FINSIGHT_PROPS_SEED=${seed})`);
  const run = await checkHistories({ runs: 2000, seed });
  t.diagnostic(
    `${run.histories} histories, ${run.steps} steps, ${run.runs} pulumi up runs in ${run.seconds.toFixed(1)} s (seed ${seed})`,
  );
  assert.ok(run.histories >= 2000);
});
