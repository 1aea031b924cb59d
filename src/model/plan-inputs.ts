import type { ReleaseSettings } from "./settings";
import type { ReleaseEnvironment, SourceFacts } from "./source-facts";

/** Everything the planner reads, gathered once at the edge; the plan is a pure function of it. */
export interface PlanInputs {
  stack: string;
  settings: ReleaseSettings;
  env: ReleaseEnvironment;
  source: SourceFacts;
  /** `pulumi preview` (or `npm run plan`): an unreadable registry or a dirty tree is a warning, not an error. */
  preview: boolean;
}
