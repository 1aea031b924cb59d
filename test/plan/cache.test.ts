import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CacheSettings } from "../../src/model/settings";
import { type CachePlan, type CacheScope, planCache } from "../../src/plan/cache";

const REPOSITORY = "ghcr.io/acme/finsight-backend";
const full: CacheScope = { repository: REPOSITORY, imageName: "finsight-backend", variant: "full" };
const written = { mode: "max", ignoreError: true } as const;
const registryTo = (ref: string) =>
  ({ registry: { ref, ...written, imageManifest: true, ociMediaTypes: true } }) as const;

describe("planCache: each variant and platform writes its own cache and reads the other variant's", () => {
  const cases: { name: string; settings: CacheSettings; scope: CacheScope; expected: CachePlan }[] = [
    {
      name: "registry, full: own tag first, then demo's",
      settings: { type: "registry" },
      scope: full,
      expected: {
        cacheFrom: [
          { registry: { ref: `${REPOSITORY}:buildcache-full` } },
          { registry: { ref: `${REPOSITORY}:buildcache-demo` } },
        ],
        cacheTo: [registryTo(`${REPOSITORY}:buildcache-full`)],
      },
    },
    {
      name: "registry, demo, one platform of several",
      settings: { type: "registry" },
      scope: { ...full, variant: "demo", platform: "linux/arm64" },
      expected: {
        cacheFrom: [
          { registry: { ref: `${REPOSITORY}:buildcache-demo-linux-arm64` } },
          { registry: { ref: `${REPOSITORY}:buildcache-full-linux-arm64` } },
        ],
        cacheTo: [registryTo(`${REPOSITORY}:buildcache-demo-linux-arm64`)],
      },
    },
    {
      name: "registry in another repository (finsight:cacheRef)",
      settings: { type: "registry", repository: "ghcr.io/acme/caches" },
      scope: full,
      expected: {
        cacheFrom: [
          { registry: { ref: "ghcr.io/acme/caches:buildcache-full" } },
          { registry: { ref: "ghcr.io/acme/caches:buildcache-demo" } },
        ],
        cacheTo: [registryTo("ghcr.io/acme/caches:buildcache-full")],
      },
    },
    {
      name: "gha: a scope per image name and variant, slashes made dashes",
      settings: { type: "gha" },
      scope: { ...full, imageName: "team/finsight-backend", variant: "demo" },
      expected: {
        cacheFrom: [{ gha: { scope: "team-finsight-backend-demo" } }, { gha: { scope: "team-finsight-backend-full" } }],
        cacheTo: [{ gha: { scope: "team-finsight-backend-demo", ...written } }],
      },
    },
    {
      name: "gha per platform",
      settings: { type: "gha" },
      scope: { ...full, platform: "linux/amd64" },
      expected: {
        cacheFrom: [
          { gha: { scope: "finsight-backend-full-linux-amd64" } },
          { gha: { scope: "finsight-backend-demo-linux-amd64" } },
        ],
        cacheTo: [{ gha: { scope: "finsight-backend-full-linux-amd64", ...written } }],
      },
    },
    {
      name: "local: a directory per variant, trailing slashes dropped",
      settings: { type: "local", dir: "/var/cache/finsight//" },
      scope: full,
      expected: {
        cacheFrom: [{ local: { src: "/var/cache/finsight/full" } }, { local: { src: "/var/cache/finsight/demo" } }],
        cacheTo: [{ local: { dest: "/var/cache/finsight/full", ...written } }],
      },
    },
    { name: "none", settings: { type: "none" }, scope: full, expected: { cacheFrom: [], cacheTo: [] } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(planCache(c.settings, c.scope), c.expected));
});
