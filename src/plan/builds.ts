import type { ImageRepository } from "../model/image-repository";
import { platformTag, qualify } from "../model/image-repository";
import type { PlatformName } from "../model/platforms";
import type { ReleaseSettings } from "../model/settings";
import { slug } from "../model/slug";
import { type CacheFromEntry, type CacheToEntry, planCache } from "./cache";
import type { ImageInputs } from "./image-inputs";

/** The inputs of one docker-build `Image`, as plain data. */
export interface BuildPlan {
  /** Pulumi resource name: stable per variant (and platform), never per version or run. */
  name: string;
  platforms: PlatformName[];
  /** Fully qualified tags (`ghcr.io/acme/finsight-backend:v1.4.0`). */
  tags: string[];
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  context: { location: string };
  dockerfile: { location: string };
  target?: string;
  builder?: { name: string };
  push: boolean;
  buildOnPreview: boolean;
  cacheFrom: CacheFromEntry[];
  cacheTo: CacheToEntry[];
}

/** Resource names: stable per variant (and platform, or exact tag), never per version or run. */
const platformBuildName = (baseName: string, platform: string) => `${baseName}-${slug(platform)}`;
export const indexName = (baseName: string, tag: string) => `${baseName}-index-${tag}`;

/** A docker-build `Index` joining the per-platform builds under one tag. */
export interface IndexPlan {
  name: string;
  tag: string;
  /** Names of the builds (in `builds`) whose pushed refs make up the index. */
  sources: string[];
  push: boolean;
}

/**
 * The docker-build resources that build and push `pushedTags` (bare exact tags). One platform: one
 * Image pushing them all. Several: docker-build keeps only one platform's cache when one Image exports
 * several (its own warning), so the provider's documented shape is one cached Image per platform, tagged
 * `<release tag>-<platform>`, joined by an Index per exact tag.
 */
export function planBuilds(
  settings: ReleaseSettings,
  repository: ImageRepository,
  baseName: string,
  releaseTag: string,
  pushedTags: readonly string[],
  image: ImageInputs,
): { builds: BuildPlan[]; indexes: IndexPlan[] } {
  const qualified = (tag: string) => qualify(repository, tag);
  const common = {
    buildArgs: image.buildArgs,
    labels: image.labels,
    context: { location: settings.context },
    dockerfile: { location: image.dockerfile },
    ...(settings.target ? { target: settings.target } : {}),
    ...(settings.builder ? { builder: { name: settings.builder } } : {}),
    push: settings.push,
    buildOnPreview: settings.buildOnPreview,
  };
  const cacheScope = { repository: repository.name, imageName: settings.imageName, variant: settings.variant };
  if (settings.platforms.length === 1) {
    return {
      builds: [
        {
          name: baseName,
          platforms: settings.platforms,
          tags: pushedTags.map(qualified),
          ...common,
          ...planCache(settings.cache, cacheScope),
        },
      ],
      indexes: [],
    };
  }
  const builds = settings.platforms.map((platform) => ({
    name: platformBuildName(baseName, platform),
    platforms: [platform],
    tags: [qualified(platformTag(releaseTag, platform))],
    ...common,
    ...planCache(settings.cache, { ...cacheScope, platform }),
  }));
  const indexes = pushedTags.map((tag) => ({
    name: indexName(baseName, tag),
    tag: qualified(tag),
    sources: builds.map((build) => build.name),
    push: settings.push,
  }));
  return { builds, indexes };
}
