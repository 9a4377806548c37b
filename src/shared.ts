// Validators and types shared by the component, the host-facing client and React,
// one area a file in src/shared/; this barrel re-exports every one of them, so
// code imports "../shared.js" whatever the area. Pure maths (time buckets, range
// plans, sketches, event normalisation) lives in src/component/*.ts beside the
// code that owns it; src/shared/ is only the vocabulary.
export * from "./shared/dimensions.js";
export * from "./shared/propKeys.js";
export * from "./shared/events.js";
export * from "./shared/forwardedAddresses.js";
export * from "./shared/sites.js";
export * from "./shared/admin.js";
export * from "./shared/filters.js";
export * from "./shared/reports.js";
export * from "./shared/listings.js";
export * from "./shared/goals.js";
export * from "./shared/funnels.js";
export * from "./shared/statsApi.js";
export * from "./shared/exports.js";
export * from "./shared/rebuilds.js";
export * from "./shared/deletions.js";
export * from "./shared/csv.js";
export * from "./shared/sha256.js";
