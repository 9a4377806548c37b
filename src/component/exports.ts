// CSV export jobs. startExport records the job and schedules its first step;
// each step is an action that reads one bounded page (a query), stores it as
// a CSV part in file storage and records it (a mutation that also moves the
// cursor, only if nobody moved it first), then schedules the next step. The
// last step joins the parts into one file. A step that throws is retried, and
// a step that dies is started again by the kick cron once its lease runs out;
// after MAX_EXPORT_ATTEMPTS the job fails with the reason, never silently.
// Finished files are deleted when they expire. Every file a job keeps is
// listed in exportFiles, so a file a step stored but died before recording is
// found and deleted by the retention cron's sweep (sweepOrphanFiles).
import { v } from "convex/values";
import {
  internalAction,
  internalMutation,
  internalQuery,
  mutation,
  query,
  type MutationCtx,
  type QueryCtx,
} from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import {
  vExportIdArgs,
  vExportProgress,
  vStartExportArgs,
  type ExportProgress,
} from "../shared.js";
import { siteOrThrow } from "./sites.js";
import { DAY, MINUTE } from "./time.js";
import { EXPORT_DONE, exportPage } from "./exportPages.js";

/**
 * The largest file an export writes. The last step holds the whole file once
 * while it joins the parts, within an action's memory; narrow the range past it.
 */
export const MAX_EXPORT_BYTES = 32 * 1024 * 1024;
/** A step still running past this has died (an action runs for at most 10 minutes). */
export const EXPORT_LEASE_MS = 15 * MINUTE;
/** Restarts (after a throw or a death) before the export fails. */
export const MAX_EXPORT_ATTEMPTS = 3;
export const DEFAULT_EXPORT_EXPIRY_MS = DAY;
export const MAX_EXPORT_EXPIRY_MS = 30 * DAY;

// ---- starting and watching -------------------------------------------------

function toProgress(doc: Doc<"exports">, url: string | null): ExportProgress {
  return {
    exportId: doc._id,
    siteId: doc.siteId,
    kind: doc.kind,
    from: doc.from,
    to: doc.to,
    status: doc.status,
    rowsWritten: doc.rowsWritten,
    done: doc.status === "done",
    error: doc.error ?? null,
    url,
    expiresAt: doc.expiresAt ?? null,
    startedAt: doc._creationTime,
  };
}

export const startExport = mutation({
  args: vStartExportArgs,
  returns: v.object({ exportId: v.string() }),
  handler: async (ctx, args) => {
    const site = await siteOrThrow(ctx, args.siteId);
    if (!Number.isFinite(args.from) || !Number.isFinite(args.to))
      throw new Error("from and to must be finite epoch milliseconds");
    if (args.to <= args.from) throw new Error("Invalid range: to must be after from");
    if (args.to - args.from > 3660 * DAY)
      throw new Error("Invalid range: an export covers at most 10 years");
    if ((args.kind === "report") !== (args.report !== undefined))
      throw new Error('report is required for kind "report", and only for it');
    const expiresInMs = args.expiresInMs ?? DEFAULT_EXPORT_EXPIRY_MS;
    if (!(expiresInMs >= MINUTE && expiresInMs <= MAX_EXPORT_EXPIRY_MS))
      throw new Error("expiresInMs must be between 1 minute and 30 days");
    const exportId = await ctx.db.insert("exports", {
      siteId: site._id,
      kind: args.kind,
      from: args.from,
      to: args.to,
      ...(args.report ? { report: args.report } : {}),
      expiresInMs,
      status: "running",
      cursor: null,
      chunks: [],
      rowsWritten: 0,
      bytesWritten: 0,
      leaseUntil: Date.now() + EXPORT_LEASE_MS,
      attempts: 0,
    });
    await ctx.scheduler.runAfter(0, internal.exports.exportStep, { exportId });
    return { exportId };
  },
});

async function exportOfSite(ctx: QueryCtx, siteId: string, exportId: string) {
  const site = await siteOrThrow(ctx, siteId);
  const id = ctx.db.normalizeId("exports", exportId);
  const doc = id && (await ctx.db.get("exports", id));
  // Another site's export is as unknown as a missing one.
  if (!doc || doc.siteId !== site._id) throw new Error(`Unknown export "${exportId}"`);
  return doc;
}

export const getExport = query({
  args: vExportIdArgs,
  returns: vExportProgress,
  handler: async (ctx, { siteId, exportId }) => {
    const doc = await exportOfSite(ctx, siteId, exportId);
    const url = doc.status === "done" && doc.fileId ? await ctx.storage.getUrl(doc.fileId) : null;
    return toProgress(doc, url);
  },
});

