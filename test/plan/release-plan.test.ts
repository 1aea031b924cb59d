import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PlanInputs } from "../../src/model/plan-inputs";
import type { RegistryView } from "../../src/model/registry";
import { planImageInputs } from "../../src/plan/image-inputs";
import { BUILD_INPUTS_LABEL } from "../../src/plan/release-guards";
import type { ReleasePlan } from "../../src/plan/release-plan";
import { releaseTargets } from "../../src/plan/targets";
import {
  CLEAN_SOURCE,
  digest,
  floatingTargets,
  type InputsOptions,
  plan,
  planInputs,
  REPOSITORY,
  readView,
} from "../support/plan-fixtures";

const OLD = digest("0a"); // v1.3.0, where the floating tags point before this run
const CANDIDATE = digest("1b"); // v1.4.0 pushed by an earlier (candidate) run
const OTHER = digest("2c");
const q = (tag: string) => `${REPOSITORY}:${tag}`;

/** The labels this run would give v1.4.0: what an earlier run from the same source left on it. */
function ownLabels(inputs: PlanInputs): Record<string, string> {
  return planImageInputs(inputs.settings, releaseTargets(inputs).version, inputs.source).labels;
}

/** The registry after v1.3.0 was released and promoted. */
const promoted130 = { "v1.3.0": OLD, "v1.3": OLD, v1: OLD, latest: OLD };

