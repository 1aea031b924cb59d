/**
 * `npm run test:props -- --runs 100000 [--seed N [--path P]]`: more generated histories than npm test
 * runs, on the in-memory registry, with the seed printed (and a failing history printed shrunk).
 */
import { parseArgs } from "node:util";
import { checkHistories } from "./histories";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10000" },
    seed: { type: "string" },
    path: { type: "string" },
    reasons: { type: "boolean" },
  },
});
const runs = Number(values.runs);
const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31;
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) {
  console.error(
    `--runs must be a positive whole number and --seed a whole number, got ${values.runs} and ${values.seed}`,
  );
  process.exit(2);
}
console.log(`seed ${seed}, ${runs} histories`);
checkHistories({ runs, seed, reasons: values.reasons === true, ...(values.path ? { path: values.path } : {}) }).then(
  (run) => {
    console.log(
      `${run.histories} histories, ${run.steps} steps, ${run.runs} pulumi up runs in ${run.seconds.toFixed(1)} s (seed ${seed}): every promise held`,
    );
    for (const [what, n] of Object.entries(run.tally).sort()) console.log(`  ${what}: ${n}`);
  },
  (error: Error) => {
    console.error(error.message);
    process.exit(1);
  },
);
