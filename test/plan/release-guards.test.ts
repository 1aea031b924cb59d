import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePin } from "../../src/inputs/settings";
import { DEFAULT_TAG_TEMPLATES, parseTagTemplates, type VersionTemplate } from "../../src/model/tag-template";
import { parsedVersion } from "../../src/model/version-text";
import { planFloatingTags } from "../../src/plan/floating-tag-moves";
import { confirmPin } from "../../src/plan/pin";
import { BUILD_INPUTS_LABEL, downgradeRefusal, overwriteRefusal } from "../../src/plan/release-guards";
import { releasedVersions } from "../../src/plan/released-versions";
import { planTags, versionTemplateOf } from "../../src/plan/tags";
import { resolveVersion } from "../../src/plan/version";

const VERSION_TEMPLATE = versionTemplateOf(parseTagTemplates(["v{{version}}"])) as VersionTemplate;
const registryOf = (...versions: string[]) =>
  releasedVersions(
    versions.map((v) => `v${v}`),
    VERSION_TEMPLATE,
  );
const tagsFor = (version: string, templates = DEFAULT_TAG_TEMPLATES.full) =>
  planTags(parseTagTemplates(templates), {
    version: resolveVersion({ configured: { text: version, from: "config" }, env: {} }),
  });

/** Where each floating tag points after releasing `version` onto a registry holding `existing`. */
function moves(version: string, existing: string[], templates = DEFAULT_TAG_TEMPLATES.full): Record<string, string> {
  const digests = Object.fromEntries(
    ["latest", "v1", "v2", "v1.9", "v2.0", "v1.4", "demo"].map((t) => [t, `digest-of-${t}`]),
  );
  const planned = planFloatingTags({
    baseName: "finsight-backend-full",
    mode: { kind: "promote", version: parsedVersion(version) },
    tags: tagsFor(version, templates),
    released: registryOf(...existing),
    digests,
    registryRead: true,
  });
  return Object.fromEntries(planned.map((p) => [p.tag, p.target.kind === "release" ? "moves" : "stays"]));
}

