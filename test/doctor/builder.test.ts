/**
 * The doctor's builder lines: a buildx builder on a driver docker-build accepts, able to reach a
 * loopback registry, running BuildKit 0.13 or later. `docker` is a stand-in on a PATH of its own,
 * answering `docker buildx inspect` as buildx prints it.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { checkBuilder, parseBuildxInspect } from "../../src/doctor/builder";
import type { DoctorContext } from "../../src/doctor/context";
import { buildxInspect, doctorContext, type FakeAnswer, type FakeTools, fakeTools } from "../support/doctor";
import { settingsOf } from "../support/plan-fixtures";

const made: FakeTools[] = [];
after(() => {
  for (const tools of made) tools.remove();
});

function run(docker: FakeAnswer[] | undefined, overrides: Record<string, string> = {}) {
  const tools = fakeTools(docker ? { docker } : {});
  made.push(tools);
  const context: DoctorContext = { ...doctorContext({ path: tools.path }), settings: settingsOf("demo", overrides) };
  return checkBuilder(context);
}

const statuses = (results: { status: string }[]) => results.map((result) => result.status);

describe("doctor: buildx builder and BuildKit", () => {
  it("a rollback (finsight:pin) builds nothing: no builder is needed, and docker is not asked", () => {
    const results = run(undefined, { "finsight:pin": "1.3.2" });
    assert.deepEqual(statuses(results), ["skip"], JSON.stringify(results));
    assert.equal(results[0].detail, "finsight:pin is 1.3.2: a rollback builds nothing, so it needs no builder");
  });

  it("a docker-container builder on BuildKit 0.16 passes both lines", () => {
    const results = run([{ args: "buildx inspect", stdout: buildxInspect() }]);
    assert.deepEqual(statuses(results), ["pass", "pass"], JSON.stringify(results));
    assert.equal(results[0].detail, "finsight, driver docker-container");
    assert.equal(results[1].detail, "v0.16.0 (0.13.0 or later)");
  });

  it("finsight:builder is the builder inspected", () => {
    const results = run([{ args: "buildx inspect remote-builder", stdout: buildxInspect({ driver: "remote" }) }], {
      "finsight:builder": "remote-builder",
    });
    assert.deepEqual(statuses(results), ["pass", "pass"], JSON.stringify(results));
  });

  it("no docker at all", () => {
    const results = run(undefined);
    assert.deepEqual(statuses(results), ["fail", "fail"]);
    assert.equal(results[0].detail, "docker is not on PATH");
    assert.equal(results[1].detail, "not checked: no builder");
  });

  it("docker without buildx (Debian's docker.io 20.10): install the plugin, then create the builder", () => {
    const results = run([
      { args: "buildx", status: 1, stderr: "docker: 'buildx' is not a docker command.\nSee 'docker --help'\n" },
    ]);
    assert.equal(results[0].status, "fail");
    assert.equal(results[0].detail, "docker buildx inspect failed: docker: 'buildx' is not a docker command.");
    assert.match(
      results[0].fix ?? "",
      /^install Docker's buildx plugin .*then docker buildx create --name finsight --driver docker-container --use$/,
    );
  });

  it("the legacy docker driver is refused, with the create command", () => {
    const results = run([{ args: "buildx inspect", stdout: buildxInspect({ driver: "docker", buildkit: "v0.12.5" }) }]);
    assert.equal(results[0].status, "fail");
    assert.equal(
      results[0].detail,
      "finsight uses the docker driver; docker-build needs docker-container, kubernetes, remote",
    );
    assert.equal(results[0].fix, "docker buildx create --name finsight --driver docker-container --use");
  });

  it("BuildKit older than 0.13: refused, naming the version", () => {
    const results = run([{ args: "buildx inspect", stdout: buildxInspect({ buildkit: "v0.12.5" }) }]);
    assert.deepEqual(statuses(results), ["pass", "fail"]);
    assert.equal(results[1].detail, "v0.12.5; pushing with a cache export needs 0.13.0 or later");
  });

  it("a builder that has not started reports no version: bootstrap it", () => {
    const results = run([{ args: "buildx inspect", stdout: buildxInspect({ buildkit: "", status: "inactive" }) }]);
    assert.equal(results[1].status, "fail");
    assert.equal(results[1].detail, "finsight reports no BuildKit version (status inactive): it has not started yet");
    assert.equal(results[1].fix, "docker buildx inspect --bootstrap finsight");
  });

  it("a loopback registry needs the builder on the host network", () => {
    const overrides = { "finsight:registry": "localhost:5000" };
    const isolated = run([{ args: "buildx inspect", stdout: buildxInspect() }], overrides);
    assert.equal(isolated[0].status, "fail");
    assert.match(isolated[0].detail, /runs in its own network, so it cannot push to localhost:5000$/);
    assert.equal(
      isolated[0].fix,
      "docker buildx rm finsight && docker buildx create --name finsight --driver docker-container --driver-opt network=host --use",
    );
    const hostNetwork = run(
      [{ args: "buildx inspect", stdout: buildxInspect({ driverOptions: 'network="host"' }) }],
      overrides,
    );
    assert.equal(hostNetwork[0].status, "pass");
  });

  it("reads older buildx's `Buildkit:` line too", () => {
    assert.deepEqual(
      parseBuildxInspect(
        "Name: old\nDriver: docker-container\n\nNodes:\nName: old0\nStatus: running\nBuildkit: v0.13.2\n",
      ),
      {
        name: "old",
        driver: "docker-container",
        status: "running",
        buildkit: "v0.13.2",
      },
    );
  });
});
