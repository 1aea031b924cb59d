import { readFileSync } from "node:fs";
import * as path from "node:path";
import semver from "semver";
import { type CommandResult, firstLine, runCommand } from "./commands";
import type { DoctorContext } from "./context";
import { type CheckResult, fail, pass } from "./report";

/** Node.js: what package.json's engines admit (the Pulumi SDK's own floor); the workflows use 24. */
export function checkNode(context: DoctorContext): CheckResult {
  const title = "Node.js";
  const engines = (
    JSON.parse(readFileSync(path.join(context.projectDir, "package.json"), "utf8")) as {
      engines?: { node?: string };
    }
  ).engines?.node;
  const running = context.nodeVersion;
  if (engines && !semver.satisfies(running, engines)) {
    return fail(
      "node",
      title,
      `${running} is older than package.json asks (${engines}; the workflows use 24)`,
      'export PATH="$(dirname "$(npm exec --yes --package=node@24 -- node -p process.execPath)"):$PATH"',
    );
  }
  return pass("node", title, `v${running} (package.json asks ${engines ?? "any"}; the workflows use 24)`);
}

/** How the doctor runs the Pulumi CLI: in the project, never prompting, no update check on the network. */
export function pulumi(context: DoctorContext, args: string[]): CommandResult {
  return runCommand("pulumi", [...args, "--non-interactive"], {
    cwd: context.projectDir,
    env: { ...context.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
    timeoutMs: 30_000,
  });
}

/** The Pulumi CLI, at the version every workflow installs (.github/pulumi-version). */
export function checkPulumiCli(context: DoctorContext): CheckResult {
  const title = "Pulumi CLI";
  const wanted = readFileSync(path.join(context.projectDir, ".github", "pulumi-version"), "utf8").trim();
  const install = `curl -fsSL https://get.pulumi.com | sh -s -- --version ${wanted}`;
  const result = runCommand("pulumi", ["version"], {
    cwd: context.projectDir,
    env: { ...context.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
    timeoutMs: 20_000,
  });
  if (!result.ran || result.status !== 0) {
    context.pulumiCli = false;
    return fail(
      "pulumi-cli",
      title,
      result.ran ? `pulumi version failed: ${firstLine(result)}` : result.message,
      install,
    );
  }
  context.pulumiCli = true;
  const found = semver.clean(result.stdout.trim());
  if (found === null) {
    return fail(
      "pulumi-cli",
      title,
      `pulumi version printed ${JSON.stringify(result.stdout.trim().slice(0, 40))}, not a version`,
      install,
    );
  }
  if (found !== wanted) {
    return fail("pulumi-cli", title, `v${found}, but the workflows use v${wanted} (.github/pulumi-version)`, install);
  }
  return pass("pulumi-cli", title, `v${found}, as .github/pulumi-version`);
}

const needsCli = (id: string, title: string) =>
  fail(id, title, "not checked: needs the Pulumi CLI (above)", "install the Pulumi CLI first");

function loginFix(stack: string): string {
  return stack === "local"
    ? 'mkdir -p .pulumi-local && export PULUMI_BACKEND_URL="file://$PWD/.pulumi-local" PULUMI_CONFIG_PASSPHRASE=local-only'
    : "pulumi login   (Pulumi Cloud; or export PULUMI_ACCESS_TOKEN=…, or pulumi login s3://… for a self-managed backend)";
}

/** A backend login: who `pulumi whoami` says we are, and where the state lives. */
export function checkLogin(context: DoctorContext): CheckResult {
  const title = "Pulumi backend login";
  if (!context.pulumiCli) return needsCli("pulumi-login", title);
  const result = pulumi(context, ["whoami", "--json"]);
  if (!result.ran || result.status !== 0) {
    return fail("pulumi-login", title, `not logged in: ${firstLine(result)}`, loginFix(context.stack));
  }
  let who: unknown;
  try {
    who = JSON.parse(result.stdout);
  } catch {
    who = undefined;
  }
  const user = (who as { user?: unknown })?.user;
  const url = (who as { url?: unknown })?.url;
  if (typeof user !== "string" || typeof url !== "string") {
    return fail(
      "pulumi-login",
      title,
      "pulumi whoami --json did not name a user and a backend URL",
      loginFix(context.stack),
    );
  }
  context.pulumiLogin = true;
  return pass("pulumi-login", title, `${user} at ${url}`);
}

/** The stack exists in that backend (`pulumi stack ls` lists this project's stacks). */
export function checkStack(context: DoctorContext): CheckResult {
  const title = `stack ${context.stack}`;
  if (!context.pulumiCli) return needsCli("pulumi-stack", title);
  const init = `pulumi stack init ${context.stack}${context.stack === "local" ? "" : `   (in a Pulumi Cloud organization: pulumi stack init <org>/${context.stack})`}`;
  if (!context.pulumiLogin)
    return fail("pulumi-stack", title, "not checked: needs a backend login (above)", loginFix(context.stack));
  const result = pulumi(context, ["stack", "ls", "--json"]);
  if (!result.ran || result.status !== 0)
    return fail("pulumi-stack", title, `pulumi stack ls failed: ${firstLine(result)}`, init);
  let stacks: unknown;
  try {
    stacks = JSON.parse(result.stdout);
  } catch {
    stacks = undefined;
  }
  if (!Array.isArray(stacks)) return fail("pulumi-stack", title, "pulumi stack ls --json did not print a list", init);
  // Pulumi Cloud names a stack `org/project/stack` or `org/stack`; the file backend by its name alone.
  const found = stacks
    .map((entry) => (entry as { name?: unknown })?.name)
    .find((name) => typeof name === "string" && name.split("/").at(-1) === context.stack);
  if (found === undefined) {
    const names = stacks.map((entry) => String((entry as { name?: unknown })?.name)).join(", ") || "none";
    return fail("pulumi-stack", title, `not in this backend (it has: ${names})`, init);
  }
  context.pulumiStack = true;
  return pass("pulumi-stack", title, `exists (${found})`);
}