describe("floating tags follow the registry, not the event", () => {
  const cases: { name: string; version: string; existing: string[]; expected: Record<string, string> }[] = [
    {
      name: "first release moves everything",
      version: "1.0.0",
      existing: [],
      expected: { "v1.0": "moves", v1: "moves", latest: "moves" },
    },
    {
      name: "a newer release moves everything",
      version: "2.0.2",
      existing: ["1.9.0", "2.0.1"],
      expected: { "v2.0": "moves", v2: "moves", latest: "moves" },
    },
    {
      name: "v1.9.1 after v2.0.1: v1 and v1.9 move, latest stays (metadata-action #80, #326)",
      version: "1.9.1",
      existing: ["1.9.0", "2.0.1"],
      expected: { "v1.9": "moves", v1: "moves", latest: "stays" },
    },
    {
      name: "a patch of an old minor moves only its minor tag",
      version: "1.4.3",
      existing: ["1.4.2", "1.9.0", "2.0.1"],
      expected: { "v1.4": "moves", v1: "stays", latest: "stays" },
    },
    {
      name: "a re-run of the newest release keeps every tag on it",
      version: "2.0.1",
      existing: ["1.9.0", "2.0.1"],
      expected: { "v2.0": "moves", v2: "moves", latest: "moves" },
    },
    {
      name: "prereleases in the registry do not hold a stable release back",
      version: "2.0.0",
      existing: ["1.9.0", "2.1.0-rc.1"],
      expected: { "v2.0": "moves", v2: "moves", latest: "moves" },
    },
    {
      name: "a prerelease moves nothing",
      version: "2.1.0-rc.2",
      existing: ["2.0.0"],
      expected: {},
    },
    {
      name: "demo follows all releases",
      version: "1.9.1",
      existing: ["2.0.1"],
      expected: { demo: "stays" },
    },
  ];
  for (const { name, version, existing, expected } of cases) {
    const templates = name.startsWith("demo") ? ["v{{version}}", "demo"] : DEFAULT_TAG_TEMPLATES.full;
    it(name, () => assert.deepEqual(moves(version, existing, templates), expected));
  }

  it("a tag that should stay but is not in the registry is not managed at all", () => {
    const planned = planFloatingTags({
      baseName: "b",
      mode: { kind: "promote", version: parsedVersion("1.9.1") },
      tags: tagsFor("1.9.1"),
      released: registryOf("1.9.0", "2.0.1"),
      digests: {},
      registryRead: true,
    });
    assert.deepEqual(
      planned.map((p) => p.tag),
      ["v1.9", "v1"],
    );
  });

  it("says why a tag stays", () => {
    const [, , latest] = planFloatingTags({
      baseName: "finsight-backend-full",
      mode: { kind: "promote", version: parsedVersion("1.9.1") },
      tags: tagsFor("1.9.1"),
      released: registryOf("1.9.0", "2.0.1"),
      digests: { latest: "sha256:aaa" },
      registryRead: true,
    });
    assert.deepEqual(latest, {
      name: "finsight-backend-full-tag-latest",
      tag: "latest",
      target: { kind: "image", reference: "sha256:aaa" },
      seen: "sha256:aaa",
      reason: "stays: 2.0.1 is a higher stable release of all releases",
    });
  });

  it("a pin points the pinned release's tags at its digest and holds the others where they are", () => {
    const planned = planFloatingTags({
      baseName: "b",
      tags: tagsFor("1.4.0"),
      released: registryOf("1.3.2", "1.4.0"),
      digests: { "v1.4": "sha256:bad", v1: "sha256:bad", latest: "sha256:bad", "v1.3": "sha256:good" },
      registryRead: true,
      mode: { kind: "pin", pin: { version: "1.3.2", tag: "v1.3.2", tags: tagsFor("1.3.2"), digest: "sha256:good" } },
    });
    assert.deepEqual(
      planned.map((p) => [p.tag, p.target]),
      [
        ["v1.3", { kind: "image", reference: "sha256:good", version: "1.3.2" }],
        ["v1", { kind: "image", reference: "sha256:good", version: "1.3.2" }],
        ["latest", { kind: "image", reference: "sha256:good", version: "1.3.2" }],
        ["v1.4", { kind: "image", reference: "sha256:bad" }],
      ],
    );
  });
});

describe("downgrades are refused unless allowed on purpose", () => {
  const cases: { version: string; existing: string[]; refused: RegExp | undefined }[] = [
    { version: "1.5.0", existing: ["1.4.0"], refused: undefined },
    { version: "1.4.0", existing: ["1.4.0"], refused: undefined }, // a re-run
    {
      version: "1.3.0",
      existing: ["1.4.0"],
      refused: /^finsight:version 1\.3\.0 would go backwards: the highest released version is 1\.4\.0\./,
    },
    { version: "1.9.1", existing: ["1.9.0", "2.0.1"], refused: undefined }, // maintenance of a released line
    { version: "1.9.0", existing: ["1.9.1", "2.0.1"], refused: /1\.9\.1 is already released on the 1\.9\.x line/ },
    { version: "2.0.0-rc.1", existing: ["2.0.0"], refused: /2\.0\.0 is already released on the 2\.0\.x line/ },
    { version: "2.1.0-rc.1", existing: ["2.0.0"], refused: undefined },
    { version: "0.1.0", existing: [], refused: undefined },
  ];
  for (const { version, existing, refused } of cases) {
    it(`${version} after ${existing.join(", ") || "nothing"}: ${refused ? "refused" : "accepted"}`, () => {
      const refusal = downgradeRefusal(parsedVersion(version), registryOf(...existing), false);
      if (refused) {
        assert.ok(refusal);
        assert.match(refusal.message, refused);
        assert.match(refusal.message, /set finsight:allowDowngrade to true on purpose$/);
        assert.equal(downgradeRefusal(parsedVersion(version), registryOf(...existing), true), undefined);
      } else {
        assert.equal(refusal, undefined);
      }
    });
  }
});

