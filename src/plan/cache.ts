import type { CacheSettings } from "../model/settings";
import { slug } from "../model/slug";
import type { Variant } from "../model/variant";

/** Plain-data forms of docker-build's CacheFrom/CacheTo inputs (one backend set per entry). */
export type CacheFromEntry = { registry: { ref: string } } | { gha: { scope: string } } | { local: { src: string } };
export type CacheToEntry =
  | { registry: { ref: string; mode: "max"; ignoreError: true; imageManifest: true; ociMediaTypes: true } }
  | { gha: { scope: string; mode: "max"; ignoreError: true } }
  | { local: { dest: string; mode: "max"; ignoreError: true } };

export interface CachePlan {
  cacheFrom: CacheFromEntry[];
  cacheTo: CacheToEntry[];
}

export interface CacheScope {
  repository: string;
  imageName: string;
  variant: Variant;
  /** Set when each platform has its own build: only one platform's cache survives a shared export. */
  platform?: string;
}

const OTHER_VARIANT: Record<Variant, Variant> = { demo: "full", full: "demo" };

/**
 * Each variant (and platform) writes its own cache, so the demo and full builds never overwrite
 * each other (the shared default `gha` scope is build-push-action's most reported cache bug,
 * #867/#1076). Reads fall back to the other variant's cache: both build from one Dockerfile, so
 * its early stages are often shared. Exports use mode=max and ignoreError: a failed cache write
 * costs the next build time but must never fail a release.
 */
export function planCache(settings: CacheSettings, scope: CacheScope): CachePlan {
  const suffix = (variant: Variant) => `${variant}${scope.platform ? `-${slug(scope.platform)}` : ""}`;
  const own = suffix(scope.variant);
  const other = suffix(OTHER_VARIANT[scope.variant]);
  switch (settings.type) {
    case "registry": {
      const cacheRepository = settings.repository ?? scope.repository;
      const ref = (name: string) => `${cacheRepository}:buildcache-${name}`;
      return {
        cacheFrom: [{ registry: { ref: ref(own) } }, { registry: { ref: ref(other) } }],
        // imageManifest + OCI media types: a plain image manifest is what registries such as ECR accept for caches.
        cacheTo: [
          { registry: { ref: ref(own), mode: "max", ignoreError: true, imageManifest: true, ociMediaTypes: true } },
        ],
      };
    }
    case "gha": {
      const scopeName = (name: string) => `${slug(scope.imageName)}-${name}`;
      return {
        cacheFrom: [{ gha: { scope: scopeName(own) } }, { gha: { scope: scopeName(other) } }],
        cacheTo: [{ gha: { scope: scopeName(own), mode: "max", ignoreError: true } }],
      };
    }
    case "local": {
      const dir = (name: string) => `${settings.dir.replace(/\/+$/, "")}/${name}`;
      return {
        cacheFrom: [{ local: { src: dir(own) } }, { local: { src: dir(other) } }],
        cacheTo: [{ local: { dest: dir(own), mode: "max", ignoreError: true } }],
      };
    }
    case "none":
      return { cacheFrom: [], cacheTo: [] };
  }
}
