import { cronJobs } from "convex/server";
import { registerMaintenanceCrons } from "convex-event-analytics";
import { internal } from "./_generated/api.js";

const crons = cronJobs();
// Drains left-behind shards and compacts every minute; applies retention hourly.
registerMaintenanceCrons(crons, internal.analytics);
export default crons;
