// deleteSite (src/component/siteDeletion.ts) on the example app: a site with more
// data than one transaction can read is deleted in several bounded passes; from
// the first pass it takes no events and serves no reads; afterwards no document
// of it is left in any table of any component (but the two the libraries give no
// way to remove, named below), and another site's documents and reports are
// exactly as they were. Plus resuming after a lost pass, and the facades' auth.
import { describe, expect, test, vi } from "vitest";
import { api, components, internal } from "../example/convex/_generated/api.js";
import type { GenericMutationCtx } from "convex/server";
import type { DataModel, Id } from "../src/component/_generated/dataModel.js";
import { everyDocument, inComponent, initApp, useFixedClock, type App } from "./app.setup.js";
import { enforceConvexDocumentLimits } from "../src/component/convexLimits.testlib.js";
import { deletionPassHandler } from "../src/component/deletions.js";
import type { MutationCtx } from "../src/component/_generated/server.js";

const NOW = Date.parse("2026-03-10T12:00:00Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** About 17 MiB of raw batches: over the 16 MiB one transaction may read. */
const BULK_BATCHES = 72;
const BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

enforceConvexDocumentLimits();
useFixedClock(NOW);

type Ctx = GenericMutationCtx<DataModel>;

async function post(t: App, key: string, batchId: string, visitor: string, userAgent?: string) {
  return await t
    .withRequestMetadata({ ip: `203.0.113.${visitor.length}`, userAgent })
    .fetch("/analytics/ingest", {
      method: "POST",
      body: JSON.stringify({
        key,
        batchId,
        events: [
          {
            id: `${batchId}-1`,
            type: "pageview",
            occurredAt: Date.now() - 5_000,
            url: "https://ex.com/a",
            visitorId: visitor,
          },
          {
            id: `${batchId}-2`,
            type: "track",
            name: "buy",
            occurredAt: Date.now() - 1_000,
            url: "https://ex.com/b",
            visitorId: visitor,
            props: { sku: "1" },
          },
        ],
      }),
    });
}

/** A site with something in every table: counted and queued batches, sessions, deltas, staging or canonical rollups, the BTree, a dead letter, an export file, a read key, bot counts, a GDPR deletion record, a goal and its backfill. */
async function fill(t: App, slug: string) {
  const { siteId, writeKey } = await t.mutation(api.analytics.createSite, { slug, name: slug });
  for (let i = 0; i < 3; i++)
    expect((await post(t, writeKey, `${slug}-a${i}`, `v${i}`)).status).toBe(202);
  expect((await post(t, writeKey, `${slug}-bot`, "bot", BOT_UA)).status).toBe(202);
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  vi.advanceTimersByTime(2 * HOUR);
  await t.mutation(internal.analytics.kick, {});
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  // A goal created after the first batches were counted: it has a backfill, and goal rows.
  await t.mutation(api.analytics.createGoal, { siteId, name: "Buy", match: { event: "buy" } });
  for (let i = 0; i < 2; i++)
    expect((await post(t, writeKey, `${slug}-b${i}`, `w${i}`)).status).toBe(202);
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  const { readKey } = await t.mutation(api.analytics.createReadKey, { siteId, name: "status" });
  const stats = await t.fetch(`/analytics/api/v1/realtime?site=${siteId}`, {
    headers: { Authorization: `Bearer ${readKey}` },
  });
  expect(stats.status).toBe(200);
  await t.mutation(api.analytics.deleteVisitorData, { siteId, visitorId: "v0" });
  await inComponent(t, "analytics", (ctx: Ctx) =>
    ctx.db.insert("deadLetters", {
      siteId: siteId as Id<"sites">,
      batchId: `${slug}-poison`,
      events: [
        { id: "d", type: "pageview", occurredAt: NOW, url: "https://ex.com/", visitorId: "d" },
      ],
      attempts: 3,
      error: "poison",
    }),
  );
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  return { siteId, writeKey, readKey };
}

/**
 * Runs scheduled work for `ms` of fake time, a second at a time. Unlike
 * runAllTimers, it does not jump to the exports' expiry a day later.
 */
async function runFor(t: App, ms: number): Promise<void> {
  for (let waited = 0; waited < ms; waited += 1_000) {
    vi.advanceTimersByTime(1_000);
    await t.finishInProgressScheduledFunctions();
  }
}

/** A finished export of the site's events, its CSV in file storage. */
async function exportOf(t: App, siteId: string): Promise<string> {
  const { exportId } = await t.mutation(api.analytics.startExport, {
    siteId,
    kind: "events",
    from: NOW - DAY,
    to: NOW + DAY,
  });
  await runFor(t, 10_000);
  expect(await t.query(api.analytics.getExport, { siteId, exportId })).toMatchObject({
    done: true,
  });
  return exportId;
}

/** Raw batches of about 240 KiB each (4 events of 30 long props), queued: more than one transaction's 16 MiB in all. */
async function bulk(t: App, siteId: string, batches: number) {
  const props = Object.fromEntries(
    Array.from({ length: 30 }, (_, i) => [`p${i}`, "x".repeat(2_000)]),
  );
  for (let b = 0; b < batches; b++) {
    const events = Array.from({ length: 4 }, (_, i) => ({
      id: `bulk${b}-${i}`,
      type: "track",
      name: "bulk",
      occurredAt: Date.now(),
      url: "https://ex.com/",
      visitorId: `bulk${i}`,
      props,
    }));
    await t.mutation(components.analytics.ingest.ingestBatch, {
      siteId,
      batchId: `bulk${b}`,
      events,
    });
  }
}

/** Every stored document that names `siteId`, by "component:table". */
async function documentsOf(t: App, siteId: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [table, docs] of await everyDocument(t)) {
    // Convex's own record of functions that ran (and their arguments), not the component's data.
    if (table.endsWith(":_scheduled_functions")) continue;
    const hits = docs.filter((d) => d.includes(siteId));
    if (hits.length > 0) out[table] = hits;
  }
  return out;
}

