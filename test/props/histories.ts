/**
 * The property: every promise of src/plan/promises.ts holds after every step of any history of
 * releases, candidates, promotions (with the right or a wrong digest), pins, unpins, re-runs of older
 * versions, unrelated commits, failed or interrupted writes, tags moved by someone else and half-built
 * indexes. fast-check generates the histories and, when one breaks a promise, shrinks it to the
 * shortest it can find and prints it with the seed that replays it.
 */
import fc from "fast-check";
import { RegistryModel } from "../support/registry-model";
import {
  BrokenPromise,
  describe,
  type Fault,
  FOREIGN_TAGS,
  modelBackend,
  type Operation,
  type RegistryBackend,
  ReleaseWorld,
  STABLE_VERSIONS,
  STACK_TEMPLATES,
  VERSIONS,
} from "./release-world";

/** A version for a release: mostly the next one up, sometimes one of a fixed list (older, a prerelease, a collision). */
const version = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("next-patch", "next-minor", "next-minor", "next-major") },
  { weight: 2, arbitrary: fc.constantFrom(...VERSIONS) },
);
/** A version already in the registry (resolved when the step runs), sometimes any version. */
const released = fc.oneof(
  { weight: 4, arbitrary: fc.nat({ max: 9 }).map((k) => `released:${k}`) },
  { weight: 1, arbitrary: fc.constantFrom(...VERSIONS) },
);
const stable = fc.oneof(
  { weight: 4, arbitrary: fc.nat({ max: 9 }).map((k) => `released:${k}`) },
  { weight: 1, arbitrary: fc.constantFrom(...STABLE_VERSIONS) },
);
/** Mostly templates that work, sometimes hostile ones: those must be refused before anything is written. */
const templatesOf = (stack: { good: number[]; hostile: number[] }) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...stack.good) },
    { weight: 1, arbitrary: fc.constantFrom(...stack.hostile) },
  );
const platforms = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) });
const floatingTag = fc.constantFrom(...FOREIGN_TAGS);

const fault: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({
    kind: fc.constant("put-fails" as const),
    tag: floatingTag,
    applied: fc.boolean(),
    status: fc.constantFrom(429 as const, 500 as const, 503 as const),
  }),
  fc.record({ kind: fc.constant("killed" as const), afterWrites: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant("moved-during-run" as const), tag: floatingTag }),
);

/** A run that builds (a one-run release, or a candidate): a version, templates, platforms, and which content. */
const build = (kind: "release" | "candidate", templates: fc.Arbitrary<number>) =>
  fc.record({
    kind: fc.constant(kind),
    version,
    templates,
    platforms,
    content: fc.constantFrom("same" as const, "same" as const, "new" as const, "this-commit" as const),
  });

const operationOf = (templates: fc.Arbitrary<number>): fc.Arbitrary<Operation> =>
  fc.oneof(
    { weight: 6, arbitrary: build("release", templates) },
    { weight: 3, arbitrary: build("candidate", templates) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("promote" as const),
        version: released,
        digest: fc.constantFrom("right" as const, "right" as const, "wrong" as const),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("pin" as const), version: stable }) },
    { weight: 2, arbitrary: fc.constant({ kind: "unpin" as const }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("rerun" as const), version: released }) },
    { weight: 1, arbitrary: fc.constant({ kind: "commit" as const }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("fault" as const), fault }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("move" as const),
        tag: floatingTag,
        to: fc.oneof(stable, fc.constant("foreign"), fc.constant("gone")),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("half-index" as const), version: stable }) },
  );

/** A prod stack's history or a demo stack's: one version template throughout, as a real stack has. */
const historyOf = (stack: { good: number[]; hostile: number[] }) =>
  fc
    .array(operationOf(templatesOf(stack)), { minLength: 1, maxLength: 14 })
    .map((operations) => ({ templates: stack.good[0], operations }));
const history = fc.oneof(
  { weight: 3, arbitrary: historyOf(STACK_TEMPLATES.prod) },
  { weight: 1, arbitrary: historyOf(STACK_TEMPLATES.demo) },
);

export interface HistoryRun {
  /** How the runs ended (ok per phase, refused, failed) and how often the oracle's comparisons ran. */
  tally: Record<string, number>;
  histories: number;
  runs: number;
  steps: number;
  seconds: number;
  seed: number;
}

/**
 * Runs `runs` generated histories, each on a fresh registry from `backend`. Throws fast-check's report
 * (seed, path, the shrunk history step by step) when a promise breaks.
 */
export async function checkHistories(options: {
  runs: number;
  seed: number;
  /** fast-check's replay path of a failure: with the seed, runs that one history (shrunk as printed). */
  path?: string;
  /** Tally each refusal and failure by its message, to see what the histories spend their runs on. */
  reasons?: boolean;
  /** A fresh registry per history; the in-memory model when not given (a faulted step is then also compared with a clean replay). */
  backend?: () => Promise<{ backend: RegistryBackend; done(): Promise<void> }>;
}): Promise<HistoryRun> {
  const started = performance.now();
  let runs = 0;
  let steps = 0;
  let histories = 0;
  const tally: Record<string, number> = {};
  const fresh = options.backend ?? (async () => ({ backend: modelBackend(new RegistryModel()), done: async () => {} }));
  await fc.assert(
    fc.asyncProperty(history, async ({ templates, operations }) => {
      histories++;
      const { backend, done } = await fresh();
      const world = new ReleaseWorld(backend, {
        compareWithCleanReplay: backend.clone !== undefined,
        templates,
        reasons: options.reasons === true,
      });
      try {
        for (const step of operations) {
          steps++;
          await world.apply(step);
        }
      } catch (error) {
        if (error instanceof BrokenPromise) {
          throw new BrokenPromise(`${error.message}\n  history as it ran:\n    ${world.log.join("\n    ")}`);
        }
        throw new Error(`${(error as Error).stack}\n  history as it ran:\n    ${world.log.join("\n    ")}`);
      } finally {
        runs += world.runs;
        for (const [what, n] of Object.entries(world.tally)) tally[what] = (tally[what] ?? 0) + n;
        await done();
      }
    }),
    {
      numRuns: options.runs,
      seed: options.seed,
      ...(options.path ? { path: options.path } : {}),
      // The shrunk history, one operation a line, is what a failure report leads with.
      reporter: (details) => {
        if (!details.failed) return;
        const shrunk = (details.counterexample?.[0] as { operations: Operation[] } | undefined)?.operations ?? [];
        throw new Error(
          [
            `A generated history broke a promise (seed ${details.seed}, path ${details.counterexamplePath}; replay with npm run test:props -- --seed ${details.seed} --path ${details.counterexamplePath}).`,
            "Shrunk history:",
            ...shrunk.map((step, i) => `  ${i + 1}. ${describe(step)}`),
            `${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`,
          ].join("\n"),
        );
      },
    },
  );
  return { tally, histories, runs, steps, seconds: (performance.now() - started) / 1000, seed: options.seed };
}
