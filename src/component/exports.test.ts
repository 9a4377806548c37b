// CSV export jobs (exports.ts): the file parses back (with an independent
// RFC 4180 parser) to exactly the stored events; a step that dies is resumed
// by the kick cron; a job that cannot go on fails visibly; finished files
// expire and are deleted. The proof at scale is exportsAtScale.test.ts
// (10,000 events) and, at 100,000, bench/exports.bench.test.ts.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { initConvexTest, runWorkers } from "./test.setup.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { EXPORT_LEASE_MS, MAX_EXPORT_ATTEMPTS, ORPHAN_FILE_AGE_MS } from "./exports.js";
import { SESSION_COLUMNS } from "./exportPages.js";
import {
  expectedEventRows,
  fileText,
  HOUR,
  newSite,
  NOW,
  parseCsv,
  runExport,
  storeEvents,
  TRICKY,
} from "./exports.testlib.js";

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers({ now: NOW }));
afterEach(() => vi.useRealTimers());

describe("exporting events", () => {
  test("only events that occurred in [from, to) are written", async () => {
    const t = initConvexTest();
    const siteId = await newSite(t);
    await storeEvents(t, siteId, 1_000);
    const range = { from: NOW - HOUR + 100, to: NOW - HOUR + 600 };
    const { exportId } = await t.mutation(api.exports.startExport, {
      siteId,
      kind: "events",
      ...range,
    });
    await runExport(t, siteId, exportId);
    const [, ...rows] = parseCsv(await fileText(t, siteId, exportId));
    expect(rows).toEqual(await expectedEventRows(t, range.from, range.to));
    expect(rows.length).toBe(500);
  });
});

describe("interruptions", () => {
  test("a step that dies is started again by the kick cron, and the file is still exact", async () => {
    const t = initConvexTest();
    const siteId = await newSite(t);
    await storeEvents(t, siteId, 8_000);
    const range = { from: NOW - 2 * HOUR, to: NOW + HOUR };
    const { exportId } = await t.mutation(api.exports.startExport, {
      siteId,
      kind: "events",
      ...range,
    });
    const id = exportId as Id<"exports">;
    await t.action(internal.exports.exportStep, { exportId: id });
    // The next step is lost (its action died): nothing scheduled remains.
    await t.run(async (ctx) => {
      for (const f of await ctx.db.system.query("_scheduled_functions").collect())
        if (f.state.kind === "pending") await ctx.scheduler.cancel(f._id);
    });
    const stuck = await t.query(api.exports.getExport, { siteId, exportId });
    expect(stuck.status).toBe("running");
    expect(stuck.rowsWritten).toBeGreaterThan(0);
    vi.setSystemTime(NOW + EXPORT_LEASE_MS + 60_000);
    expect((await t.run(async (ctx) => await ctx.db.get("exports", id)))!.attempts).toBe(0);
    await t.mutation(api.maintenance.kick, {});
    expect((await t.run(async (ctx) => await ctx.db.get("exports", id)))!.attempts).toBe(1);
    await runExport(t, siteId, exportId);
    const done = await t.query(api.exports.getExport, { siteId, exportId });
    expect(done).toMatchObject({ status: "done", rowsWritten: 8_000 });
    const [, ...rows] = parseCsv(await fileText(t, siteId, exportId));
    expect(rows).toEqual(await expectedEventRows(t, range.from, range.to));
  });

  test("a job that cannot go on fails visibly with the reason after its attempts, and keeps no parts", async () => {
    const t = initConvexTest();
    const siteId = await newSite(t);
    await storeEvents(t, siteId, 8_000);
    const { exportId } = await t.mutation(api.exports.startExport, {
      siteId,
      kind: "events",
      from: NOW - 2 * HOUR,
      to: NOW + HOUR,
    });
    const id = exportId as Id<"exports">;
    await t.action(internal.exports.exportStep, { exportId: id });
    // A part vanishes from file storage: the file can never be joined.
    await t.run(async (ctx) => {
      const job = (await ctx.db.get("exports", id))!;
      await ctx.storage.delete(job.chunks[0]);
    });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const failed = await t.query(api.exports.getExport, { siteId, exportId });
    expect(failed).toMatchObject({ status: "failed", done: false, url: null });
    expect(failed.error).toMatch(
      new RegExp(`after ${MAX_EXPORT_ATTEMPTS} attempts: A part of the export is missing`),
    );
    const job = await t.run(async (ctx) => await ctx.db.get("exports", id));
    expect(job!.chunks).toEqual([]);
    expect(await t.run(async (ctx) => await ctx.db.query("exportFiles").collect())).toEqual([]);
  });
});