const range = (siteId: string) => ({ siteId, from: NOW - DAY, to: NOW + 3 * HOUR });

async function reportsOf(t: App, siteId: string) {
  return {
    overview: await t.query(api.analytics.getOverview, range(siteId)),
    pages: await t.query(api.analytics.getBreakdown, { ...range(siteId), dimension: "page" }),
    events: await t.query(api.analytics.listEvents, {
      siteId,
      paginationOpts: { numItems: 100, cursor: null },
    }),
  };
}

describe("deleteSite", () => {
  test(
    "a site with more data than one transaction holds is deleted in several passes, leaving no document of it in any table, and another site's documents and reports exactly as they were",
    { timeout: 10 * 60_000 },
    async () => {
      const t = initApp();
      const doomed = await fill(t, "doomed");
      const kept = await fill(t, "kept");
      const doomedExport = await exportOf(t, doomed.siteId);
      await exportOf(t, kept.siteId);
      const keptDocs = await documentsOf(t, kept.siteId);
      const keptReports = await reportsOf(t, kept.siteId);
      const fileId = await inComponent(
        t,
        "analytics",
        async (ctx: Ctx) => (await ctx.db.get("exports", doomedExport as Id<"exports">))!.fileId!,
      );
      const before = await documentsOf(t, doomed.siteId);
      for (const table of [
        "batches",
        "sessions",
        "rollups",
        "exports",
        "readKeys",
        "botCounts",
        "deadLetters",
        "siteLoops",
        "siteCursors",
        "deletions",
        "goals",
        "goalBackfills",
      ])
        expect(before[`analytics:${table}`]?.length, table).toBeGreaterThan(0);
      expect(before["analytics/rateLimiter:rateLimits"]?.length).toBeGreaterThan(0);

      // Snapshots first: a scan of every document could not read the bulk in one transaction either.
      await bulk(t, doomed.siteId, BULK_BATCHES);
      const started = await t.mutation(api.analytics.deleteSite, { siteId: doomed.siteId });
      expect(started).toMatchObject({ kind: "site", status: "running" });
      // From the first pass: no events, no reads, no read key.
      expect((await post(t, doomed.writeKey, "late", "v9")).status).toBe(401);
      expect(
        await t.mutation(components.analytics.ingest.trackServer, {
          site: "doomed",
          event: {
            id: "s1",
            type: "track",
            name: "x",
            occurredAt: Date.now(),
            url: "https://ex.com/",
            visitorId: "s",
          },
        }),
      ).toMatchObject({ accepted: 0, rejected: [{ index: 0, reason: 'unknown site "doomed"' }] });
      await expect(t.query(api.analytics.getOverview, range(doomed.siteId))).rejects.toThrow(
        `Site "${doomed.siteId}" is being deleted`,
      );
      expect(await t.query(api.analytics.getSite, { siteId: doomed.siteId })).toBeNull();
      expect((await t.query(api.analytics.listSites, {})).map((s) => s.slug)).toEqual(["kept"]);
      const stats = await t.fetch(`/analytics/api/v1/realtime?site=${doomed.siteId}`, {
        headers: { Authorization: `Bearer ${doomed.readKey}` },
      });
      expect(stats.status).toBe(401);

      // Each pass run here, to read its transaction's size; the scheduled copies then find the job done.
      const passes: { read: number; written: number }[] = [];
      for (;;) {
        const job = await inComponent(t, "analytics", (ctx: Ctx) =>
          ctx.db.get("deletions", started.deletionId as Id<"deletions">),
        );
        if (job!.status !== "running") break;
        passes.push(
          await inComponent(t, "analytics", async (ctx: Ctx) => {
            await deletionPassHandler(ctx as unknown as MutationCtx, {
              deletionId: job!._id,
              chain: job!.chain,
            });
            const m = await ctx.meta.getTransactionMetrics();
            return { read: m.bytesRead.used, written: m.bytesWritten.used };
          }),
        );
      }
      for (const pass of passes) {
        expect(pass.read).toBeLessThan(4 * 1024 * 1024);
        expect(pass.written).toBeLessThan(4 * 1024 * 1024);
      }
      await runFor(t, 10_000);
      const done = await t.query(api.analytics.getDeletion, {
        siteId: doomed.siteId,
        deletionId: started.deletionId,
      });
      expect(done).toMatchObject({ status: "done", phase: "done", error: null });
      expect(done.passes).toBeGreaterThanOrEqual(8);
      expect(done.deleted).toMatchObject({ sites: 1, readKeys: 1, exports: 1, deadLetters: 1 });
      expect(done.deleted.batches).toBe(before["analytics:batches"]!.length + BULK_BATCHES);
      expect(done.deleted.sessions).toBe(before["analytics:sessions"]!.length);

      // What is left naming the site: the deletion's own record (counts only), and what the
      // libraries give no way to remove (siteDeletion.ts, totals.ts).
      const after = await documentsOf(t, doomed.siteId);
      expect(Object.keys(after).sort()).toEqual([
        "analytics/hourlyTotals:btree",
        "analytics/rateLimiter:rateLimits",
        "analytics:deletions",
      ]);
      expect(after["analytics:deletions"]!.map((d) => JSON.parse(d)._id)).toEqual([
        started.deletionId,
      ]);
      // The BTree namespace is an empty tree: one document, its root holds no item.
      const tree = JSON.parse(after["analytics/hourlyTotals:btree"]![0]!) as { root: string };
      const root = await inComponent(t, "analytics/hourlyTotals", (ctx) =>
        ctx.db.get("btreeNode" as never, tree.root as never),
      );
      expect(root).toMatchObject({ items: [], subtrees: [] });
      // Per-client rate-limit buckets only: their keys hold a salted hash of the address.
      for (const doc of after["analytics/rateLimiter:rateLimits"]!)
        expect(JSON.parse(doc)).toMatchObject({
          name: "client",
          key: expect.stringMatching(
            new RegExp(`^${doomed.siteId}\\|\\d{4}-\\d\\d-\\d\\d\\|[0-9a-f]{32}$`),
          ),
        });
      expect(
        await inComponent(t, "analytics", (ctx: Ctx) => ctx.db.system.get("_storage", fileId)),
      ).toBeNull();

      // The other site: every document and every report as it was.
      expect(await documentsOf(t, kept.siteId)).toEqual(keptDocs);
      expect(await reportsOf(t, kept.siteId)).toEqual(keptReports);
      expect((await post(t, kept.writeKey, "kept-late", "v9")).status).toBe(202);

      // Retention deletes every rate-limit bucket older than yesterday, the site's included.
      vi.advanceTimersByTime(2 * DAY);
      await t.mutation(internal.analytics.applyRetention, {});
      await t.finishAllScheduledFunctions(vi.runAllTimers);
      expect(Object.keys(await documentsOf(t, doomed.siteId)).sort()).toEqual([
        "analytics/hourlyTotals:btree",
        "analytics:deletions",
      ]);
    },
  );

  test("a deletion whose pass was lost is restarted by the kick cron, asking again returns the same job, and asking after it is done returns the finished job", async () => {
    const t = initApp();
    const doomed = await fill(t, "doomed");
    await bulk(t, doomed.siteId, 12);
    const started = await t.mutation(api.analytics.deleteSite, { siteId: doomed.siteId });
    expect(started.status).toBe("running");
    // The pass scheduled next never runs (as if it had thrown).
    await inComponent(t, "analytics", async (ctx: Ctx) => {
      for (const f of await ctx.db.system.query("_scheduled_functions").collect())
        if (f.state.kind === "pending" && f.name.includes("deletionPass"))
          await ctx.scheduler.cancel(f._id);
    });
    const again = await t.mutation(api.analytics.deleteSite, { siteId: doomed.siteId });
    expect(again).toMatchObject({ deletionId: started.deletionId, status: "running" });
    vi.advanceTimersByTime(5 * 60_000);
    await t.mutation(internal.analytics.kick, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const done = await t.mutation(api.analytics.deleteSite, { siteId: doomed.siteId });
    expect(done).toMatchObject({
      deletionId: started.deletionId,
      status: "done",
      deleted: { sites: 1 },
    });
    expect(Object.keys(await documentsOf(t, doomed.siteId)).sort()).not.toContain(
      "analytics:sites",
    );
  });
});

describe("deletion facades", () => {
  test("the auth callback gets the site: an owner may delete visitor data of their own site and watch it, not of another site, and may not delete a site, which an admin may", async () => {
    vi.stubEnv("ANALYTICS_DEV_OPEN", "");
    vi.stubEnv("ANALYTICS_ADMINS", "admin@example.com");
    const t = initApp();
    const mine = await t.mutation(internal.setup.provision, { ownerEmail: "owner@example.com" });
    const other = await t.mutation(components.analytics.sites.createSite, {
      slug: "other",
      name: "Other",
    });
    const owner = t.withIdentity({ email: "owner@example.com", emailVerified: true });
    const admin = t.withIdentity({ email: "admin@example.com", emailVerified: true });
    const job = await owner.mutation(api.analytics.deleteVisitorData, {
      siteId: mine!.siteId,
      userId: "u1",
    });
    expect(job).toMatchObject({ kind: "visitor", status: "done", siteId: mine!.siteId });
    expect(
      await owner.query(api.analytics.getDeletion, {
        siteId: mine!.siteId,
        deletionId: job.deletionId,
      }),
    ).toEqual(job);
    await expect(
      owner.mutation(api.analytics.deleteVisitorData, { siteId: other.siteId, userId: "u1" }),
    ).rejects.toThrow("Only analytics admins may do this");
    await expect(
      owner.query(api.analytics.getDeletion, { siteId: other.siteId, deletionId: job.deletionId }),
    ).rejects.toThrow("Only analytics admins may do this");
    await expect(
      owner.mutation(api.analytics.deleteSite, { siteId: mine!.siteId }),
    ).rejects.toThrow("Only analytics admins may do this");
    await expect(t.mutation(api.analytics.deleteSite, { siteId: mine!.siteId })).rejects.toThrow(
      "Only analytics admins may do this",
    );
    expect(await owner.query(api.analytics.getSite, { siteId: mine!.siteId })).not.toBeNull();
    expect(await admin.mutation(api.analytics.deleteSite, { siteId: other.siteId })).toMatchObject({
      kind: "site",
      siteId: other.siteId,
    });
    // A site with nothing compacted leaves only the record: no empty tree is made for it.
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(Object.keys(await documentsOf(t, other.siteId))).toEqual(["analytics:deletions"]);
    // A job is read only through its own site: asking with another site's id is as unknown as a missing job.
    await expect(
      admin.query(api.analytics.getDeletion, { siteId: other.siteId, deletionId: job.deletionId }),
    ).rejects.toThrow(`Unknown deletion "${job.deletionId}"`);
  });
});
