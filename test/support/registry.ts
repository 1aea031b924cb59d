/**
 * A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8) on a loopback port,
 * with basic auth from an htpasswd file, its storage in a temporary directory that goes with it.
 * Images are seeded through the registry's own upload API, so no Docker engine or base image is needed.
 */
import { execFileSync, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before } from "node:test";

export const REGISTRY_USER = "release-bot";
/**
 * Hostile on purpose: `:` (the basic pair's separator), `@` (a URL's userinfo end), `%` (a percent
 * escape) and a newline (a header or log line break), so every encoding and cut of it is exercised.
 */
export const REGISTRY_PASSWORD = "Pa:ss@w%rd\nl2!Zq";
/** The test registry's login, as the registry client takes it. */
export const REGISTRY_CREDENTIALS = { username: REGISTRY_USER, password: REGISTRY_PASSWORD };

export interface TestRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  stop(): Promise<void>;
  /**
   * Removes a tag as the registry's own tag deletion does (distribution 2.8 has no API for deleting a
   * tag alone): its link in the storage directory goes; the manifest and its other tags stay.
   */
  deleteTag(repository: string, tag: string): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Fails with the fix in the message when the machine lacks what the registry tests need. */
function requireCommand(command: string, debianPackage: string): void {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
  } catch {
    throw new Error(
      `${command} is not installed: the registry tests need Debian's ${debianPackage} package (sudo apt-get install -y ${debianPackage})`,
    );
  }
}

