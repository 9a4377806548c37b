import { defineComponent } from "convex/server";
import aggregate from "@convex-dev/aggregate/convex.config.js";
import rateLimiter from "@convex-dev/rate-limiter/convex.config.js";

const component = defineComponent("analytics");
// Exact hourly sums of the total counters, written only by compaction.
component.use(aggregate, { name: "hourlyTotals" });
// Per-site and per-client ingest rate limits.
component.use(rateLimiter);

export default component;
