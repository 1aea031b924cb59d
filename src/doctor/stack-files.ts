import { existsSync } from "node:fs";
import * as path from "node:path";
import { readReleaseEnvironment } from "../inputs/process-env";
import { parseSettings } from "../inputs/settings";
import { readSourceFacts } from "../inputs/source-facts";
import { readStackConfig } from "../inputs/stack-files";
import { ReleaseConfigError } from "../model/errors";
import type { DoctorContext } from "./context";
import { type CheckResult, fail, pass, skip } from "./report";

/** The stack file parses into settings the release accepts (every problem named, as `pulumi up` would). */
export function checkSettings(context: DoctorContext): CheckResult {
  const title = "stack settings";
  const file = `Pulumi.${context.stack}.yaml`;
  try {
    const raw = readStackConfig(context.projectDir, context.stack);
    context.secretKeys = raw.secretKeys;
    context.settings = parseSettings(raw, context.stack, readReleaseEnvironment(context.env));
    return pass(
      "settings",
      title,
      `${file} is valid (variant ${context.settings.variant}, ${context.settings.repository.name})`,
    );
  } catch (error) {
    if (!(error instanceof ReleaseConfigError)) throw error;
    return fail(
      "settings",
      title,
      error.problems.join(" | "),
      `edit ${file} (pulumi config set … --stack ${context.stack}); docs/CONFIGURATION.md`,
    );
  }
}

/** The shipped stack files name the example organisation `acme`: every value holding it must become yours. */
export function checkPlaceholders(context: DoctorContext): CheckResult {
  const title = "placeholders replaced";
  const file = `Pulumi.${context.stack}.yaml`;
  let values: Record<string, string>;
  try {
    ({ values } = readStackConfig(context.projectDir, context.stack));
  } catch (error) {
    if (!(error instanceof ReleaseConfigError)) throw error;
    return fail("placeholders", title, `not checked: ${file} does not parse (above)`, "fix the settings above");
  }
  const keys = Object.entries(values)
    .filter(([, value]) => /\bacme\b/i.test(value))
    .map(([key]) => key)
    .sort();
  if (keys.length > 0) {
    return fail(
      "placeholders",
      title,
      `${file} still names the example organisation acme in ${keys.join(", ")}`,
      `replace every acme in ${file} with your GitHub organisation (docs/FIRST-RELEASE.md)`,
    );
  }
  return pass("placeholders", title, `${file} names no example organisation`);
}

/** The application checkout the build uses: there, a git checkout, clean, with its Dockerfile. */
export function checkCheckout(context: DoctorContext): CheckResult {
  const title = "application checkout";
  const settings = context.settings;
  if (!settings)
    return fail("checkout", title, "not checked: the stack settings do not parse (above)", "fix the settings above");
  if (settings.intent.kind === "rollback") {
    return skip(
      "checkout",
      title,
      `finsight:pin is ${settings.intent.pin}: a rollback builds nothing, so it needs no application checkout`,
    );
  }
  const dir = path.resolve(context.projectDir, settings.context);
  const shown = `${settings.context}/`;
  const clone = settings.sourceUrl
    ? `git clone ${settings.sourceUrl} ${settings.context}`
    : `git clone <the application's repository> ${settings.context}`;
  // No process environment here: GITHUB_SHA would otherwise stand in for a checkout that is not there.
  const facts = readSourceFacts(dir, {}, settings.dockerfile);
  if (!facts.contextExists) return fail("checkout", title, `${shown} (finsight:context) does not exist`, clone);
  if (facts.tree === undefined) {
    return fail(
      "checkout",
      title,
      `${shown} is not a git checkout: a release must name its source commit`,
      `remove it, then ${clone}`,
    );
  }
  if (!existsSync(path.join(dir, settings.dockerfile))) {
    return fail(
      "checkout",
      title,
      `${shown} has no ${settings.dockerfile} (finsight:dockerfile)`,
      `check out the application there, or set finsight:dockerfile --stack ${context.stack}`,
    );
  }
  if (facts.uncommittedUnknown)
    return fail("checkout", title, facts.uncommittedUnknown, `git -C ${settings.context} status`);
  if (facts.uncommitted.length > 0) {
    const listed = facts.uncommitted.slice(0, 3).join(", ") + (facts.uncommitted.length > 3 ? ", …" : "");
    return fail(
      "checkout",
      title,
      `${shown} has ${facts.uncommitted.length} uncommitted file(s) the build would include (${listed}); a pushing run refuses them`,
      `git -C ${settings.context} stash --include-untracked   (or commit them)`,
    );
  }
  return pass("checkout", title, `${shown} at ${facts.revision?.slice(0, 12)}, clean, ${settings.dockerfile} present`);
}
