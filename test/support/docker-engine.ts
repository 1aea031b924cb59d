import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/**
 * Why the tests that need a Docker engine must skip here, or false when they can run. In CI the
 * engine is part of the set-up (.ci/run starts it), so its absence is a failure there, never a skip.
 * Use it on each test (`it(name, { skip }, …)`): the runner counts a skipped suite as nothing.
 */
export function dockerSkip(needs: { busybox?: boolean } = {}): string | false {
  const engine = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { encoding: "utf8", timeout: 20_000 });
  const busybox = "/usr/bin/busybox";
  const why =
    engine.status !== 0
      ? `no Docker engine answers \`docker info\` (${(engine.stderr || String(engine.error ?? "")).trim()})`
      : needs.busybox && !existsSync(busybox)
        ? `${busybox} (Debian's busybox-static) is not installed`
        : undefined;
  if (why && process.env.CI === "true") throw new Error(`CI=true, but ${why}`);
  return why ?? false;
}
