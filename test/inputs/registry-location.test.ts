import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { imageRepository, parseRegistry, parseRepositoryPath } from "../../src/inputs/registry-location";

describe("parseRegistry", () => {
  const accepted: { value: string; host: string; namespace: string }[] = [
    { value: "ghcr.io/acme", host: "ghcr.io", namespace: "acme" },
    { value: "GHCR.IO/acme", host: "ghcr.io", namespace: "acme" },
    { value: " ghcr.io/acme/ ", host: "ghcr.io", namespace: "acme" },
    { value: "docker.io/acme/team", host: "docker.io", namespace: "acme/team" },
    { value: "localhost", host: "localhost", namespace: "" },
    { value: "localhost:5000", host: "localhost:5000", namespace: "" },
    { value: "registry.example.com:65535/x", host: "registry.example.com:65535", namespace: "x" },
    { value: "[::1]:5000/acme", host: "[::1]:5000", namespace: "acme" },
    { value: "ghcr.io/my_org/a__b", host: "ghcr.io", namespace: "my_org/a__b" },
  ];
  for (const c of accepted) {
    it(`accepts ${JSON.stringify(c.value)}`, () =>
      assert.deepEqual(parseRegistry("finsight:registry", c.value), { host: c.host, namespace: c.namespace }));
  }

  const refused = [
    "",
    "acme", // no host: Docker would push to Docker Hub
    "https://ghcr.io/acme",
    "ghcr.io/Acme",
    "localhost:0",
    "localhost:99999",
    "ghcr.io//acme",
    "ghcr.io/-acme",
    "-ghcr.io/acme",
  ];
  for (const value of refused) {
    it(`refuses ${JSON.stringify(value)}, naming the setting and the value`, () =>
      assert.throws(() => parseRegistry("finsight:cacheRef", value), {
        name: "ReleaseConfigError",
        message: `finsight:cacheRef must be a registry host with an optional namespace, such as ghcr.io/acme, docker.io/acme or localhost:5000 (no scheme, lowercase path, port 1-65535), got ${JSON.stringify(value)}`,
      }));
  }
});

describe("parseRepositoryPath and imageRepository", () => {
  it("accepts a nested image name", () =>
    assert.equal(parseRepositoryPath("finsight:imageName", "team/finsight-backend"), "team/finsight-backend"));

  for (const value of ["Finsight", "finsight/", "finsight--", "team//backend"]) {
    it(`refuses image name ${JSON.stringify(value)}`, () =>
      assert.throws(() => parseRepositoryPath("finsight:imageName", value), {
        message: new RegExp(`^finsight:imageName must be lowercase letters, .*, got ${JSON.stringify(value)}$`),
      }));
  }

  it("joins host, namespace and image name; an empty namespace adds no slash", () => {
    assert.deepEqual(imageRepository({ host: "ghcr.io", namespace: "acme" }, "finsight-backend"), {
      host: "ghcr.io",
      path: "acme/finsight-backend",
      name: "ghcr.io/acme/finsight-backend",
    });
    assert.deepEqual(imageRepository({ host: "localhost:5000", namespace: "" }, "finsight-backend"), {
      host: "localhost:5000",
      path: "finsight-backend",
      name: "localhost:5000/finsight-backend",
    });
  });

  it("exactly 255 characters is within Docker's limit; 256 is not, and the image name is blamed", () => {
    const host = { host: "ghcr.io", namespace: "acme" }; // "ghcr.io/acme/" is 13 characters
    assert.equal(imageRepository(host, "c".repeat(242)).name.length, 255);
    assert.throws(() => imageRepository(host, "c".repeat(243)), {
      message:
        /^finsight:imageName must be a value that keeps the repository \(ghcr\.io\/acme\/c{40}…\) within 255 characters \(it has 256\)/,
    });
  });
});
