import { invalidSetting, ReleaseConfigError } from "../model/errors";

/**
 * `finsight:buildArgs`: extra build arguments of the stack's image, a map of name to string
 * (`{ BASE_IMAGE: localhost:5000/finsight-offline-base }`). They are build inputs like any other:
 * they go into the build args and into the build-inputs label, so changing one is another release.
 */

const SETTING = "finsight:buildArgs";

/** Set by the plan itself for some variant (plan/image-inputs.ts; a test keeps the two lists equal). */
export const PLAN_BUILD_ARGS = ["USE_LIGHT", "SKIP_ML", "SOURCE_DATE_EPOCH"] as const;

/** BuildKit sets these per platform; a value given here would contradict `finsight:platforms`. */
const PLATFORM_ARGS = [
  "TARGETPLATFORM",
  "TARGETOS",
  "TARGETARCH",
  "TARGETVARIANT",
  "BUILDPLATFORM",
  "BUILDOS",
  "BUILDARCH",
  "BUILDVARIANT",
];

/** Docker's predefined proxy args: a machine's proxy is not a release input (it would change the label per machine). */
const PROXY_ARGS = ["HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY"];

/** Names that say credential: a build arg stays in the image's history and in the stack file as plain text. */
const CREDENTIAL_NAME = /(password|passwd|token|secret|private.?key|credential)/i;

/** Why a name cannot be a finsight:buildArgs entry, or undefined when it can. */
function refusal(name: string): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    return "a build arg name: letters, digits and _, not starting with a digit";
  }
  const upper = name.toUpperCase();
  if ((PLAN_BUILD_ARGS as readonly string[]).includes(name)) {
    return `a name the release does not set itself (${PLAN_BUILD_ARGS.join(", ")} come from finsight:variant and the commit)`;
  }
  if (PLATFORM_ARGS.includes(upper))
    return "a name BuildKit does not set itself (platform args follow finsight:platforms)";
  if (upper.startsWith("BUILDKIT_")) return "a name outside BUILDKIT_*, which changes how BuildKit builds";
  if (PROXY_ARGS.includes(upper)) {
    return "a name other than a proxy variable: set the proxy on the builder, since a build arg enters the release's build-inputs label";
  }
  if (CREDENTIAL_NAME.test(name)) {
    return "a name that is not a credential: build args are stored in plain text in the stack file and the image history";
  }
  return undefined;
}

/**
 * The map as Pulumi hands it over (JSON text; unset or empty means none), checked: every entry a valid,
 * unreserved name with a one-line string value. Every bad entry is reported, each naming the key.
 */
export function parseBuildArgs(text: string | undefined): Record<string, string> {
  if (text === undefined || text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw invalidSetting(SETTING, "a map of build arg names to strings, such as {BASE_IMAGE: busybox:1.37}", parsed);
  }
  const problems: string[] = [];
  const args: Record<string, string> = {};
  for (const name of Object.keys(parsed).sort()) {
    const value = (parsed as Record<string, unknown>)[name];
    const notAccepted = refusal(name);
    if (notAccepted) {
      problems.push(invalidSetting(`${SETTING}.${name}`, notAccepted, name).message);
    } else if (typeof value !== "string") {
      problems.push(invalidSetting(`${SETTING}.${name}`, "a string (quote numbers and booleans)", value).message);
    } else if ([...value].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) {
      problems.push(invalidSetting(`${SETTING}.${name}`, "one line of text without control characters", value).message);
    } else {
      args[name] = value;
    }
  }
  if (problems.length > 0) throw new ReleaseConfigError(problems.join("\n"), problems);
  return args;
}