// ---- pages (exportPages.ts) ----------------------------------------------------

export const readPage = internalQuery({
  args: { exportId: v.id("exports") },
  returns: v.object({ csv: v.string(), rows: v.number(), bytes: v.number(), next: v.string() }),
  handler: async (ctx, { exportId }) => {
    const job = (await ctx.db.get("exports", exportId))!;
    return await exportPage(ctx, job);
  },
});

// ---- the job's steps ------------------------------------------------------------

/** Takes the job for one step; null when it is no longer running. */
export const claimStep = internalMutation({
  args: { exportId: v.id("exports") },
  returns: v.union(
    v.null(),
    v.object({ cursor: v.union(v.string(), v.null()), chunks: v.array(v.id("_storage")) }),
  ),
  handler: async (ctx, { exportId }) => {
    const job = await ctx.db.get("exports", exportId);
    if (!job || job.status !== "running") return null;
    await ctx.db.patch("exports", exportId, { leaseUntil: Date.now() + EXPORT_LEASE_MS });
    return { cursor: job.cursor, chunks: job.chunks };
  },
});

/**
 * Records a part and moves the cursor, only if the cursor is still where the
 * step started (a restarted step racing a slow one cannot write a part twice).
 * False when the part is not wanted: the caller deletes it.
 */
export const recordChunk = internalMutation({
  args: {
    exportId: v.id("exports"),
    from: v.union(v.string(), v.null()),
    chunk: v.id("_storage"),
    next: v.string(),
    rows: v.number(),
    bytes: v.number(),
  },
  returns: v.boolean(),
  handler: async (ctx, args) => {
    const job = await ctx.db.get("exports", args.exportId);
    if (!job || job.status !== "running" || job.cursor !== args.from) return false;
    const bytesWritten = job.bytesWritten + args.bytes;
    if (bytesWritten > MAX_EXPORT_BYTES) {
      await fail(
        ctx,
        job,
        `The export is over ${MAX_EXPORT_BYTES / 1024 / 1024} MiB: narrow the range`,
      );
      return false;
    }
    await ctx.db.insert("exportFiles", { exportId: job._id, fileId: args.chunk });
    await ctx.db.patch("exports", job._id, {
      chunks: [...job.chunks, args.chunk],
      cursor: args.next,
      rowsWritten: job.rowsWritten + args.rows,
      bytesWritten,
      attempts: 0,
    });
    return true;
  },
});

/** Deletes the files that still exist: a part already gone must not stop the job from failing cleanly. */
export async function deleteFiles(ctx: MutationCtx, ids: Id<"_storage">[]) {
  for (const id of ids) {
    const listed = await ctx.db
      .query("exportFiles")
      .withIndex("by_file", (q) => q.eq("fileId", id))
      .unique();
    if (listed) await ctx.db.delete("exportFiles", listed._id);
    if (await ctx.db.system.get("_storage", id)) await ctx.storage.delete(id);
  }
}

async function fail(ctx: MutationCtx, job: Doc<"exports">, error: string) {
  await deleteFiles(ctx, job.chunks);
  await ctx.db.patch("exports", job._id, { status: "failed", error, chunks: [] });
}

/** The whole file is stored: the parts go, and the file's expiry is scheduled. */
export const completeExport = internalMutation({
  args: { exportId: v.id("exports"), fileId: v.id("_storage") },
  returns: v.boolean(),
  handler: async (ctx, { exportId, fileId }) => {
    const job = await ctx.db.get("exports", exportId);
    if (!job || job.status !== "running" || job.cursor !== EXPORT_DONE) return false;
    const expiresAt = Date.now() + job.expiresInMs;
    await deleteFiles(ctx, job.chunks);
    await ctx.db.insert("exportFiles", { exportId, fileId });
    await ctx.db.patch("exports", exportId, { status: "done", fileId, chunks: [], expiresAt });
    await ctx.scheduler.runAt(expiresAt, internal.exports.expireExport, { exportId });
    return true;
  },
});

/** A step threw: try again shortly, or fail with the reason once attempts run out. */
export const stepFailed = internalMutation({
  args: { exportId: v.id("exports"), error: v.string() },
  returns: v.null(),
  handler: async (ctx, { exportId, error }) => {
    const job = await ctx.db.get("exports", exportId);
    if (!job || job.status !== "running") return null;
    await restartOrFail(ctx, job, error);
    return null;
  },
});

