/** `linux/arm64` → `linux-arm64`: the one slug for resource names, tag suffixes and cache scopes. */
export const platformSlug = (platform: string) => platform.replace(/\//g, "-");

/** `team/finsight-backend` → `team-finsight-backend`, for resource names and cache scopes. */
export const nameSlug = (name: string) => name.replace(/\//g, "-");
