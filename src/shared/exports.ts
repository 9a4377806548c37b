// CSV exports into file storage (src/component/exports.ts): arguments and progress.
import { v, type Infer, type ObjectType } from "convex/values";
import { vDimension, vGranularity } from "./dimensions.js";

/** What an export writes: raw events, sessions, or one report's rows. */
export const vExportKind = v.union(v.literal("events"), v.literal("sessions"), v.literal("report"));
export const vExportReport = v.union(
  v.object({ type: v.literal("breakdown"), dimension: vDimension, limit: v.optional(v.number()) }),
  v.object({ type: v.literal("timeseries"), granularity: v.optional(vGranularity) }),
);
export const vStartExportArgs = {
  siteId: v.string(),
  kind: vExportKind,
  /** Events by occurredAt, sessions by startedAt, in [from, to); a report's range. Epoch ms. */
  from: v.number(),
  to: v.number(),
  /** For kind "report": which report. */
  report: v.optional(vExportReport),
  /** How long the finished file is kept before it is deleted. Default 24 hours, at most 30 days. */
  expiresInMs: v.optional(v.number()),
};
export type StartExportArgs = ObjectType<typeof vStartExportArgs>;
export const vExportStatus = v.union(
  v.literal("running"),
  v.literal("done"),
  v.literal("failed"),
  v.literal("expired"),
);
export const vExportIdArgs = { siteId: v.string(), exportId: v.string() };
export const vExportProgress = v.object({
  exportId: v.string(),
  siteId: v.string(),
  kind: vExportKind,
  from: v.number(),
  to: v.number(),
  status: vExportStatus,
  /** CSV rows written so far, the header not included. */
  rowsWritten: v.number(),
  done: v.boolean(),
  /** Why it failed, or null. */
  error: v.union(v.string(), v.null()),
  /** The CSV's download URL once done, until it expires. */
  url: v.union(v.string(), v.null()),
  /** When the file is deleted (set once done). */
  expiresAt: v.union(v.number(), v.null()),
  startedAt: v.number(),
});
export type ExportProgress = Infer<typeof vExportProgress>;
