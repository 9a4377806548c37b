import { defineComponent } from "convex/server";
import aggregate from "@convex-dev/aggregate/convex.config.js";

const component = defineComponent("analytics");
// Exact hourly sums of the total counters, written only by compaction.
component.use(aggregate, { name: "hourlyTotals" });

export default component;