describe("planRelease: which phase a run is, and what it builds, pushes and serves", () => {
  it("first release: builds once, pushes the exact tag, every floating tag follows the build", () => {
    const released = plan(planInputs({ github: true }), readView());
    assert.equal(released.phase, "release");
    assert.deepEqual(released.candidate, { source: "build", digestOf: { image: "finsight-backend-full" } });
    assert.equal(released.releaseTag, q("v1.4.0"));
    assert.deepEqual(released.pushedTags, [q("v1.4.0")]);
    assert.deepEqual(
      released.builds.map((build) => [build.name, build.tags]),
      [["finsight-backend-full", [q("v1.4.0")]]],
    );
    assert.deepEqual(released.indexes, []);
    assert.deepEqual(floatingTargets(released), { "v1.4": "release", v1: "release", latest: "release" });
    assert.deepEqual(released.served, { kind: "candidate" });
    assert.deepEqual(released.github?.kept, []);
    assert.equal(released.github?.variables.FINSIGHT_VERSION, "1.4.0");
    assert.deepEqual(released.warnings, []);
  });

  it("re-run of a released tag from the same source: nothing built, served and promoted by its registry digest", () => {
    const inputs = planInputs();
    const released = plan(
      inputs,
      readView({ ...promoted130, "v1.4.0": CANDIDATE }, { releaseLabels: ownLabels(inputs) }),
    );
    assert.equal(released.phase, "promote");
    assert.deepEqual(released.candidate, { source: "registry", digest: CANDIDATE });
    assert.deepEqual([released.builds, released.indexes, released.pushedTags], [[], [], []]);
    assert.deepEqual(floatingTargets(released), { "v1.4": CANDIDATE, v1: CANDIDATE, latest: CANDIDATE });
    assert.deepEqual(
      released.floatingTags.map((floating) => [floating.tag, floating.seen]),
      [
        ["v1.4", ""],
        ["v1", OLD],
        ["latest", OLD],
      ],
    );
    assert.deepEqual(released.served, { kind: "image", ref: `${q("v1.4.0")}@${CANDIDATE}`, version: "1.4.0" });
    assert.ok(
      released.notes.includes(
        "v1.4.0 is already in the registry from this source: served by its digest, nothing is built or pushed",
      ),
    );
  });

  it("a released tag built from other inputs is refused, naming the tag, its digest and the labels that differ", () => {
    const inputs = planInputs();
    const theirs = {
      ...ownLabels(inputs),
      [BUILD_INPUTS_LABEL]: digest("ee"),
      "org.opencontainers.image.revision": "fedcba9876543210fedcba9876543210fedcba98",
    };
    assert.throws(() => plan(inputs, readView({ "v1.4.0": CANDIDATE }, { releaseLabels: theirs })), {
      name: "ReleaseConfigError",
      message: new RegExp(
        `^finsight:version: ${q("v1.4.0")} \\(${CANDIDATE}\\) is already released, built from other inputs: ` +
          `org\\.opencontainers\\.image\\.revision fedcba9876543210fedcba9876543210fedcba98 there, ${CLEAN_SOURCE.revision} here, `,
      ),
    });
  });

  it("a release tag listed without readable labels is refused, not built again untagged", () =>
    assert.throws(() => plan(planInputs(), readView({ "v1.4.0": CANDIDATE })), {
      name: "ReleaseConfigError",
      message: new RegExp(
        `^finsight:version: ${q("v1.4.0")} is listed in the registry but its image labels could not be read`,
      ),
    }));

  describe("FINSIGHT_PHASE=candidate: a candidate pushes its exact tags and moves nothing users deploy", () => {
    const candidate = (view: Parameters<typeof plan>[1]) =>
      plan(planInputs({ github: true, env: { FINSIGHT_PHASE: "candidate" } }), view);

    it("builds, holds every existing floating tag at its digest, leaves missing ones unmanaged", () => {
      const latest = digest("3d");
      const planned = candidate(readView({ "v1.3.0": OLD, "v1.3": OLD, v1: OLD, latest }));
      assert.equal(planned.phase, "candidate");
      assert.deepEqual(planned.pushedTags, [q("v1.4.0")]);
      assert.equal(planned.builds.length, 1);
      // v1.4 does not exist yet, so the candidate run has nothing of it to hold.
      assert.deepEqual(floatingTargets(planned), { v1: OLD, latest });
      assert.deepEqual(planned.served, { kind: "unchanged", ref: `${q("latest")}@${latest}` });
      assert.deepEqual(planned.github?.kept, ["FINSIGHT_BACKEND_IMAGE", "FINSIGHT_VERSION"]);
      // Kept: this is only the value a missing variable is created with, and no recent release has latest's digest.
      assert.equal(planned.github?.variables.FINSIGHT_VERSION, "none promoted yet");
    });

    it("serves the widest line's floating tag that exists (v1 when there is no latest), named by its release", () => {
      const planned = candidate(readView({ "v1.3.0": OLD, "v1.3": digest("4e"), v1: OLD }));
      assert.deepEqual(planned.served, { kind: "unchanged", ref: `${q("v1.3.0")}@${OLD}`, version: "1.3.0" });
      assert.equal(planned.stackVersion, "1.3.0", "the stack stays on the promoted release, not the candidate");
    });

    it("a promoted digest no recent release has: served by the floating tag, and the stack names the candidate", () => {
      const planned = candidate(readView({ v1: OLD }));
      assert.deepEqual(planned.served, { kind: "unchanged", ref: `${q("v1")}@${OLD}` });
      assert.equal(planned.stackVersion, "1.4.0");
    });

    it("an empty registry: nothing served yet, no floating tag managed", () => {
      const planned = candidate(readView());
      assert.deepEqual([planned.served, planned.floatingTags], [{ kind: "unchanged" }, []]);
    });
  });

  describe("a promotion after a candidate run", () => {
    const promoting = (env: InputsOptions["env"], digests: Record<string, string>, labelled = true) => {
      const inputs = planInputs({ ...(env ? { env } : {}) });
      return plan(inputs, readView(digests, labelled ? { releaseLabels: ownLabels(inputs) } : {}));
    };

    it("promotes the candidate in the registry: no build", () => {
      const planned = promoting({}, { ...promoted130, "v1.4.0": CANDIDATE });
      assert.deepEqual([planned.phase, planned.builds.length], ["promote", 0]);
    });

    it("FINSIGHT_PROMOTE_DIGEST equal to the candidate's digest: promotes it", () => {
      const planned = promoting({ FINSIGHT_PROMOTE_DIGEST: CANDIDATE }, { ...promoted130, "v1.4.0": CANDIDATE });
      assert.equal(planned.phase, "promote");
      assert.deepEqual(floatingTargets(planned), { "v1.4": CANDIDATE, v1: CANDIDATE, latest: CANDIDATE });
    });

    const refused: {
      name: string;
      env: Record<string, string>;
      digests: Record<string, string>;
      message: RegExp;
    }[] = [
      {
        name: "the verified digest differs from the registry's",
        env: { FINSIGHT_PROMOTE_DIGEST: OTHER },
        digests: { "v1.4.0": CANDIDATE },
        message: new RegExp(
          `^FINSIGHT_PROMOTE_DIGEST must be the digest of ${q("v1.4.0")}, got ${OTHER}, but the registry has ${CANDIDATE}`,
        ),
      },
      {
        name: "the candidate is not in the registry",
        env: { FINSIGHT_PROMOTE_DIGEST: CANDIDATE },
        digests: promoted130,
        message: new RegExp(
          `^FINSIGHT_PROMOTE_DIGEST ${CANDIDATE}: the candidate ${q("v1.4.0")} is not in the registry, so there is nothing verified to promote`,
        ),
      },
      {
        name: "a verified digest in a candidate run",
        env: { FINSIGHT_PROMOTE_DIGEST: CANDIDATE, FINSIGHT_PHASE: "candidate" },
        digests: { "v1.4.0": CANDIDATE },
        message: new RegExp(
          `^FINSIGHT_PROMOTE_DIGEST must be unset when FINSIGHT_PHASE is "candidate", got ${CANDIDATE}`,
        ),
      },
    ];
    for (const c of refused) {
      it(`refuses: ${c.name}`, () =>
        assert.throws(() => promoting(c.env, c.digests, "v1.4.0" in c.digests), {
          name: "ReleaseConfigError",
          message: c.message,
        }));
    }

    it("a preview without the registry defers the digest check to pulumi up and builds nothing", () => {
      const planned = plan(planInputs({ preview: true, env: { FINSIGHT_PROMOTE_DIGEST: CANDIDATE } }), {
        status: "unavailable",
        reason: "connect ECONNREFUSED 127.0.0.1:443",
      });
      assert.deepEqual([planned.phase, planned.candidate, planned.builds], ["promote", { source: "unknown" }, []]);
      assert.ok(planned.notes.includes("the candidate's digest is checked against the registry at pulumi up"));
    });
  });

  describe("finsight:pin: a rollback", () => {
    it("builds nothing and points every floating tag of the pinned version at its digest", () => {
      const planned = plan(
        planInputs({ github: true, config: { "finsight:version": undefined, "finsight:pin": "v1.3.0" } }),
        readView({ "v1.3.0": OLD, "v1.3": OLD, v1: CANDIDATE, latest: CANDIDATE }, { otherTags: ["v1.4.0"] }),
      );
      assert.equal(planned.phase, "rollback");
      assert.equal(planned.version.source, "pin");
      assert.deepEqual([planned.builds, planned.pushedTags, planned.indexes], [[], [], []]);
      assert.deepEqual(planned.pin && "digest" in planned.pin ? planned.pin.digest : undefined, OLD);
      assert.deepEqual(floatingTargets(planned), { "v1.3": OLD, v1: OLD, latest: OLD });
      assert.deepEqual(planned.served, { kind: "image", ref: `${q("v1.3.0")}@${OLD}`, version: "1.3.0" });
      assert.equal(planned.github?.variables.FINSIGHT_VERSION, "1.3.0");
    });

    it("holds the release version's own minor tag, which the pinned version does not carry", () => {
      const planned = plan(
        planInputs({ config: { "finsight:pin": "1.3.0" } }),
        readView({ "v1.3.0": OLD, "v1.4.0": CANDIDATE, "v1.4": CANDIDATE, v1: CANDIDATE, latest: CANDIDATE }),
      );
      assert.deepEqual(floatingTargets(planned), { "v1.3": OLD, v1: OLD, latest: OLD, "v1.4": CANDIDATE });
    });

    it("a pin that was never released is refused, listing the closest released versions", () => {
      assert.throws(
        () =>
          plan(
            planInputs({ config: { "finsight:pin": "1.3.5" } }),
            readView({ "v1.3.0": OLD, "v1.3.2": OTHER, "v1.4.0": CANDIDATE }),
          ),
        {
          name: "ReleaseConfigError",
          message: `finsight:pin must be a version released in ${REPOSITORY}, got "1.3.5": there is no tag v1.3.5. Closest released versions: 1.3.2, 1.3.0, 1.4.0`,
        },
      );
    });
  });

  describe("an unreadable registry", () => {
    const unavailable = { status: "unavailable", reason: "GET /v2/acme/finsight-backend/tags/list: 503" } as const;

    it("preview: warns and still renders the plan, with no seen digests", () => {
      const planned = plan(planInputs({ preview: true }), unavailable);
      assert.deepEqual(planned.warnings, [
        "the registry could not be read (GET /v2/acme/finsight-backend/tags/list: 503), so the pin, the floating-tag rules, the downgrade check and the overwrite check were not applied; pulumi up will refuse to run until it can read it",
      ]);
      assert.deepEqual([planned.phase, planned.builds.length], ["release", 1]);
      assert.deepEqual(floatingTargets(planned), { "v1.4": "release", v1: "release", latest: "release" });
      assert.ok(planned.floatingTags.every((floating) => !("seen" in floating)));
      assert.deepEqual(planned.registry, unavailable);
    });

    it("up: throws before anything is planned", () =>
      assert.throws(() => plan(planInputs(), unavailable), {
        name: "ReleaseConfigError",
        message:
          /^finsight:registry ghcr\.io: the registry could not be read \(GET \/v2\/acme\/finsight-backend\/tags\/list: 503\).*nothing was built, pushed or re-pointed$/,
      }));
  });

  describe("the source a pushed release names", () => {
    const dirty = ["app/main.py", "notes.txt"];
    const dirtyMessage = /has uncommitted changes the build would include \(app\/main\.py, notes\.txt\)/;
    const refusedInUp: { name: string; source: InputsOptions["source"]; message: RegExp }[] = [
      { name: "uncommitted changes", source: { uncommitted: dirty }, message: dirtyMessage },
      {
        name: "no context",
        source: { contextExists: false, revision: undefined, tree: undefined, commitEpoch: undefined },
        message: /^finsight:context "finsight" does not exist: check out the FinSight application there/,
      },
      {
        name: "a context that is not a checkout",
        source: { revision: undefined, tree: undefined, commitEpoch: undefined },
        message:
          /^finsight:context "finsight" is not a git checkout with a commit, so a pushed release could not name its source/,
      },
    ];
    for (const c of refusedInUp) {
      it(`refused in up: ${c.name}`, () =>
        assert.throws(() => plan(planInputs({ source: c.source }), readView()), {
          name: "ReleaseConfigError",
          message: c.message,
        }));
    }

    it("dirty in a preview: a warning that up will refuse, and the plan still builds", () => {
      const planned = plan(planInputs({ preview: true, source: { uncommitted: dirty } }), readView());
      assert.equal(planned.warnings.length, 1);
      assert.match(planned.warnings[0], dirtyMessage);
      assert.match(planned.warnings[0], /; pulumi up will refuse this$/);
      assert.equal(planned.builds.length, 1);
    });

    it("dirty without a push: allowed with a note; nothing pushed means no floating tag", () => {
      const planned = plan(planInputs({ config: { "finsight:push": "false" }, source: { uncommitted: dirty } }), {
        status: "not read",
        reason: "finsight:push is false and no pin is set",
      });
      assert.ok(
        planned.notes.includes("building from uncommitted changes (2 files); allowed because nothing is pushed"),
      );
      assert.deepEqual([planned.warnings, planned.floatingTags, planned.pushedTags], [[], [], []]);
      assert.equal(planned.builds[0].push, false);
      assert.deepEqual(planned.builds[0].tags, [q("v1.4.0")], "tagged locally, not pushed");
    });
  });

  it("another exact tag already in the registry (sha-…) is not pushed again, and says so", () => {
    const planned = plan(
      planInputs({ config: { "finsight:tags": '["v{{version}}","sha-{{sha}}","v{{major}}","latest"]' } }),
      readView({}, { otherTags: ["sha-0123456"] }),
    );
    assert.deepEqual(planned.pushedTags, [q("v1.4.0")]);
    assert.deepEqual(planned.builds[0].tags, [q("v1.4.0")]);
    assert.ok(
      planned.notes.includes(
        "sha-0123456 is already in the registry and is never pushed again: this build does not carry it",
      ),
    );
  });

  it("multi-platform: per-platform tags without the release tag (a run stopped half way) are refused", () =>
    assert.throws(
      () =>
        plan(
          planInputs({ config: { "finsight:platforms": '["linux/amd64","linux/arm64"]' } }),
          readView({ "v1.4.0-linux-arm64": OTHER }),
        ),
      {
        name: "ReleaseConfigError",
        message: `finsight:version 1.4.0: per-platform tags v1.4.0-linux-arm64 are already in ${REPOSITORY} without v1.4.0 (an earlier run stopped half way); an exact tag is never pushed again, so bump the version`,
      },
    ));

  describe("versions below the highest release", () => {
    const after150 = { "v1.5.0": OTHER, "v1.5": OTHER, v1: OTHER, latest: OTHER };

    it("a downgrade is refused", () =>
      assert.throws(() => plan(planInputs(), readView(after150)), {
        name: "ReleaseConfigError",
        message: /^finsight:version 1\.4\.0 would go backwards: the highest released version is 1\.5\.0\./,
      }));

    it("allowDowngrade: released, and only its own minor line moves", () => {
      const planned = plan(planInputs({ config: { "finsight:allowDowngrade": "true" } }), readView(after150));
      assert.equal(planned.phase, "release");
      assert.deepEqual(floatingTargets(planned), { "v1.4": "release", v1: OTHER, latest: OTHER });
    });

    it("maintenance release 1.9.1 after 2.0.1 moves v1.9 and v1, not latest", () => {
      const v201 = digest("5f");
      const planned = plan(
        planInputs({ config: { "finsight:version": "1.9.1" } }),
        readView({ "v1.9.0": OLD, "v1.9": OLD, v1: OLD, "v2.0.1": v201, "v2.0": v201, v2: v201, latest: v201 }),
      );
      assert.equal(planned.phase, "release");
      assert.deepEqual(floatingTargets(planned), { "v1.9": "release", v1: "release", latest: v201 });
      assert.deepEqual(
        planned.floatingTags.map((floating) => floating.seen),
        [OLD, OLD, v201],
      );
    });
  });

  it("seen is recorded only when the registry was read", () => {
    const seenOf = (planned: ReleasePlan) =>
      planned.floatingTags.map((floating) => ("seen" in floating ? floating.seen : "(absent)"));
    assert.deepEqual(seenOf(plan(planInputs(), readView({ latest: OLD }))), ["", "", OLD]);
    assert.deepEqual(seenOf(plan(planInputs({ preview: true }), { status: "unavailable", reason: "timeout" })), [
      "(absent)",
      "(absent)",
      "(absent)",
    ]);
  });
});

