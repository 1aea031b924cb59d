import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type LabelFacts, planLabels } from "../../src/plan/labels";
import { resolveVersion } from "../../src/plan/version";

const version = (text: string) => resolveVersion({ configured: { text, from: "config" }, env: {} });
const REVISION = "0123456789abcdef0123456789abcdef01234567";
const TREE = "89abcdef0123456789abcdef0123456789abcdef";

describe("planLabels: OCI annotations and the release's own labels", () => {
  const cases: { name: string; facts: LabelFacts; expected: Record<string, string> }[] = [
    {
      name: "full, from a checkout, with source and licence",
      facts: {
        variant: "full",
        version: version("v1.4.0"),
        revision: REVISION,
        tree: TREE,
        commitEpoch: 1700000000,
        sourceUrl: "https://github.com/acme/finsight",
        licenses: "MIT",
      },
      expected: {
        "org.opencontainers.image.title": "finsight-backend",
        "org.opencontainers.image.description": "FinSight backend, full ML build",
        "org.opencontainers.image.version": "1.4.0",
        "org.opencontainers.image.revision": REVISION,
        "finsight.release.source-tree": TREE,
        "org.opencontainers.image.created": "2023-11-14T22:13:20Z",
        "org.opencontainers.image.source": "https://github.com/acme/finsight",
        "org.opencontainers.image.licenses": "MIT",
        "finsight.release.variant": "full",
      },
    },
    {
      name: "demo without a checkout: no revision, tree or created label",
      facts: { variant: "demo", version: version("1.5.0-rc.1+build.7") },
      expected: {
        "org.opencontainers.image.title": "finsight-backend",
        "org.opencontainers.image.description":
          "FinSight backend, light demo build (requirements.light.txt, ML disabled)",
        "org.opencontainers.image.version": "1.5.0-rc.1+build.7",
        "finsight.release.variant": "demo",
      },
    },
    {
      name: "commit time 0 is a time, not an absence",
      facts: { variant: "demo", version: version("0.1.0"), commitEpoch: 0 },
      expected: {
        "org.opencontainers.image.title": "finsight-backend",
        "org.opencontainers.image.description":
          "FinSight backend, light demo build (requirements.light.txt, ML disabled)",
        "org.opencontainers.image.version": "0.1.0",
        "org.opencontainers.image.created": "1970-01-01T00:00:00Z",
        "finsight.release.variant": "demo",
      },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(planLabels(c.facts), c.expected));
});
