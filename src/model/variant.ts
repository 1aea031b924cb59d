/** The two images FinSight ships from one Dockerfile: the light demo and the full-ML production build. */
export type Variant = "demo" | "full";
export const VARIANTS: readonly Variant[] = ["demo", "full"];
