import { cronJobs } from "convex/server";
import { registerMaintenanceCrons } from "convex-event-analytics";
import { components } from "./_generated/api.js";

const crons = cronJobs();
// Drains left-behind shards and compacts every minute; applies retention hourly.
registerMaintenanceCrons(crons, components.analytics);
export default crons;