describe("a released version tag is never overwritten", () => {
  const release = { ref: "ghcr.io/acme/finsight-backend:v1.4.0", digest: "sha256:4444" };
  const planned = {
    [BUILD_INPUTS_LABEL]: "sha256:new",
    "org.opencontainers.image.revision": "def456",
    "finsight.release.source-tree": "tree-new",
  };
  it("not released yet, or released from the same inputs: fine", () => {
    assert.equal(overwriteRefusal(release, planned, undefined), undefined);
    assert.equal(overwriteRefusal(release, planned, { [BUILD_INPUTS_LABEL]: "sha256:new" }), undefined);
  });
  it("released from other inputs: refused, naming the tag, its digest and what differs", () => {
    const refusal = overwriteRefusal(release, planned, {
      [BUILD_INPUTS_LABEL]: "sha256:old",
      "org.opencontainers.image.revision": "abc123",
      "finsight.release.source-tree": "tree-old",
    });
    assert.equal(
      refusal?.message,
      `finsight:version: ${release.ref} (sha256:4444) is already released, built from other inputs: org.opencontainers.image.revision abc123 there, def456 here; finsight.release.source-tree tree-old there, tree-new here, and a released version tag is never overwritten. Bump the version to release this build, or set finsight:pin to serve a released version`,
    );
  });
  it("released from other build args with the same source: refused, saying what else it could be", () => {
    const refusal = overwriteRefusal(release, planned, {
      [BUILD_INPUTS_LABEL]: "sha256:old",
      "org.opencontainers.image.revision": "def456",
      "finsight.release.source-tree": "tree-new",
    });
    assert.match(refusal?.message ?? "", /built from other inputs \(build args, Dockerfile, target or platforms\)/);
  });
  it("released by other means (no label): refused", () => {
    assert.match(
      overwriteRefusal(release, planned, {})?.message ?? "",
      /not built by this stack \(it has no finsight\.release\.build-inputs label\)/,
    );
  });
});

describe("pins", () => {
  it("accepts a stable version with or without v", () => {
    assert.equal(parsePin("v1.3.2"), "1.3.2");
    assert.equal(parsePin(" 1.3.2 "), "1.3.2");
  });
  it("refuses what is not a version, and prereleases", () => {
    assert.throws(
      () => parsePin("1.3"),
      /^ReleaseConfigError: finsight:pin must be a released version such as 1\.3\.2 or v1\.3\.2, got "1\.3"$/,
    );
    assert.throws(() => parsePin("latest"), /got "latest"/);
    assert.throws(
      () => parsePin("1.5.0-rc.1"),
      /finsight:pin must be a stable release \(floating tags never point at a prerelease\), got "1\.5\.0-rc\.1"/,
    );
  });
  const pinOf = (version: string) => ({ version, tag: `v${version}`, tags: tagsFor(version) });
  it("a version that was never released lists the closest released ones", () => {
    assert.throws(
      () =>
        confirmPin(
          pinOf("1.3.3"),
          registryOf("1.2.0", "1.3.1", "1.3.2", "1.4.0"),
          {},
          "ghcr.io/acme/finsight-backend",
          VERSION_TEMPLATE,
        ),
      {
        name: "ReleaseConfigError",
        message:
          'finsight:pin must be a version released in ghcr.io/acme/finsight-backend, got "1.3.3": there is no tag v1.3.3. Closest released versions: 1.3.2, 1.3.1, 1.4.0, 1.2.0',
      },
    );
  });
  it("an empty registry says so", () => {
    assert.throws(() => confirmPin(pinOf("1.0.0"), [], {}, "r", VERSION_TEMPLATE), /No released version was found$/);
  });
  it("a released pin carries the digest the registry gave its tag", () => {
    const pin = confirmPin(pinOf("1.3.2"), registryOf("1.3.2"), { "v1.3.2": "sha256:good" }, "r", VERSION_TEMPLATE);
    assert.equal(pin.digest, "sha256:good");
  });
  it("a tag listed but not readable is refused rather than served without a digest", () => {
    assert.throws(
      () => confirmPin(pinOf("1.3.2"), registryOf("1.3.2"), {}, "r", VERSION_TEMPLATE),
      /the registry lists r:v1\.3\.2 but its manifest could not be read/,
    );
  });
});