export interface RegistryOptions {
  /**
   * `htpasswd`: basic auth (the default). `token`: the bearer-token flow GHCR and Docker Hub use, with a
   * token service on another loopback port that signs JWTs the registry verifies against a test certificate.
   */
  auth?: "htpasswd" | "token";
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

/**
 * A token service as distribution's token auth expects (docs/spec/auth/token.md): it checks the basic
 * credentials and answers `{ token }`, a JWT signed with the test key whose `x5c` header carries the
 * certificate the registry trusts, granting the requested actions on the requested repository.
 */
async function startTokenService(dir: string): Promise<{ realm: string; certificate: string; close(): Promise<void> }> {
  requireCommand("openssl", "openssl");
  const key = path.join(dir, "token.key");
  const certificate = path.join(dir, "token.crt");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=finsight-test-token",
      "-keyout",
      key,
      "-out",
      certificate,
    ],
    { stdio: "ignore" },
  );
  const privateKey = fs.readFileSync(key, "utf8");
  const der = fs.readFileSync(certificate, "utf8").replace(/-----[^-]+-----|\s/g, "");
  const expected = `Basic ${Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString("base64")}`;
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://token");
    if (request.headers.authorization !== expected) return void response.writeHead(401).end();
    const [type, name, actions] = (url.searchParams.get("scope") ?? "").split(":");
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", x5c: [der] }));
    const claims = b64url(
      JSON.stringify({
        iss: TOKEN_ISSUER,
        sub: REGISTRY_USER,
        aud: url.searchParams.get("service"),
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: `${now}-${Math.random()}`,
        access: type === "repository" ? [{ type, name, actions: (actions ?? "").split(",") }] : [],
      }),
    );
    const signature = crypto.createSign("RSA-SHA256").update(`${header}.${claims}`).sign(privateKey);
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ token: `${header}.${claims}.${b64url(signature)}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    certificate,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const TOKEN_ISSUER = "finsight-test-issuer";

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  requireCommand("docker-registry", "docker-registry");
  requireCommand("htpasswd", "apache2-utils");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "finsight-registry-"));
  const htpasswd = execFileSync("htpasswd", ["-Bbn", REGISTRY_USER, REGISTRY_PASSWORD], { encoding: "utf8" });
  fs.writeFileSync(path.join(dir, "htpasswd"), htpasswd);
  const tokens = options.auth === "token" ? await startTokenService(dir) : undefined;
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, "config.yml"),
    [
      "version: 0.1",
      "log: { level: error }",
      `storage: { filesystem: { rootdirectory: ${path.join(dir, "data")} } }`,
      `http: { addr: "127.0.0.1:${port}" }`,
      tokens
        ? `auth: { token: { realm: "${tokens.realm}", service: finsight-test, issuer: ${TOKEN_ISSUER}, rootcertbundle: ${tokens.certificate} } }`
        : `auth: { htpasswd: { realm: finsight-test, path: ${path.join(dir, "htpasswd")} } }`,
      "",
    ].join("\n"),
  );
  const child = spawn("docker-registry", ["serve", path.join(dir, "config.yml")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const host = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
    await tokens?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const response = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1000) });
      if (response.status === 401 || response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not start on ${host}: ${stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const deleteTag = (repository: string, tag: string) => {
    const link = path.join(
      dir,
      "data",
      "docker",
      "registry",
      "v2",
      "repositories",
      repository,
      "_manifests",
      "tags",
      tag,
    );
    if (!fs.existsSync(link)) throw new Error(`no tag ${tag} in ${repository} to delete`);
    fs.rmSync(link, { recursive: true });
  };
  return { host, stop, deleteTag };
}

/**
 * A registry for the enclosing suite: started before its tests, stopped after them. `host` is read
 * inside tests, once the registry is up.
 */
export function registryForSuite(options: RegistryOptions = {}): {
  readonly host: string;
  deleteTag(repository: string, tag: string): void;
} {
  let registry: TestRegistry | undefined;
  before(async () => {
    registry = await startRegistry(options);
  });
  after(async () => registry?.stop());
  return {
    get host() {
      if (!registry) throw new Error("the suite's registry is read before it started");
      return registry.host;
    },
    deleteTag(repository: string, tag: string) {
      if (!registry) throw new Error("the suite's registry is used before it started");
      registry.deleteTag(repository, tag);
    },
  };
}

/** Writes `<dir>/config.json` as `docker login <host>` (and docker/login-action in CI) leaves it. */
export function writeDockerLogin(dir: string, host: string): string {
  const auth = Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString("base64");
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ auths: { [host]: { auth } } }));
  return dir;
}

const basic = `Basic ${Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString("base64")}`;
const digestOf = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

async function uploadBlob(host: string, repository: string, bytes: Buffer): Promise<string> {
  const digest = digestOf(bytes);
  const start = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, {
    method: "POST",
    headers: { authorization: basic },
  });
  if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get("location") as string, `http://${host}`);
  location.searchParams.set("digest", digest);
  const put = await fetch(location, {
    method: "PUT",
    headers: { authorization: basic, "content-type": "application/octet-stream" },
    body: new Uint8Array(bytes),
  });
  if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${await put.text()}`);
  return digest;
}

export async function putManifest(host: string, repository: string, tag: string, manifest: object): Promise<string> {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const mediaType = (manifest as { mediaType: string }).mediaType;
  const response = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
    method: "PUT",
    headers: { authorization: basic, "content-type": mediaType },
    body: new Uint8Array(bytes),
  });
  if (response.status !== 201) throw new Error(`manifest ${tag}: HTTP ${response.status} ${await response.text()}`);
  return digestOf(bytes);
}

export interface SeedImage {
  labels?: Record<string, string>;
  /** Content of the one layer; differing content gives a differing digest. */
  content?: string;
  architecture?: string;
}

/** Uploads a one-layer image (a few bytes of layer, its config, an OCI manifest: the registry does not unpack layers) under `tag`; returns its digest. */
export async function pushImage(host: string, repository: string, tag: string, image: SeedImage = {}): Promise<string> {
  const layer = Buffer.from(image.content ?? `finsight ${tag}`);
  const layerDigest = await uploadBlob(host, repository, layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: image.architecture ?? "amd64",
      os: "linux",
      config: { Labels: image.labels ?? {} },
      rootfs: { type: "layers", diff_ids: [layerDigest] },
    }),
  );
  const configDigest = await uploadBlob(host, repository, config);
  return putManifest(host, repository, tag, {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layerDigest, size: layer.length }],
  });
}

/** The digest a tag resolves to now, read with a plain authenticated HEAD (independent of the client under test). */
export async function tagDigest(host: string, repository: string, tag: string): Promise<string | undefined> {
  const response = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
    method: "HEAD",
    headers: {
      authorization: basic,
      // Every manifest kind, Docker's too: offered less, distribution 2.8 converts a Docker image's
      // manifest to schema 1, whose digest differs.
      accept: [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
      ].join(", "),
    },
  });
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw new Error(`HEAD ${tag}: HTTP ${response.status}`);
  return response.headers.get("docker-content-digest") ?? undefined;
}

/**
 * Many releases at once, as a long-lived repository holds them: one shared layer, and per tag its
 * own config (labelled with its version, so every digest differs) and manifest, a few tags at a time.
 * Returns each tag's digest.
 */
export async function pushReleases(
  host: string,
  repository: string,
  tags: readonly string[],
): Promise<Record<string, string>> {
  const layer = Buffer.from("finsight release history");
  const layerDigest = await uploadBlob(host, repository, layer);
  const digests: Record<string, string> = {};
  const push = async (tag: string) => {
    const config = Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: { Labels: { "org.opencontainers.image.version": tag.replace(/^v/, "") } },
        rootfs: { type: "layers", diff_ids: [layerDigest] },
      }),
    );
    const configDigest = await uploadBlob(host, repository, config);
    digests[tag] = await putManifest(host, repository, tag, {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layerDigest, size: layer.length }],
    });
  };
  for (let i = 0; i < tags.length; i += 16) await Promise.all(tags.slice(i, i + 16).map(push));
  return digests;
}

/** The floating-tag provider's inputs for a tag on the test registry, with the test login. */
export function tagProps(
  host: string,
  repository: string,
  tag: string,
  source: string,
  extra: { seenDigest?: string } = {},
) {
  return {
    host,
    repository,
    tag,
    source,
    insecure: false,
    ...REGISTRY_CREDENTIALS,
    ...(extra.seenDigest !== undefined ? { seenDigest: extra.seenDigest } : {}),
  };
}
