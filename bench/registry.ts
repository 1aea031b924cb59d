/**
 * `npm run bench:registry`: what reading the registry adds to a plan. Starts Debian's docker-registry on
 * loopback with a release history (TAGS released versions, default 300, plus the floating tags), then:
 * prints the requests one `npm run plan -- --registry` makes, and times it with farm-bench against the
 * same plan without the registry. Prints farm-bench's medians; no pass/fail threshold.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pushImage, startRegistry, writeDockerLogin } from "../test/support/registry";

async function main(): Promise<void> {
  const count = Number(process.env.TAGS ?? 300);
  const registry = await startRegistry();
  const dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), "finsight-bench-"));
  try {
    writeDockerLogin(dockerConfig, registry.host);
    const repository = "bench/finsight-backend";
    for (let i = 0; i < count; i++) {
      await pushImage(registry.host, repository, `v1.${Math.floor(i / 10)}.${i % 10}`);
    }
    for (const tag of ["latest", "v1"]) await pushImage(registry.host, repository, tag);
    const plan = [
      "./node_modules/.bin/tsx",
      "src/cli/plan.ts",
      "--stack",
      "prod",
      "--version",
      "2.0.0",
      "--json",
      "--config",
      `finsight:registry=${registry.host}/bench`,
    ];
    const env = { ...process.env, DOCKER_CONFIG: dockerConfig };
    const printed = JSON.parse(execFileSync(plan[0], [...plan.slice(1), "--registry"], { env, encoding: "utf8" }));
    console.log(
      `registry view: ${printed.registry.status}, ${printed.registry.released.length} released versions read, ${printed.registry.requests} HTTP requests`,
    );
    const bench = spawnSync(
      "farm-bench",
      [
        "-n",
        process.env.RUNS ?? "7",
        "--warmup",
        "1",
        "--timeout",
        "600",
        "--vs",
        plan.join(" "),
        "--",
        ...plan,
        "--registry",
      ],
      { env, stdio: "inherit" },
    );
    process.exitCode = bench.status ?? 1;
  } finally {
    await registry.stop();
    fs.rmSync(dockerConfig, { recursive: true, force: true });
  }
}

main();
