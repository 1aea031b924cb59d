/**
 * The last case, replayed as a fixed history through the same world the generated histories
 * use (the real pipeline and floating-tag provider, the in-memory registry): one 429 on the PUT of `v1`
 * during a rollback. The run fails with the environment still serving what it served, and the next
 * `pulumi up` completes the rollback: every pinned tag on 1.2.0, and the environment serving it. The
 * world also compares the result with one clean run on a copy of the registry (promise 7).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { RegistryModel } from "../support/registry-model";
import { modelBackend, type Operation, ReleaseWorld } from "./release-world";

const release = (version: string): Operation => ({
  kind: "release",
  version,
  templates: 0,
  platforms: 0,
  content: "same",
});

it("an interrupted rollback converges: the environment waits, and the next pulumi up completes it", async () => {
  const world = new ReleaseWorld(modelBackend(new RegistryModel()));
  await world.apply(release("1.2.0"));
  await world.apply(release("1.3.0"));
  const v120 = await world.digestOf("v1.2.0");
  const v130 = await world.digestOf("v1.3.0");
  assert.ok(v120 && v130 && v120 !== v130);
  assert.equal(world.servedRef?.endsWith(`@${v130}`), true);

  await world.apply({ kind: "fault", fault: { kind: "put-fails", tag: "v1", applied: false, status: 429 } });
  await world.apply({ kind: "pin", version: "1.2.0" });
  const ran = world.log.join("\n");
  assert.match(ran, /pin 1\.2\.0\n {2}-> failed: .*could not write the tag v1 .*HTTP 429/);
  assert.match(ran, /…the next pulumi up, without the fault\n {2}-> ok, phase rollback, serves 1\.2\.0/);
  for (const tag of ["latest", "v1", "v1.2"]) assert.equal(await world.digestOf(tag), v120, tag);
  assert.equal(await world.digestOf("v1.3"), v130, "1.3.0's own minor line is not the pin's");
  assert.equal(world.servedRef?.endsWith(`@${v120}`), true);
});
