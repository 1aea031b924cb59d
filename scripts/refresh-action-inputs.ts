/**
 * Refreshes .github/action-inputs.json: the inputs and outputs of every pinned action, read from its action.yml
 * at the pinned commit. The workflow tests check each `with:` key and each `steps.<id>.outputs.<name>` against it,
 * which actionlint cannot do for third-party actions. Run it in the pull request that moves a pin.
 *
 *   npm run refresh:action-inputs                       # reads https://raw.githubusercontent.com/<repo>/<sha>/…
 *   npm run refresh:action-inputs -- --git-dir '/src/{owner}+{repo}/repo'
 *                                                       # reads local bare clones, and checks each tag's commit
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { type ActionInterface, type ActionPin, actionPins, pinKey, SNAPSHOT } from "../test/workflows/pins";

const PROJECT_DIR = path.resolve(__dirname, "..");

function parseArgs(argv: string[]): { gitDir?: string } {
  if (argv.length === 0) return {};
  if (argv.length === 2 && argv[0] === "--git-dir" && argv[1].includes("{repo}")) return { gitDir: argv[1] };
  throw new Error(`usage: refresh-action-inputs [--git-dir TEMPLATE with {owner} and {repo}], got ${argv.join(" ")}`);
}

async function actionYaml(pin: ActionPin, gitDir?: string): Promise<string> {
  const [owner, repo, ...rest] = pin.action.split("/");
  const folder = rest.length ? `${rest.join("/")}/` : "";
  if (gitDir) {
    const dir = gitDir.replace("{owner}", owner).replace("{repo}", repo);
    const git = (...args: string[]) => execFileSync("git", ["--git-dir", dir, ...args], { encoding: "utf8" });
    const tagged = git("rev-parse", `${pin.version}^{commit}`).trim();
    if (tagged !== pin.sha) {
      throw new Error(`${pin.file}: ${pin.action} is pinned to ${pin.sha}, but its tag ${pin.version} is ${tagged}`);
    }
    for (const name of ["action.yml", "action.yaml"]) {
      try {
        return git("show", `${pin.sha}:${folder}${name}`);
      } catch {}
    }
    throw new Error(`${pin.action}@${pin.sha} has no ${folder}action.yml`);
  }
  for (const name of ["action.yml", "action.yaml"]) {
    const url = `https://raw.githubusercontent.com/${owner}/${repo}/${pin.sha}/${folder}${name}`;
    const response = await fetch(url);
    if (response.ok) return response.text();
    if (response.status !== 404) throw new Error(`GET ${url}: ${response.status}`);
  }
  throw new Error(`${pin.action}@${pin.sha} has no ${folder}action.yml`);
}

export function actionInterface(version: string, text: string): ActionInterface {
  const doc: unknown = parse(text);
  const isRecord = (value: unknown): value is Record<string, unknown> =>
    typeof value === "object" && value !== null && !Array.isArray(value);
  if (!isRecord(doc) || !isRecord(doc.runs)) throw new Error("not an action.yml: no runs");
  const inputs: ActionInterface["inputs"] = {};
  for (const [name, spec] of Object.entries(isRecord(doc.inputs) ? doc.inputs : {})) {
    const entry: ActionInterface["inputs"][string] = { required: isRecord(spec) && spec.required === true };
    if (isRecord(spec) && spec.default !== undefined) entry.default = String(spec.default);
    inputs[name] = entry;
  }
  const outputs = Object.keys(isRecord(doc.outputs) ? doc.outputs : {}).sort();
  return { version, inputs, outputs };
}

async function main() {
  const { gitDir } = parseArgs(process.argv.slice(2));
  const snapshot: Record<string, ActionInterface> = {};
  for (const pin of actionPins(PROJECT_DIR)) {
    const key = pinKey(pin);
    if (snapshot[key]) continue;
    snapshot[key] = actionInterface(pin.version, await actionYaml(pin, gitDir));
  }
  const sorted = Object.fromEntries(Object.entries(snapshot).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(path.join(PROJECT_DIR, SNAPSHOT), `${JSON.stringify(sorted, null, 2)}\n`);
  console.log(`${SNAPSHOT}: ${Object.keys(sorted).length} pinned actions`);
}

// Run as a script only: the workflow tests import actionInterface.
if (require.main === module) {
  main().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
