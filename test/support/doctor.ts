/**
 * Stand-ins for `npm run doctor`'s tests: fake `pulumi` and `docker` commands written into a directory
 * that becomes the whole PATH (with git and a shell beside them, and nothing else), a loopback stand-in
 * for the GitHub REST API, and the context a check runs with.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { DoctorContext } from "../../src/doctor/context";
import { PROJECT_DIR } from "./program";

/** One answer of a fake command: when its arguments start with `args`, print this and exit with `status`. */
export interface FakeAnswer {
  args: string;
  stdout?: string;
  stderr?: string;
  status?: number;
}

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

function fakeScript(name: string, answers: FakeAnswer[]): string {
  const cases = answers.map(
    (answer) =>
      `  ${quote(answer.args)}*) printf '%s' ${quote(answer.stdout ?? "")}; printf '%s' ${quote(answer.stderr ?? "")} >&2; exit ${answer.status ?? 0} ;;`,
  );
  return [
    "#!/bin/sh",
    `# A stand-in for ${name}, written by a test: it answers only the calls listed here.`,
    'case "$*" in',
    ...cases,
    "esac",
    `echo "fake ${name}: no answer for: $*" >&2`,
    "exit 97",
    "",
  ].join("\n");
}

export interface FakeTools {
  /** The PATH to run with: the fakes, then git and sh only. */
  path: string;
  dir: string;
  remove(): void;
}

