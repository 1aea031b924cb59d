import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { ReleaseConfigError } from "../model/errors";
import type { ConfigInput } from "../model/settings";

/**
 * Reads the project's config the way the Pulumi CLI hands it to a program: the defaults declared
 * in Pulumi.yaml, overridden by the stack's Pulumi.<stack>.yaml, every value a string (lists as JSON).
 * `npm run plan` and the tests use it, so both see exactly what `pulumi up` sees. Secure values are
 * absent (only the CLI can decrypt them); their keys are in `secretKeys`.
 */

type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

const asConfigString = (value: YamlValue): string => (typeof value === "string" ? value : JSON.stringify(value));

const kindOf = (value: unknown) => (Array.isArray(value) ? "a list" : value === null ? "nothing" : `a ${typeof value}`);
const isMapping = (value: unknown): value is Record<string, YamlValue> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A project or stack file: a YAML mapping, or a config error naming the file (and the line, for bad YAML). */
function readYaml(file: string): Record<string, YamlValue> {
  const name = path.basename(file);
  let document: unknown;
  try {
    document = parse(readFileSync(file, "utf8"));
  } catch (error) {
    // The yaml library's message quotes the offending lines below a first line that names the position.
    const first = (error as Error).message.split("\n")[0].replace(/:$/, "");
    throw new ReleaseConfigError(`${name} is not valid YAML: ${first}`);
  }
  if (document === null || document === undefined) return {};
  if (!isMapping(document)) {
    throw new ReleaseConfigError(`${name} must be a mapping with a config: section, got ${kindOf(document)}`);
  }
  if (document.config !== undefined && document.config !== null && !isMapping(document.config)) {
    throw new ReleaseConfigError(`${name}: config: must map keys to values, got ${kindOf(document.config)}`);
  }
  return document;
}

/** A stack name with no stack file: the CLI reports it as a usage error, the program as a config error. */
export class UnknownStackError extends ReleaseConfigError {}

function stackFileOf(projectDir: string, stack: string): string {
  return path.join(projectDir, `Pulumi.${stack}.yaml`);
}

/** The stacks that have a stack file in the project, sorted. */
function listStacks(projectDir: string): string[] {
  return readdirSync(projectDir)
    .map((name) => /^Pulumi\.([^.]+)\.yaml$/.exec(name)?.[1])
    .filter((stack): stack is string => stack !== undefined)
    .sort();
}

/** The project's name: what Pulumi's CLI puts before a bare config key (`pin` → `finsight:pin`). */
export function projectName(projectDir: string): string {
  return String(readYaml(path.join(projectDir, "Pulumi.yaml")).name);
}

/** A key as the Pulumi CLI stores it: a bare key belongs to the project's namespace. */
export const qualifyKey = (project: string, key: string) => (key.includes(":") ? key : `${project}:${key}`);

export function readStackConfig(
  projectDir: string,
  stack: string,
): ConfigInput & { values: Record<string, string>; secretKeys: Set<string> } {
  const stackFile = stackFileOf(projectDir, stack);
  if (!existsSync(stackFile)) {
    throw new UnknownStackError(
      `--stack must name a stack of this project (${listStacks(projectDir).join(", ")}), got ${JSON.stringify(stack)}: there is no ${path.basename(stackFile)}`,
    );
  }
  const project = readYaml(path.join(projectDir, "Pulumi.yaml"));
  const qualify = (key: string) => qualifyKey(String(project.name), key);

  const values: Record<string, string> = {};
  const declared = (project.config ?? {}) as Record<string, { default?: YamlValue } | YamlValue>;
  for (const [key, spec] of Object.entries(declared)) {
    if (
      spec !== null &&
      typeof spec === "object" &&
      !Array.isArray(spec) &&
      "default" in spec &&
      spec.default !== undefined
    ) {
      values[qualify(key)] = asConfigString(spec.default);
    }
  }

  const secretKeys = new Set<string>();
  const stackValues = (readYaml(stackFile).config ?? {}) as Record<string, YamlValue>;
  for (const [key, value] of Object.entries(stackValues)) {
    if (value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
      secretKeys.add(qualify(key));
      delete values[qualify(key)];
    } else {
      values[qualify(key)] = asConfigString(value);
    }
  }
  return { values, secretKeys };
}
