import semver from "semver";
import { isLoopbackHost } from "../registry/client";
import { type CommandResult, firstLine, runCommand } from "./commands";
import type { DoctorContext } from "./context";
import { type CheckResult, fail, pass, skip } from "./report";

/** Pushing together with a cache export needs BuildKit 0.13 or later (docker-build's own requirement). */
const MIN_BUILDKIT = "0.13.0";
/** Drivers docker-build builds with; the legacy `docker` driver is refused by the provider. */
const DRIVERS = ["docker-container", "kubernetes", "remote"];

interface BuilderFacts {
  name?: string;
  driver?: string;
  status?: string;
  buildkit?: string;
  driverOptions?: string;
}

/** `docker buildx inspect`'s text: `Name:`, `Driver:`, and per node `Status:`, `BuildKit version:` (older buildx: `Buildkit:`). */
export function parseBuildxInspect(text: string): BuilderFacts {
  const facts: BuilderFacts = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Za-z][A-Za-z ]*?):\s+(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, key, value] = match;
    if (key === "Name" && facts.name === undefined) facts.name = value;
    else if (key === "Driver") facts.driver = value;
    else if (key === "Status" && facts.status === undefined) facts.status = value;
    else if ((key === "BuildKit version" || key === "Buildkit") && facts.buildkit === undefined) facts.buildkit = value;
    else if (key === "Driver Options" && facts.driverOptions === undefined) facts.driverOptions = value;
  }
  return facts;
}

const TITLES = { builder: "buildx builder", buildkit: "BuildKit version" };

/** The buildx builder docker-build will use: finsight:builder, else the current one. */
export function checkBuilder(context: DoctorContext): CheckResult[] {
  const intent = context.settings?.intent;
  if (intent?.kind === "rollback") {
    return [
      skip(
        "builder",
        TITLES.builder,
        `finsight:pin is ${intent.pin}: a rollback builds nothing, so it needs no builder`,
      ),
    ];
  }
  const named = context.settings?.builder;
  const loopback = context.settings ? isLoopbackHost(context.settings.repository.host) : false;
  const create = `docker buildx create --name finsight --driver docker-container${loopback ? " --driver-opt network=host" : ""} --use`;
  const result = runCommand("docker", ["buildx", "inspect", ...(named ? [named] : [])], {
    cwd: context.projectDir,
    env: context.env,
    timeoutMs: 30_000,
  });
  if (!result.ran || result.status !== 0) return inspectFailed(result, named, create);
  const facts = parseBuildxInspect(result.stdout);
  const name = facts.name ?? named ?? "(current)";
  return [driverLine(context, facts, name, loopback, create), buildkitLine(facts, name, create)];
}

/** `docker buildx inspect` did not run, or failed: the builder line says why, the BuildKit line is not checked. */
function inspectFailed(result: CommandResult, named: string | undefined, create: string): CheckResult[] {
  const notChecked = fail("buildkit", TITLES.buildkit, "not checked: no builder", "fix the builder first");
  if (!result.ran) {
    const fix =
      result.why === "missing"
        ? "install Docker (Debian: apt-get install docker.io) and its buildx plugin"
        : "check that the Docker engine answers: docker info";
    return [fail("builder", TITLES.builder, result.message, fix), notChecked];
  }
  const said = firstLine(result);
  const fix = /not a docker command|unknown command/i.test(said)
    ? `install Docker's buildx plugin (https://docs.docker.com/build/install-buildx/), then ${create}`
    : named
      ? `${create.replace("--name finsight", `--name ${named}`)}   (finsight:builder names ${named})`
      : create;
  return [fail("builder", TITLES.builder, `docker buildx inspect failed: ${said}`, fix), notChecked];
}

/** The builder's driver is one docker-build builds with, and (for a loopback registry) shares the host's network. */
function driverLine(
  context: DoctorContext,
  facts: BuilderFacts,
  name: string,
  loopback: boolean,
  create: string,
): CheckResult {
  if (!facts.driver || !DRIVERS.includes(facts.driver)) {
    return fail(
      "builder",
      TITLES.builder,
      `${name} uses the ${facts.driver ?? "unknown"} driver; docker-build needs ${DRIVERS.join(", ")}`,
      create,
    );
  }
  if (loopback && facts.driver === "docker-container" && !/network="?host"?/.test(facts.driverOptions ?? "")) {
    return fail(
      "builder",
      TITLES.builder,
      `${name} (docker-container) runs in its own network, so it cannot push to ${context.settings?.repository.host}`,
      `docker buildx rm ${name} && ${create}`,
    );
  }
  return pass("builder", TITLES.builder, `${name}, driver ${facts.driver}`);
}

/** The builder has started and runs BuildKit MIN_BUILDKIT or later. */
function buildkitLine(facts: BuilderFacts, name: string, create: string): CheckResult {
  const version = facts.buildkit ? semver.coerce(facts.buildkit)?.version : undefined;
  if (version === undefined) {
    return fail(
      "buildkit",
      TITLES.buildkit,
      `${name} reports no BuildKit version (status ${facts.status ?? "unknown"}): it has not started yet`,
      `docker buildx inspect --bootstrap ${name}`,
    );
  }
  if (semver.lt(version, MIN_BUILDKIT)) {
    return fail(
      "buildkit",
      TITLES.buildkit,
      `${facts.buildkit}; pushing with a cache export needs ${MIN_BUILDKIT} or later`,
      `docker buildx rm ${name} && ${create}   (a new builder runs the current moby/buildkit)`,
    );
  }
  return pass("buildkit", TITLES.buildkit, `${facts.buildkit} (${MIN_BUILDKIT} or later)`);
}