describe("holes a hostile review found, closed", () => {
  it("the release tag is the version's, wherever its template stands: a sha-first list cannot re-release 1.4.0", () => {
    const inputs = planInputs({ config: { "finsight:tags": '["sha-{{sha}}","v{{version}}","latest"]' } });
    assert.throws(
      () =>
        plan(
          inputs,
          readView({ "v1.4.0": OTHER }, { releaseLabels: { [BUILD_INPUTS_LABEL]: "sha256:another-build" } }),
        ),
      {
        name: "ReleaseConfigError",
        message: /ghcr\.io\/acme\/finsight-backend:v1\.4\.0 \(sha256:[0-9a-f]{64}\) is already released/,
      },
    );
  });

  it("a release tag the registry serves but does not list is still judged (the view asked it by manifest)", () => {
    const inputs = planInputs();
    const stale: RegistryView = {
      status: "read",
      tags: [],
      digests: { "v1.4.0": OTHER },
      releaseLabels: { [BUILD_INPUTS_LABEL]: "sha256:another-build" },
      requests: 4,
    };
    assert.throws(() => plan(inputs, stale), /is already released, built from other inputs/);
  });

  it("git that cannot list the changes is not a clean tree: a pushing release refuses", () => {
    const inputs = planInputs({
      source: { uncommittedUnknown: "git could not list the uncommitted files (index file corrupt)" },
    });
    assert.throws(
      () => plan(inputs, readView()),
      /index file corrupt\), so a pushed release could not be shown to be exactly its commit/,
    );
  });
});
