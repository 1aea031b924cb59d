/**
 * `npx tsx scripts/plan-snapshots.ts <out-dir>`: writes `npm run plan --json` for both stacks across a
 * fixed set of configurations (prerelease, build metadata, a pin, two platforms, a custom template set,
 * a candidate run, a promotion of a verified digest, registry reads), so a restructuring can show it
 * changed no decision: run it before and after, then `diff -r before after`. The registry reads use a
 * real docker-registry on loopback, seeded with the same images each time (same bytes, same digests);
 * its port is replaced by REGISTRY in the output.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pushImage, startRegistry, writeDockerLogin } from "../test/support/registry";

const ROOT = path.resolve(__dirname, "..");
/** A per-run value (env) or a flag: how the run's phase is given to `npm run plan`. */
interface Configuration {
  name: string;
  args: string[];
  env?: Record<string, string>;
  registry?: boolean;
}

const CONFIGURATIONS: Configuration[] = [
  { name: "release-1.4.0", args: ["--version", "1.4.0"] },
  { name: "prerelease", args: ["--version", "2.0.0-rc.1"] },
  { name: "build-metadata", args: ["--version", "1.4.0+build.7"] },
  { name: "zero-major", args: ["--version", "0.4.2"] },
  { name: "pin-offline", args: ["-c", "finsight:pin=1.3.2"] },
  { name: "two-platforms", args: ["--version", "1.4.0", "-c", 'finsight:platforms=["linux/amd64","linux/arm64"]'] },
  {
    name: "custom-templates",
    args: ["--version", "1.4.0", "-c", 'finsight:tags=["v{{version}}","sha-{{sha}}","stable"]'],
    env: { GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567" },
  },
  { name: "candidate", args: ["--version", "1.5.0"], env: { FINSIGHT_PHASE: "candidate" }, registry: true },
  { name: "promote-digest", args: ["--version", "1.4.0"], env: { FINSIGHT_PROMOTE_DIGEST: "" }, registry: true },
  { name: "registry-release", args: ["--version", "1.5.0"], registry: true },
  { name: "registry-pin", args: ["-c", "finsight:pin=1.3.2"], registry: true },
  { name: "registry-maintenance", args: ["--version", "1.3.3"], registry: true },
];

async function main(): Promise<void> {
  const out = path.resolve(process.argv[2] ?? "plan-snapshots");
  fs.mkdirSync(out, { recursive: true });
  const registry = await startRegistry();
  try {
    const dockerConfig = writeDockerLogin(fs.mkdtempSync(path.join(os.tmpdir(), "snap-login-")), registry.host);
    const seeded: Record<string, Record<string, string>> = {};
    for (const [stack, prefix] of [
      ["prod", ""],
      ["demo", "demo-"],
    ] as const) {
      const repository = `snap-${stack}/finsight-backend`;
      const digests: Record<string, string> = {};
      for (const version of ["1.3.2", "1.4.0"]) {
        digests[version] = await pushImage(registry.host, repository, `${prefix}v${version}`, {
          content: `${stack} ${version}`,
        });
      }
      for (const floating of stack === "prod" ? ["latest", "v1", "v1.4"] : ["demo"]) {
        await pushImage(registry.host, repository, floating, { content: `${stack} 1.4.0` });
      }
      await pushImage(registry.host, repository, `${prefix}v1.3`, { content: `${stack} 1.3.2` });
      seeded[stack] = digests;
    }
    for (const stack of ["prod", "demo"]) {
      for (const configuration of CONFIGURATIONS) {
        const args = ["src/cli/plan.ts", "--stack", stack, "--json", ...configuration.args];
        const env: Record<string, string> = { ...(process.env as Record<string, string>), DOCKER_CONFIG: dockerConfig };
        for (const name of ["RELEASE_VERSION", "GITHUB_REF_TYPE", "GITHUB_REF_NAME", "GITHUB_SHA", "GITHUB_RUN_ID"])
          delete env[name];
        for (const [name, value] of Object.entries(configuration.env ?? {})) {
          env[name] = name === "FINSIGHT_PROMOTE_DIGEST" ? seeded[stack]["1.4.0"] : value;
        }
        if (configuration.registry) args.push("--registry", "-c", `finsight:registry=${registry.host}/snap-${stack}`);
        const run = spawnSync(path.join(ROOT, "node_modules/.bin/tsx"), args, {
          cwd: ROOT,
          env,
          encoding: "utf8",
          timeout: 60_000,
        });
        const text = `${run.stdout}${run.stderr ? `\n--- stderr\n${run.stderr}` : ""}\n--- exit ${run.status}\n`;
        fs.writeFileSync(
          path.join(out, `${stack}-${configuration.name}.txt`),
          text.split(registry.host).join("REGISTRY"),
        );
      }
    }
    process.stdout.write(`${CONFIGURATIONS.length * 2} plans written to ${out}\n`);
  } finally {
    await registry.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
});
