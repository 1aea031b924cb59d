/**
 * "Not sure which versions exist?" `npm run plan -- --stack prod --registry` on a fresh clone, with no
 * release version from any source, lists what the registry holds instead of failing for want of a
 * version: against a real docker-registry, logged in as docker login leaves it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { PROJECT_DIR, testRegistry } from "../support/program";
import { pushImage } from "../support/registry";

const TSX = path.join(PROJECT_DIR, "node_modules", ".bin", "tsx");
const CLI = path.join(PROJECT_DIR, "src", "cli", "plan.ts");

describe("npm run plan --registry with no version: the released versions", () => {
  it("lists the stable releases, the prereleases and what each floating tag serves", async () => {
    const { registry, dockerConfig } = await testRegistry();
    const repository = "listing/finsight-backend";
    for (const version of ["1.2.0", "1.3.0", "1.3.2", "1.4.0-rc.1"]) {
      await pushImage(registry.host, repository, `v${version}`, { content: version });
    }
    for (const tag of ["latest", "v1", "v1.3"]) await pushImage(registry.host, repository, tag, { content: "1.3.2" });
    const run = spawnSync(
      TSX,
      [CLI, "--stack", "prod", "--registry", "-c", `finsight:registry=${registry.host}/listing`],
      {
        cwd: PROJECT_DIR,
        // No RELEASE_VERSION, no tag ref, and the stack's context (finsight/) does not exist: a fresh clone.
        env: { PATH: process.env.PATH, DOCKER_CONFIG: dockerConfig },
        encoding: "utf8",
      },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^released\s+1\.2\.0, 1\.3\.0, 1\.3\.2$/m);
    assert.match(run.stdout, /^prereleases\s+1\.4\.0-rc\.1$/m);
    assert.match(run.stdout, /^tag latest\s+-> 1\.3\.2$/m);
    assert.match(run.stdout, /^tag v1\.3\s+-> 1\.3\.2$/m);
    assert.match(run.stdout, /^note\s+no release version was given .* -c finsight:pin=X to plan a rollback$/m);
    assert.equal(run.stderr, "");
  });

  it("with a version, it plans as before", async () => {
    const { registry, dockerConfig } = await testRegistry();
    const run = spawnSync(
      TSX,
      [CLI, "--stack", "prod", "--registry", "--version", "1.5.0", "-c", `finsight:registry=${registry.host}/listing2`],
      { cwd: PROJECT_DIR, env: { PATH: process.env.PATH, DOCKER_CONFIG: dockerConfig }, encoding: "utf8" },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^phase\s+release: /m);
  });
});