async function restartOrFail(ctx: MutationCtx, job: Doc<"exports">, error: string) {
  const attempts = job.attempts + 1;
  if (attempts >= MAX_EXPORT_ATTEMPTS) {
    await fail(ctx, job, `Stopped after ${attempts} attempts: ${error}`);
    return;
  }
  await ctx.db.patch("exports", job._id, {
    attempts,
    leaseUntil: Date.now() + EXPORT_LEASE_MS,
  });
  await ctx.scheduler.runAfter(attempts * 5_000, internal.exports.exportStep, {
    exportId: job._id,
  });
}

/** Deletes an expired export's file; the job stays, as "expired", so getExport says what happened. */
export const expireExport = internalMutation({
  args: { exportId: v.id("exports") },
  returns: v.null(),
  handler: async (ctx, { exportId }) => {
    const job = await ctx.db.get("exports", exportId);
    if (!job || job.status !== "done") return null;
    if (job.fileId) await deleteFiles(ctx, [job.fileId]);
    await ctx.db.patch("exports", exportId, { status: "expired", fileId: undefined });
    return null;
  },
});

export const exportStep = internalAction({
  args: { exportId: v.id("exports") },
  returns: v.null(),
  handler: async (ctx, { exportId }) => {
    const claim = await ctx.runMutation(internal.exports.claimStep, { exportId });
    if (claim === null) return null;
    try {
      if (claim.cursor === EXPORT_DONE) {
        // Every part is written: join them into one file, in order.
        const parts: Blob[] = [];
        for (const id of claim.chunks) {
          const part = await ctx.storage.get(id);
          if (part === null) throw new Error("A part of the export is missing from file storage");
          parts.push(part);
        }
        const fileId = await ctx.storage.store(
          new Blob(parts, { type: "text/csv; charset=utf-8" }),
        );
        if (!(await ctx.runMutation(internal.exports.completeExport, { exportId, fileId })))
          await ctx.storage.delete(fileId);
        return null;
      }
      const page = await ctx.runQuery(internal.exports.readPage, { exportId });
      const chunk = await ctx.storage.store(
        new Blob([page.csv], { type: "text/csv; charset=utf-8" }),
      );
      const recorded = await ctx.runMutation(internal.exports.recordChunk, {
        exportId,
        from: claim.cursor,
        chunk,
        next: page.next,
        rows: page.rows,
        bytes: page.bytes,
      });
      if (!recorded) {
        await ctx.storage.delete(chunk);
        return null;
      }
      await ctx.scheduler.runAfter(0, internal.exports.exportStep, { exportId });
    } catch (error) {
      await ctx.runMutation(internal.exports.stepFailed, {
        exportId,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    return null;
  },
});

/**
 * For the kick cron: restarts the steps of exports whose step died (its lease
 * ran out), or fails them once attempts run out. A page of 20 per kick.
 */
export async function resumeStalledExports(ctx: MutationCtx, now: number): Promise<number> {
  const stalled = await ctx.db
    .query("exports")
    .withIndex("by_status_lease", (q) => q.eq("status", "running").lt("leaseUntil", now))
    .take(20);
  for (const job of stalled) await restartOrFail(ctx, job, "a step was interrupted");
  return stalled.length;
}

/** Files of file storage this young may be a step's part not recorded yet (a step's action runs at most 10 minutes). */
export const ORPHAN_FILE_AGE_MS = EXPORT_LEASE_MS;
const SWEEP_PAGE = 100;

/**
 * For the retention cron: deletes the files no export keeps (not in
 * exportFiles) that are older than ORPHAN_FILE_AGE_MS: a part or a whole file
 * a step stored and then died before recording (or before deleting it, when
 * its job had moved on). A page of file storage per run, then the next page.
 */
export const sweepOrphanFiles = internalMutation({
  args: { cursor: v.optional(v.string()) },
  returns: v.null(),
  handler: async (ctx, { cursor }) => {
    const page = await ctx.db.system
      .query("_storage")
      .paginate({ cursor: cursor ?? null, numItems: SWEEP_PAGE });
    const before = Date.now() - ORPHAN_FILE_AGE_MS;
    for (const file of page.page) {
      if (file._creationTime >= before) continue;
      const listed = await ctx.db
        .query("exportFiles")
        .withIndex("by_file", (q) => q.eq("fileId", file._id))
        .first();
      if (!listed) await ctx.storage.delete(file._id);
    }
    if (!page.isDone)
      await ctx.scheduler.runAfter(0, internal.exports.sweepOrphanFiles, {
        cursor: page.continueCursor,
      });
    return null;
  },
});
