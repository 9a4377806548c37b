import { cronJobs } from "convex/server";
import { registerMaintenanceCrons } from "convex-event-analytics";
import { internal } from "./_generated/api.js";

const crons = cronJobs();
// Every minute: restart stalled worker loops, and start compaction of hours closed over an hour ago.
// Hourly: retention.
registerMaintenanceCrons(crons, internal.analytics);
export default crons;
