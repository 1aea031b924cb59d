import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

/**
 * Every third-party action the workflows and the local composite actions run, as pinned: `owner/repo[/path]@<sha> # vX.Y.Z`.
 * Shared by the workflow tests and scripts/refresh-action-inputs.ts, so both read the same list.
 */
export interface ActionPin {
  /** owner/repo, or owner/repo/path for an action in a subfolder. */
  action: string;
  sha: string;
  version: string;
  /** Where it is written, for messages. */
  file: string;
}

export const PIN_LINE = /^\s*(?:-\s+)?uses:\s*([\w.-]+\/[\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)\s*$/;

/** The workflow files and local action files under .github, relative to the project. */
export function workflowSources(projectDir: string): string[] {
  const workflows = readdirSync(path.join(projectDir, ".github", "workflows"))
    .filter((name) => name.endsWith(".yml") || name.endsWith(".yaml"))
    .map((name) => path.join(".github", "workflows", name));
  const actionsDir = path.join(projectDir, ".github", "actions");
  const actions = readdirSync(actionsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(".github", "actions", entry.name, "action.yml"));
  return [...workflows, ...actions].sort();
}

export function actionPins(projectDir: string): ActionPin[] {
  const pins: ActionPin[] = [];
  for (const file of workflowSources(projectDir)) {
    for (const line of readFileSync(path.join(projectDir, file), "utf8").split("\n")) {
      const match = PIN_LINE.exec(line);
      if (match) pins.push({ action: match[1], sha: match[2], version: match[3], file });
    }
  }
  return pins;
}

/** The snapshot's key for a pin. */
export const pinKey = (pin: Pick<ActionPin, "action" | "sha">) => `${pin.action}@${pin.sha}`;

/** What the snapshot keeps of an action's action.yml: its input names (with required/default) and output names. */
export interface ActionInterface {
  version: string;
  inputs: Record<string, { required: boolean; default?: string }>;
  outputs: string[];
}

export const SNAPSHOT = path.join(".github", "action-inputs.json");