/** A PATH holding the given fake commands, plus git and sh; a command not given is not on it at all. */
export function fakeTools(commands: { pulumi?: FakeAnswer[]; docker?: FakeAnswer[] }): FakeTools {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "finsight-doctor-path-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  for (const [name, answers] of Object.entries(commands)) {
    if (!answers) continue;
    fs.writeFileSync(path.join(bin, name), fakeScript(name, answers), { mode: 0o755 });
  }
  for (const tool of ["git", "sh"]) {
    const real = execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
    fs.symlinkSync(real, path.join(bin, tool));
  }
  return { path: bin, dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** The fake Pulumi CLI of a user who has done everything right for `stack`. */
export function goodPulumi(stack: string, extra: FakeAnswer[] = []): FakeAnswer[] {
  const version = fs.readFileSync(path.join(PROJECT_DIR, ".github", "pulumi-version"), "utf8").trim();
  return [
    ...extra,
    { args: "version", stdout: `v${version}\n` },
    {
      args: "whoami --json",
      stdout: '{"user":"release-admin","organizations":["finsight-test"],"url":"https://api.pulumi.com"}\n',
    },
    {
      args: "stack ls --json",
      stdout: `[{"name":"finsight-test/finsight/${stack}","current":false,"updateInProgress":false}]\n`,
    },
  ];
}

/** `docker buildx inspect` of a docker-container builder running a given BuildKit, as buildx prints it. */
export function buildxInspect(
  options: { driver?: string; buildkit?: string; status?: string; driverOptions?: string } = {},
): string {
  return [
    "Name:          finsight",
    `Driver:        ${options.driver ?? "docker-container"}`,
    "Last Activity: 2026-12-01 10:00:00 +0000 UTC",
    "",
    "Nodes:",
    "Name:                  finsight0",
    "Endpoint:              unix:///var/run/docker.sock",
    ...(options.driverOptions ? [`Driver Options:        ${options.driverOptions}`] : []),
    `Status:                ${options.status ?? "running"}`,
    ...(options.buildkit === "" ? [] : [`BuildKit version:      ${options.buildkit ?? "v0.16.0"}`]),
    "Platforms:             linux/amd64, linux/amd64/v2",
    "",
  ].join("\n");
}

export function doctorContext(overrides: Partial<DoctorContext> & { path: string }): DoctorContext {
  const { path: searchPath, ...rest } = overrides;
  return {
    projectDir: PROJECT_DIR,
    stack: "demo",
    // A HOME without a docker login: a test that wants one sets DOCKER_CONFIG.
    env: { PATH: searchPath, HOME: path.join(os.tmpdir(), "finsight-doctor-no-home") },
    readOnly: false,
    nodeVersion: process.versions.node,
    secrets: [],
    ...rest,
  };
}

/** A route of the GitHub stand-in: `GET /repos/o/r` → status, JSON body, headers. */
export interface Route {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface GitHubStandIn {
  url: string;
  /** Every request: method, path with query, and the Authorization header it carried. */
  requests: { method: string; path: string; authorization?: string }[];
  routes: Map<string, Route>;
  close(): Promise<void>;
}

/**
 * A loopback stand-in for the GitHub REST API: answers the routes it is given (`GET /path?query`),
 * 404 with GitHub's body for anything else, and records what it was asked. Only the token `token`
 * is accepted; any other gets 401 as GitHub answers a bad credential.
 */
export async function startGitHubStandIn(token: string, routes: Record<string, Route>): Promise<GitHubStandIn> {
  const table = new Map(Object.entries(routes));
  const requests: GitHubStandIn["requests"] = [];
  const server = http.createServer((request, response) => {
    const key = `${request.method} ${request.url}`;
    requests.push({
      method: request.method ?? "",
      path: request.url ?? "",
      authorization: request.headers.authorization,
    });
    const send = (route: Route) => {
      response.writeHead(route.status, { "content-type": "application/json", ...(route.headers ?? {}) });
      response.end(route.body === undefined ? "" : JSON.stringify(route.body));
    };
    if (request.headers.authorization !== `Bearer ${token}`) {
      return send({
        status: 401,
        body: { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" },
      });
    }
    send(table.get(key) ?? { status: 404, body: { message: "Not Found" } });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    routes: table,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Everything a correctly set-up repository answers for a stack with `finsight:github` owner/repo, environment and one team. */
export function goodGitHub(repo: string, environment: string, team?: string): Record<string, Route> {
  const [owner] = repo.split("/");
  const ok = (body: unknown = {}): Route => ({ status: 200, body });
  return {
    [`GET /repos/${repo}`]: ok({ full_name: repo, permissions: { admin: true, push: true, pull: true } }),
    [`GET /repos/${repo}/environments?per_page=1`]: ok({ total_count: 1, environments: [] }),
    [`GET /repos/${repo}/actions/variables?per_page=1`]: ok({ total_count: 2, variables: [] }),
    [`GET /repos/${repo}/actions/secrets/public-key`]: ok({ key_id: "1", key: "AAAA" }),
    ...(team ? { [`GET /orgs/${owner}/teams/${team}`]: ok({ id: 42, slug: team }) } : {}),
    [`GET /repos/${repo}/environments/${environment}`]: ok({ name: environment }),
    [`GET /repos/${repo}/environments/${environment}/secrets/PULUMI_ACCESS_TOKEN`]: ok({ name: "PULUMI_ACCESS_TOKEN" }),
    // prod holds the admin token; every other stack the environments-only token (and never the admin one).
    ...(environment === "prod"
      ? {
          [`GET /repos/${repo}/environments/${environment}/secrets/FINSIGHT_GITHUB_ADMIN_TOKEN`]: ok({
            name: "FINSIGHT_GITHUB_ADMIN_TOKEN",
          }),
        }
      : {
          [`GET /repos/${repo}/environments/${environment}/secrets/FINSIGHT_GITHUB_TOKEN`]: ok({
            name: "FINSIGHT_GITHUB_TOKEN",
          }),
        }),
    [`GET /repos/${repo}/actions/variables/FINSIGHT_APP_REPOSITORY`]: ok({
      name: "FINSIGHT_APP_REPOSITORY",
      value: "x/y",
    }),
    [`GET /repos/${repo}/actions/variables/PULUMI_ORGANIZATION`]: ok({ name: "PULUMI_ORGANIZATION", value: "x" }),
    [`GET /repos/${repo}/actions/secrets/FINSIGHT_GITHUB_READ_TOKEN`]: ok({ name: "FINSIGHT_GITHUB_READ_TOKEN" }),
    [`GET /repos/${repo}/actions/permissions/workflow`]: ok({
      default_workflow_permissions: "read",
      can_approve_pull_request_reviews: true,
    }),
    [`GET /repos/${repo}/rules/branches/main`]: ok([{ type: "pull_request", ruleset_id: 1 }]),
    [`GET /repos/${repo}/rulesets?includes_parents=true&per_page=100`]: ok([
      { id: 1, name: "main", target: "branch", enforcement: "active" },
      { id: 2, name: "release tags", target: "tag", enforcement: "active" },
    ]),
    [`GET /repos/${repo}/rulesets/2`]: ok({
      id: 2,
      name: "release tags",
      target: "tag",
      enforcement: "active",
      conditions: { ref_name: { include: ["refs/tags/v*"], exclude: [] } },
    }),
  };
}