describe("expiry", () => {
  test("a finished export's file is deleted when it expires, and getExport says so", async () => {
    const t = initConvexTest();
    const siteId = await newSite(t);
    await storeEvents(t, siteId, 100);
    const { exportId } = await t.mutation(api.exports.startExport, {
      siteId,
      kind: "events",
      from: NOW - 2 * HOUR,
      to: NOW + HOUR,
      expiresInMs: HOUR,
    });
    await runExport(t, siteId, exportId);
    const done = await t.query(api.exports.getExport, { siteId, exportId });
    expect(done.status).toBe("done");
    expect(done.expiresAt).toBe(Date.now() + HOUR);
    const fileId = (await t.run(
      async (ctx) => await ctx.db.get("exports", exportId as Id<"exports">),
    ))!.fileId!;
    vi.setSystemTime(done.expiresAt! + 1);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const expired = await t.query(api.exports.getExport, { siteId, exportId });
    expect(expired).toMatchObject({ status: "expired", url: null, done: false });
    expect(await t.run(async (ctx) => (await ctx.storage.get(fileId)) === null)).toBe(true);
    expect(await t.run(async (ctx) => await ctx.db.query("exportFiles").collect())).toEqual([]);
  });
});

describe("orphaned files", () => {
  /** The hourly retention run, with what it schedules run to the end, but no timer past now (an export's expiry). */
  async function applyRetention(t: ReturnType<typeof initConvexTest>) {
    await t.mutation(api.maintenance.applyRetention, {});
    for (let i = 0; i < 50; i++) {
      vi.advanceTimersByTime(1);
      await t.finishInProgressScheduledFunctions();
      const pending = await t.run(async (ctx) =>
        (await ctx.db.system.query("_scheduled_functions").collect()).filter(
          (f) => f.state.kind === "pending" && f.scheduledTime <= Date.now(),
        ),
      );
      if (pending.length === 0) return;
    }
    throw new Error("retention kept scheduling");
  }
  const exists = (t: ReturnType<typeof initConvexTest>, id: Id<"_storage">) =>
    t.run(async (ctx) => (await ctx.db.system.get("_storage", id)) !== null);

  test("files a step stored but never recorded are deleted once old enough; every file an export keeps stays", async () => {
    const t = initConvexTest();
    const siteId = await newSite(t);
    await storeEvents(t, siteId, 8_000);
    const range = { from: NOW - 2 * HOUR, to: NOW + HOUR };
    // One export finished (its whole file), one part-way (a recorded part).
    const finished = await t.mutation(api.exports.startExport, {
      siteId,
      kind: "events",
      ...range,
    });
    await runExport(t, siteId, finished.exportId);
    const running = await t.mutation(api.exports.startExport, { siteId, kind: "events", ...range });
    await t.action(internal.exports.exportStep, { exportId: running.exportId as Id<"exports"> });
    await t.run(async (ctx) => {
      for (const f of await ctx.db.system.query("_scheduled_functions").collect())
        if (f.state.kind === "pending" && f.name.includes("exportStep"))
          await ctx.scheduler.cancel(f._id);
    });
    const jobs = await t.run(async (ctx) => ({
      file: (await ctx.db.get("exports", finished.exportId as Id<"exports">))!.fileId!,
      part: (await ctx.db.get("exports", running.exportId as Id<"exports">))!.chunks[0]!,
    }));
    // Steps that died between storing and recording: more than one sweep page of them.
    const orphans = await t.run(async (ctx) => {
      const ids: Id<"_storage">[] = [];
      for (let i = 0; i < 130; i++) ids.push(await ctx.storage.store(new Blob([`part ${i}`])));
      return ids;
    });
    // Still young: a step may yet record them.
    await applyRetention(t);
    for (const id of [...orphans, jobs.file, jobs.part]) expect(await exists(t, id)).toBe(true);
    vi.setSystemTime(Date.now() + ORPHAN_FILE_AGE_MS + 1);
    await applyRetention(t);
    for (const id of orphans) expect(await exists(t, id)).toBe(false);
    expect(await exists(t, jobs.file)).toBe(true);
    expect(await exists(t, jobs.part)).toBe(true);
    const [, ...rows] = parseCsv(await fileText(t, siteId, finished.exportId));
    expect(rows).toEqual(await expectedEventRows(t, range.from, range.to));
    // The running export goes on and finishes with its recorded part.
    await runExport(t, siteId, running.exportId);
    const [, ...again] = parseCsv(await fileText(t, siteId, running.exportId));
    expect(again).toEqual(rows);
    // The listing holds the two whole files only: each job's parts went when its file was joined.
    const listed = await t.run(async (ctx) => await ctx.db.query("exportFiles").collect());
    expect(listed.map((f) => f.fileId).sort()).toEqual(
      await t.run(async (ctx) =>
        (await ctx.db.query("exports").collect()).map((j) => j.fileId!).sort(),
      ),
    );
  });
});

