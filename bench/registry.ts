/**
 * `npm run bench:registry`: what reading and writing the registry costs at real latency. Starts
 * Debian's docker-registry on loopback with a release history (TAGS released versions, default 300,
 * plus the floating tags), puts the fault proxy in front of it holding every answer back 0, 50 and
 * 100 ms (DELAYS to change them), and for each delay prints:
 *
 * - `npm run plan -- --stack prod --registry` (a new release): its HTTP requests, sequential round
 *   trips, and wall time of the whole process (median of RUNS, default 5);
 * - a prod rollback's floating-tag writes (latest, v1, v1.<minor> moved to an older release, the three
 *   at once as the engine runs independent resources): requests, round trips, wall time (median).
 *
 * Sequential round trips are counted by the proxy: each request's depth is 1 + the deepest request
 * whose answer had been sent before it arrived; the figure is the deepest depth. A request sent after
 * an unrelated answer counts as waiting for it, so the figure is an upper bound on the client's chain
 * of dependent requests. No pass/fail threshold: test/registry/latency.test.ts holds the bounds.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { floatingTagProvider } from "../src/resources/floating-tag";
import { runPlanCli } from "../test/support/cli";
import { startFaultProxy } from "../test/support/fault-proxy";
import {
  pushReleases,
  putManifest,
  REGISTRY_PASSWORD,
  REGISTRY_USER,
  startRegistry,
  writeDockerLogin,
} from "../test/support/registry";

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const count = Number(process.env.TAGS ?? 300);
  const runs = Number(process.env.RUNS ?? 5);
  const delays = (process.env.DELAYS ?? "0,50,100").split(",").map(Number);
  const registry = await startRegistry();
  const proxy = await startFaultProxy(registry.host);
  const dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), "finsight-bench-"));
  const context = fs.mkdtempSync(path.join(os.tmpdir(), "finsight-bench-context-"));
  try {
    writeDockerLogin(dockerConfig, proxy.host);
    fs.writeFileSync(path.join(context, "Dockerfile.backend"), "FROM scratch\n");
    const repository = "bench/finsight-backend";
    const releases = Array.from({ length: count }, (_, i) => `v1.${Math.floor(i / 10)}.${i % 10}`);
    const digests = await pushReleases(registry.host, repository, releases);
    const newest = releases[releases.length - 1];
    const manifest = await fetch(`http://${registry.host}/v2/${repository}/manifests/${newest}`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString("base64")}`,
        accept: "application/vnd.oci.image.manifest.v1+json",
      },
    });
    const newestManifest = JSON.parse(await manifest.text());
    const minor = newest.split(".").slice(0, 2).join(".");
    const rollbackTo = releases[Math.max(0, releases.length - 15)];
    const rollbackMinor = rollbackTo.split(".").slice(0, 2).join(".");
    // Before each rollback: every floating tag on the newest release, as a release leaves them.
    const pointFloating = async () => {
      for (const tag of ["latest", "v1", minor, rollbackMinor]) {
        await putManifest(registry.host, repository, tag, newestManifest);
      }
    };
    await pointFloating();

    const plan = [
      ...["--stack", "prod", "--registry", "--json", "--version", "2.0.0"],
      ...["--config", `finsight:registry=${proxy.host}/bench`, "--config", `finsight:context=${context}`],
    ];
    const env = { DOCKER_CONFIG: dockerConfig, SOURCE_DATE_EPOCH: "1795168800" };
    console.log(
      `registry: ${count} releases; plan = npm run plan -- --stack prod --registry (version 2.0.0); writes = a prod rollback's 3 floating tags to ${rollbackTo}, at once`,
    );
    console.log("round trips: the deepest chain of requests each sent after an earlier answer (an upper bound)");
    console.log(
      "delay_ms  plan_requests  plan_round_trips  plan_wall_ms(median)  writes_requests  writes_round_trips  writes_wall_ms(median)",
    );
    for (const delay of delays) {
      const planWalls: number[] = [];
      let planRequests = 0;
      let planTrips = 0;
      for (let run = 0; run < runs; run++) {
        proxy.reset();
        proxy.delayMs = delay;
        const started = performance.now();
        const result = await runPlanCli(plan, { env });
        planWalls.push(performance.now() - started);
        if (result.code !== 0) throw new Error(`npm run plan failed: ${result.stderr.trim()}`);
        const printed = JSON.parse(result.stdout) as { registry: { status: string; released: string[] } };
        if (printed.registry.status !== "read" || printed.registry.released.length !== count) {
          throw new Error(
            `npm run plan read ${printed.registry.status}, ${printed.registry.released?.length} releases`,
          );
        }
        planRequests = proxy.seen.length;
        planTrips = proxy.roundTrips();
      }
      const writeWalls: number[] = [];
      let writeRequests = 0;
      let writeTrips = 0;
      for (let run = 0; run < runs; run++) {
        await pointFloating();
        proxy.reset();
        proxy.delayMs = delay;
        const started = performance.now();
        await Promise.all(
          ["latest", "v1", rollbackMinor].map((tag) =>
            floatingTagProvider.create({
              host: proxy.host,
              repository,
              tag,
              source: digests[rollbackTo],
              insecure: false,
              username: REGISTRY_USER,
              password: REGISTRY_PASSWORD,
            }),
          ),
        );
        writeWalls.push(performance.now() - started);
        writeRequests = proxy.seen.length;
        writeTrips = proxy.roundTrips();
      }
      console.log(
        [
          String(delay).padStart(8),
          String(planRequests).padStart(13),
          String(planTrips).padStart(16),
          median(planWalls).toFixed(0).padStart(20),
          String(writeRequests).padStart(15),
          String(writeTrips).padStart(18),
          median(writeWalls).toFixed(0).padStart(22),
        ].join("  "),
      );
    }
  } finally {
    await proxy.stop();
    await registry.stop();
    fs.rmSync(dockerConfig, { recursive: true, force: true });
    fs.rmSync(context, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`bench:registry failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
