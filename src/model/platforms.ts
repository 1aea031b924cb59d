import { Platform } from "@pulumi/docker-build/types/enums";

export type PlatformName = (typeof Platform)[keyof typeof Platform];
/** The docker-build provider's own list of platforms: anything else it would reject later. */
export const KNOWN_PLATFORMS: readonly PlatformName[] = Object.values(Platform);
