/**
 * The printed plan never contradicts itself, and says what will happen: one test per contradiction a
 * reader met (a rollback header naming tags it does not move, "not known" beside a registry that was
 * read, "build and push" above "nothing is built", a builder called "default"), and `--json` carries
 * the facts the table shows. Plans come from the pure planner with literal inputs.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { formatPlan, planJson } from "../../src/cli/plan";
import type { PlanInputs } from "../../src/model/plan-inputs";
import { planImageInputs } from "../../src/plan/image-inputs";
import { releaseTargets } from "../../src/plan/targets";
import { digest, plan, planInputs, REPOSITORY, readView } from "../support/plan-fixtures";

const V130 = digest("0a");
const V140 = digest("1b");
const q = (tag: string) => `${REPOSITORY}:${tag}`;
const ownLabels = (inputs: PlanInputs) =>
  planImageInputs(inputs.settings, releaseTargets(inputs).version, inputs.source).labels;
const row = (table: string, name: string) =>
  table
    .split("\n")
    .find((line) => line.startsWith(`${name} `))
    ?.slice(name.length)
    .trim();

describe("the printed plan never contradicts itself", () => {
  const pinned = (options: Parameters<typeof planInputs>[0] = {}) =>
    plan(
      planInputs({ github: true, ...options, config: { "finsight:pin": "1.3.0", ...options.config } }),
      readView({ "v1.3.0": V130, "v1.4.0": V140, "v1.3": V130, v1: V140, latest: V140 }),
    );

  it("a rollback's header lists the floating tags it moves (the pinned release's), never the checkout's", () => {
    const table = formatPlan(pinned());
    assert.equal(row(table, "floating tags"), "v1.3, v1, latest");
    for (const moved of table.matchAll(/^tag (\S+)/gm))
      assert.match(row(table, "floating tags") ?? "", new RegExp(`\\b${moved[1]}\\b`));
    assert.doesNotMatch(table, /v1\.4\b(?!\.)/, "v1.4 is the checkout's minor line: the rollback does not touch it");
  });

  it("a rollback whose registry was read has no candidate, never one that is 'not known'", () => {
    const table = formatPlan(pinned());
    assert.match(row(table, "registry") ?? "", /^read /);
    assert.equal(row(table, "candidate"), "none: a rollback builds nothing");
    assert.doesNotMatch(table, /not known/);
  });

  it("a candidate already in the registry: the phase says nothing is built, as the notes do", () => {
    const inputs = planInputs({ env: { FINSIGHT_PHASE: "candidate" } });
    const table = formatPlan(plan(inputs, readView({ "v1.4.0": V140 }, { releaseLabels: ownLabels(inputs) })));
    assert.match(
      row(table, "phase") ?? "",
      /^candidate: the candidate is already in the registry, so nothing is built or pushed/,
    );
    assert.doesNotMatch(table, /build and push the exact tags/);
    assert.doesNotMatch(table, /^image /m);
  });

  it("a candidate that is built says so", () => {
    const table = formatPlan(plan(planInputs({ env: { FINSIGHT_PHASE: "candidate" } }), readView({})));
    assert.match(row(table, "phase") ?? "", /^candidate: build and push the exact tags only/);
    assert.equal(row(table, "candidate"), `${q("v1.4.0")} (built by this run)`);
  });

  it("no finsight:builder: the active buildx builder, never a 'default' that reads like the legacy driver", () => {
    const table = formatPlan(plan(planInputs(), readView({})));
    assert.match(
      row(table, "  builder") ?? "",
      /^the active buildx builder \(docker buildx use; docker-container driver\)$/,
    );
    assert.doesNotMatch(table, /builder\s+default$/m);
  });

  it("--json carries FINSIGHT_BACKEND_IMAGE with the value the table shows", () => {
    const planned = pinned();
    const json = JSON.parse(planJson(planned));
    assert.equal(json.github.variables.FINSIGHT_BACKEND_IMAGE, `${q("v1.3.0")}@${V130}`);
    assert.match(
      formatPlan(planned),
      new RegExp(`FINSIGHT_BACKEND_IMAGE=${q("v1.3.0").replace(/\./g, "\\.")}@${V130}`),
    );
  });
});

describe("a rollback gives the same result from a laptop and from CI", () => {
  const view = () => readView({ "v1.3.0": V130, "v1.4.0": V140, "v1.3": V130, v1: V140, latest: V140 });
  const rollback = (options: NonNullable<Parameters<typeof planInputs>[0]>) =>
    plan(planInputs({ github: true, ...options, config: { "finsight:pin": "1.3.0", ...options.config } }), view());
  const facts = (planned: ReturnType<typeof plan>) => ({
    stackVersion: planned.stackVersion,
    rollForwardVersion: planned.rollForwardVersion,
    served: planned.served,
    candidate: planned.candidate,
    floating: planned.floatingTags.map((tag) => [tag.tag, tag.target]),
    variables: planned.github?.variables,
  });

  it("the CI checkout of the release, a laptop without a checkout, and RELEASE_VERSION of another release agree", () => {
    const ci = facts(rollback({ config: { "finsight:version": "1.4.0" } }));
    const laptop = facts(
      rollback({
        config: { "finsight:version": undefined },
        source: { contextExists: false, revision: undefined, tree: undefined },
      }),
    );
    const otherVersion = facts(
      rollback({ config: { "finsight:version": undefined }, env: { RELEASE_VERSION: "1.3.0" } }),
    );
    assert.deepEqual(laptop, ci);
    assert.deepEqual(otherVersion, ci);
    assert.equal(ci.stackVersion, "1.4.0", "the stack stands on the release a roll forward returns to");
    assert.equal(ci.rollForwardVersion, "1.4.0");
  });

  it("the roll forward returns to the promoted release, never to a candidate that failed its checks", () => {
    // 1.5.0 was pushed as a candidate and failed: no floating tag holds it. 1.4.0 is still under v1.4.
    const V150 = digest("3c");
    const planned = plan(
      planInputs({ config: { "finsight:pin": "1.3.0" } }),
      readView({ "v1.3.0": V130, "v1.4.0": V140, "v1.5.0": V150, "v1.3": V130, "v1.4": V140, v1: V130, latest: V130 }),
    );
    assert.equal(planned.rollForwardVersion, "1.4.0");
    assert.equal(planned.stackVersion, "1.4.0");
  });

  it("a roll forward to a release tag that exists needs no application checkout: nothing is built", () => {
    // The registry's v1.4.0 was built elsewhere; here there is no checkout to compare it with, and none is needed.
    const planned = plan(
      planInputs({ source: { contextExists: false, revision: undefined, tree: undefined, commitEpoch: undefined } }),
      readView(
        { "v1.3.0": V130, "v1.4.0": V140, "v1.3": V130, v1: V130, latest: V130 },
        { releaseLabels: { "org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567" } },
      ),
    );
    assert.deepEqual([planned.phase, planned.builds, planned.pushedTags], ["promote", [], []]);
    assert.deepEqual(planned.served, { kind: "image", ref: `${q("v1.4.0")}@${V140}`, version: "1.4.0" });
    assert.ok(
      planned.notes.some((note) =>
        note.startsWith('no application checkout at finsight:context "finsight": v1.4.0 is in the registry'),
      ),
    );
  });

  it("with a checkout, a released tag built from other inputs is still refused", () => {
    assert.throws(
      () =>
        plan(
          planInputs(),
          readView(
            { "v1.4.0": V140 },
            { releaseLabels: { "org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567" } },
          ),
        ),
      /is already released, not built by this stack .* a released version tag is never overwritten/,
    );
  });
});

describe("npm run plan's command line", () => {
  it("an unknown option gets the closest known one", () => {
    const root = path.resolve(__dirname, "../..");
    const result = spawnSync(
      path.join(root, "node_modules/.bin/tsx"),
      ["src/cli/plan.ts", "--stack", "prod", "--verison", "1.4.0"],
      {
        cwd: root,
        encoding: "utf8",
      },
    );
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^error: unknown option --verison: did you mean --version\?$/m);
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  });
});