describe("sessions and reports", () => {
  test("sessions export as their stored fields, oldest started first; a breakdown as the report's rows", async () => {
    const t = initConvexTest();
    const siteId = await newSite(t);
    await t.mutation(api.ingest.ingestBatch, {
      siteId,
      batchId: "b",
      events: [1, 2, 3].map((i) => ({
        id: `e${i}`,
        type: "pageview",
        occurredAt: NOW - i * 60_000,
        url: `https://ex.com/${TRICKY[i]}`,
        visitorId: `v${i}`,
        referrer: "https://news.example/",
      })),
    });
    await runWorkers(t);
    const range = { from: NOW - HOUR, to: NOW + HOUR };
    const sessions = await t.mutation(api.exports.startExport, {
      siteId,
      kind: "sessions",
      ...range,
    });
    const breakdown = await t.mutation(api.exports.startExport, {
      siteId,
      kind: "report",
      report: { type: "breakdown", dimension: "page" },
      ...range,
    });
    await runExport(t, siteId, sessions.exportId);
    await runExport(t, siteId, breakdown.exportId);
    const [sessionHeader, ...sessionRows] = parseCsv(await fileText(t, siteId, sessions.exportId));
    expect(sessionHeader).toEqual([...SESSION_COLUMNS]);
    const stored = await t.run(async (ctx) => await ctx.db.query("sessions").collect());
    stored.sort((a, b) => a.startedAt - b.startedAt);
    expect(sessionRows).toEqual(
      stored.map((s) =>
        SESSION_COLUMNS.map((c) =>
          c === "id" ? s._id : c === "attribution" ? JSON.stringify(s.attribution) : String(s[c]),
        ),
      ),
    );
    const [breakdownHeader, ...breakdownRows] = parseCsv(
      await fileText(t, siteId, breakdown.exportId),
    );
    expect(breakdownHeader).toEqual([
      "page",
      "visitors",
      "pageviews",
      "events",
      "entries",
      "bounce_rate",
    ]);
    const report = await t.query(api.reports.getBreakdown, { siteId, ...range, dimension: "page" });
    expect(breakdownRows).toEqual(
      report.rows.map((r) =>
        [r.key, r.visitors, r.pageviews, r.events, r.entries, r.bounceRate ?? ""].map(String),
      ),
    );
  });

  test("a timeseries exports one row per point, bucket starts in ISO 8601", async () => {
    const t = initConvexTest();
    const siteId = await newSite(t);
    await t.mutation(api.ingest.ingestBatch, {
      siteId,
      batchId: "b",
      events: [
        {
          id: "e",
          type: "pageview",
          occurredAt: NOW - 60_000,
          url: "https://ex.com/",
          visitorId: "v",
        },
      ],
    });
    await runWorkers(t);
    const range = { from: NOW - 6 * HOUR, to: NOW + HOUR };
    const { exportId } = await t.mutation(api.exports.startExport, {
      siteId,
      kind: "report",
      report: { type: "timeseries", granularity: "hour" },
      ...range,
    });
    await runExport(t, siteId, exportId);
    const [header, ...rows] = parseCsv(await fileText(t, siteId, exportId));
    expect(header[0]).toBe("bucket_start_utc");
    const series = await t.query(api.reports.getTimeseries, {
      siteId,
      ...range,
      granularity: "hour",
    });
    expect(rows).toEqual(
      series.points.map((p) =>
        [
          new Date(p.bucketStart).toISOString(),
          p.visitors,
          p.pageviews,
          p.sessions,
          p.events,
          p.bounceRate ?? "",
          p.avgSessionDurationMs ?? "",
        ].map(String),
      ),
    );
    expect(rows.reduce((sum, r) => sum + Number(r[2]), 0)).toBe(1);
  });

  test("bad arguments are refused with a reason, and another site's export is unknown", async () => {
    const t = initConvexTest();
    const siteId = await newSite(t);
    const other = (await t.mutation(api.sites.createSite, { slug: "o", name: "O" })).siteId;
    const range = { from: NOW - HOUR, to: NOW };
    await expect(
      t.mutation(api.exports.startExport, { siteId, kind: "events", from: NOW, to: NOW }),
    ).rejects.toThrow(/to must be after from/);
    await expect(
      t.mutation(api.exports.startExport, { siteId, kind: "report", ...range }),
    ).rejects.toThrow(/report is required/);
    await expect(
      t.mutation(api.exports.startExport, { siteId, kind: "events", ...range, expiresInMs: 1 }),
    ).rejects.toThrow(/expiresInMs/);
    const { exportId } = await t.mutation(api.exports.startExport, {
      siteId,
      kind: "events",
      ...range,
    });
    await expect(t.query(api.exports.getExport, { siteId: other, exportId })).rejects.toThrow(
      /Unknown export/,
    );
  });
});
