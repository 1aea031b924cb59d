import { loadReleaseConfig } from "./src/config";
import { planRelease } from "./src/plan/release-plan";
import { ReleaseImage } from "./src/resources/release-image";

const { inputs, registryPassword } = loadReleaseConfig();
const plan = planRelease(inputs);
const image = new ReleaseImage(plan.variant, { plan, registryPassword });

export const variant = plan.variant;
export const version = plan.version.text;
export const versionSource = plan.version.source;
export const repository = plan.repository;
export const imageRef = image.pinnedRef;
export const digest = image.digest;
export const tags = image.tags;
