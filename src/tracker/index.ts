// The npm entry: `import { createTracker } from "convex-event-analytics/tracker"`.
// The script-tag build (script.ts) wraps the same core.
export {
  createTracker,
  droppedBatches,
  BATCH_SIZE,
  FLUSH_MS,
  MAX_STORED_BATCHES,
  MAX_ATTEMPTS,
} from "./core.js";
export type {
  Batch,
  PageviewOptions,
  Props,
  Tracker,
  TrackerEvent,
  TrackerOptions,
} from "./types.js";
