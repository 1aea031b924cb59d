import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

/**
 * Reads the project's config the way the Pulumi CLI hands it to a program: the defaults declared
 * in Pulumi.yaml, overridden by the stack's Pulumi.<stack>.yaml, every value a string (lists as JSON).
 * `npm run plan` and the tests use it, so both see exactly what `pulumi up` sees.
 */
export interface StackConfig {
  /** Fully qualified keys (`finsight:variant`, `github:owner`) to values. Secure values are absent. */
  values: Record<string, string>;
  /** Fully qualified keys whose stack value is `secure:` (ciphertext this code never reads). */
  secureKeys: string[];
}

type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

const asConfigString = (value: YamlValue): string => (typeof value === "string" ? value : JSON.stringify(value));

function readYaml(file: string): Record<string, YamlValue> {
  const document = parse(readFileSync(file, "utf8")) as Record<string, YamlValue> | null;
  return document ?? {};
}

export function stackFileOf(projectDir: string, stack: string): string {
  return path.join(projectDir, `Pulumi.${stack}.yaml`);
}

export function readStackConfig(projectDir: string, stack: string): StackConfig {
  const project = readYaml(path.join(projectDir, "Pulumi.yaml"));
  const projectName = String(project.name);
  const qualify = (key: string) => (key.includes(":") ? key : `${projectName}:${key}`);

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

  const secureKeys: string[] = [];
  const stackValues = (readYaml(stackFileOf(projectDir, stack)).config ?? {}) as Record<string, YamlValue>;
  for (const [key, value] of Object.entries(stackValues)) {
    if (value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
      secureKeys.push(qualify(key));
      delete values[qualify(key)];
    } else {
      values[qualify(key)] = asConfigString(value);
    }
  }
  return { values, secureKeys };
}
