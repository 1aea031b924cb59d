/**
 * `linux/arm64` → `linux-arm64`, `team/finsight-backend` → `team-finsight-backend`: the one slug for
 * resource names, tag suffixes and cache scopes.
 */
export const slug = (name: string) => name.replace(/\//g, "-");
