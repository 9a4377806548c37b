// GDPR deletion (deleteVisitorData, visitorDeletion.ts): after it, the site's raw
// listings equal what they would be without that person, everyone else's events,
// sessions and dead letters are untouched, and rollups keep their counts. Checked
// as a property over random streams against a reference instance that got the
// same input and no deletion, plus the byte budget of its passes and its wait for
// the worker.
import fc from "fast-check";
import type { PaginationResult } from "convex/server";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import type { MutationCtx } from "./_generated/server.js";
import type { AnalyticsEvent, ListedEvent, ListedSession } from "../shared.js";
import {
  arbScenario,
  batchesOf,
  STREAM_FROM,
  STREAM_TO,
  type Batch,
} from "./oracle.streams.testlib.js";
import { SEED, createSite, drainAll, ingest, settle, type T } from "./oracle.harness.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { deletionPassHandler } from "./deletions.js";
import { DEDUP_RECORD_MS } from "./visitorDeletion.js";
import { DAY, HOUR } from "./time.js";

const RUNS = Number(process.env.DELETION_RUNS ?? 10);

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

async function allEvents(t: T, siteId: string): Promise<Omit<ListedEvent, "receivedAt">[]> {
  const out: Omit<ListedEvent, "receivedAt">[] = [];
  let cursor: string | null = null;
  for (;;) {
    const page: PaginationResult<ListedEvent> = await t.query(api.listings.listEvents, {
      siteId,
      paginationOpts: { numItems: 500, cursor },
    });
    out.push(...page.page.map(({ receivedAt: _r, ...event }) => event));
    if (page.isDone) return out.sort((a, b) => a.id.localeCompare(b.id));
    cursor = page.continueCursor;
  }
}

async function allSessions(t: T, siteId: string): Promise<Omit<ListedSession, "_id">[]> {
  const out: Omit<ListedSession, "_id">[] = [];
  let cursor: string | null = null;
  for (;;) {
    const page: PaginationResult<ListedSession> = await t.query(api.listings.listSessions, {
      siteId,
      paginationOpts: { numItems: 500, cursor },
    });
    out.push(...page.page.map(({ _id, ...session }) => session));
    if (page.isDone)
      return out.sort(
        (a, b) => a.visitorId.localeCompare(b.visitorId) || a.startedAt - b.startedAt,
      );
    cursor = page.continueCursor;
  }
}

const deadLetterEvents = (t: T) =>
  t.run(async (ctx) =>
    (await ctx.db.query("deadLetters").collect()).flatMap((d) => d.events.map((e) => e.id)).sort(),
  );

/** Moves a queued batch to the dead letters, as the worker does with one it gave up on. */
async function deadLetter(t: T, batchId: string): Promise<void> {
  await t.run(async (ctx) => {
    const batch = (await ctx.db.query("batches").collect()).find((b) => b.batchId === batchId)!;
    const { _id, _creationTime, attempts: _a, lastError: _l, ...fields } = batch;
    await ctx.db.insert("deadLetters", { ...fields, attempts: 3, error: "poison" });
    await ctx.db.delete("batches", _id);
  });
}

/** Every visitor's batches, in the order a browser would send them (by their last event). */
function streamOf(visitors: Parameters<typeof batchesOf>[0][], sharedUser: boolean): Batch[] {
  const batches = visitors.map(batchesOf);
  // Two devices of one user: the second visitor identifies as the first's user.
  if (sharedUser && visitors.length > 1)
    for (const batch of batches[1]!)
      for (const e of batch.events) if (e.userId) e.userId = `user-v${visitors[0]!.id}`;
  const last = (b: Batch) => Math.max(...b.events.map((e) => e.occurredAt));
  return batches.flat().sort((a, b) => last(a) - last(b));
}

/** The product fed `stream`: the first `drained` batches counted, the rest queued, `dead` of those dead-lettered. */
async function instance(stream: Batch[], drained: number, dead: Set<string>, timezone: string) {
  const t = initConvexTest();
  const siteId = await createSite(t, timezone);
  for (const batch of stream.slice(0, drained)) await ingest(t, siteId, batch);
  await drainAll(t, siteId);
  for (const batch of stream.slice(drained)) await ingest(t, siteId, batch);
  for (const batchId of dead) await deadLetter(t, batchId);
  vi.setSystemTime(Math.max(Date.now(), STREAM_TO + DAY));
  return { t, siteId };
}

describe("deleteVisitorData", () => {
  test(
    "property: after a deletion, listEvents, listSessions and the dead letters equal a reference without that person's events and sessions, and the rollups keep every count",
    { timeout: 30 * 60_000 },
    async () => {
      // Not vacuous: some cases delete events, and some wait for the worker (more than one pass).
      const seen = { deletedEvents: 0, waited: 0 };
      await fc.assert(
        fc.asyncProperty(
          arbScenario,
          fc.nat(),
          fc.boolean(),
          fc.boolean(),
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.array(fc.nat(), { maxLength: 3 }),
          async (scenario, pick, byUser, sharedUser, drainedShare, deadPicks) => {
            const { visitors, timezone } = scenario;
            const stream = streamOf(visitors, sharedUser);
            const drained = Math.round(drainedShare * stream.length);
            const queued = stream.slice(drained);
            const dead = new Set(
              deadPicks.flatMap((p) => (queued.length ? [queued[p % queued.length]!.batchId] : [])),
            );
            const person = visitors[pick % visitors.length]!;
            const subject = byUser
              ? { userId: `user-v${person.id}` }
              : { visitorId: `v${person.id}` };

            // The oracle: whose events go, from the input alone.
            const all: AnalyticsEvent[] = stream.flatMap((b) => b.events);
            const linked = new Set(
              "userId" in subject
                ? all.filter((e) => e.userId === subject.userId).map((e) => e.visitorId)
                : [subject.visitorId],
            );
            const owned = (e: { visitorId: string; userId?: string }) =>
              linked.has(e.visitorId) || ("userId" in subject && e.userId === subject.userId);

            const reference = await instance(stream, drained, dead, timezone);
            await drainAll(reference.t, reference.siteId);
            const subjectOf = await instance(stream, drained, dead, timezone);
            const { t, siteId } = subjectOf;
            // convex-test's creation times only grow, across instances too: the request comes after them all.
            await settle(t);
            const started = await t.mutation(api.deletions.deleteVisitorData, {
              siteId,
              ...subject,
            });
            await t.finishAllScheduledFunctions(vi.runAllTimers);
            await drainAll(t, siteId);

            const progress = await t.query(api.deletions.getDeletion, {
              siteId,
              deletionId: started.deletionId,
            });
            expect(progress).toMatchObject({
              status: "done",
              phase: "done",
              waiting: false,
              error: null,
            });
            if ((progress.deleted.events ?? 0) > 0) seen.deletedEvents++;
            if (progress.passes > 1) seen.waited++;
            const refEvents = await allEvents(reference.t, reference.siteId);
            const refSessions = await allSessions(reference.t, reference.siteId);
            const refDead = await deadLetterEvents(reference.t);
            expect(await allEvents(t, siteId)).toEqual(refEvents.filter((e) => !owned(e)));
            expect(await allSessions(t, siteId)).toEqual(
              refSessions.filter((s) => !linked.has(s.visitorId)),
            );
            const ownedIds = new Set(all.filter(owned).map((e) => e.id));
            expect(await deadLetterEvents(t)).toEqual(refDead.filter((id) => !ownedIds.has(id)));
            expect(progress.deleted.events ?? 0).toBe(
              refEvents.filter(owned).length + refDead.filter((id) => ownedIds.has(id)).length,
            );
            expect(progress.deleted.sessions ?? 0).toBe(
              refSessions.filter((s) => linked.has(s.visitorId)).length,
            );
            // Rollups hold counts only: they are exactly the reference's.
            const range = { siteId, from: STREAM_FROM, to: STREAM_TO };
            expect(await t.query(api.reports.getOverview, range)).toEqual(
              await reference.t.query(api.reports.getOverview, {
                ...range,
                siteId: reference.siteId,
              }),
            );
            // An emptied batch stays, empty, as its dedup record only while it is young.
            const stored = await t.run((ctx) => ctx.db.query("batches").collect());
            for (const b of stored)
              if (b.events.length === 0)
                expect(b._creationTime).toBeGreaterThanOrEqual(Date.now() - DEDUP_RECORD_MS - HOUR);
            // The finished job keeps counts only: nothing says whom it was about.
            const job = await t.run((ctx) =>
              ctx.db.get("deletions", started.deletionId as Id<"deletions">),
            );
            expect(job!.subject).toBeUndefined();
            expect(job!.linked).toEqual([]);
          },
        ),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
      expect(seen.deletedEvents).toBeGreaterThan(0);
      expect(seen.waited).toBeGreaterThan(0);
    },
  );

  test("a person's events in more batches than one pass can hold are deleted in several passes, each within 4 MiB read and 4 MiB written", async () => {
    vi.setSystemTime(Date.parse("2026-10-20T12:00:00Z"));
    const t = initConvexTest();
    const siteId = await createSite(t, "UTC");
    // 24 batches of about 200 KiB: a visitor's pageview with a long title among 99 of others'.
    const title = "t".repeat(2_000);
    for (let b = 0; b < 24; b++) {
      const events = Array.from({ length: 100 }, (_, i) => ({
        id: `b${b}-e${i}`,
        type: "pageview",
        occurredAt: Date.now() - 60_000,
        url: "https://example.com/",
        title,
        visitorId: i === 7 ? "the-person" : `other-${i}`,
      }));
      await t.mutation(api.ingest.ingestBatch, { siteId, batchId: `b${b}`, events });
    }
    vi.advanceTimersByTime(10_000);
    await drainAll(t, siteId);
    const started = await t.mutation(api.deletions.deleteVisitorData, {
      siteId,
      visitorId: "the-person",
    });
    expect(started.status).toBe("running");
    const metrics: { read: number; written: number }[] = [];
    for (;;) {
      const job = await t.run((ctx) =>
        ctx.db.get("deletions", started.deletionId as Id<"deletions">),
      );
      if (job!.status !== "running") break;
      metrics.push(
        await t.run(async (ctx) => {
          await deletionPassHandler(ctx as unknown as MutationCtx, {
            deletionId: job!._id,
            chain: job!.chain,
          });
          const m = await ctx.meta.getTransactionMetrics();
          return { read: m.bytesRead.used, written: m.bytesWritten.used };
        }),
      );
    }
    const done = await t.query(api.deletions.getDeletion, {
      siteId,
      deletionId: started.deletionId,
    });
    expect(done).toMatchObject({
      status: "done",
      deleted: { events: 24, batchesRewritten: 24, sessions: 1 },
    });
    expect(done.passes).toBeGreaterThan(2);
    for (const m of metrics) {
      expect(m.read).toBeLessThan(4 * 1024 * 1024);
      expect(m.written).toBeLessThan(4 * 1024 * 1024);
    }
    const left = await allEvents(t, siteId);
    expect(left.length).toBe(24 * 99);
    expect(left.some((e) => e.visitorId === "the-person")).toBe(false);
  });

  test("a batch of the person's that the worker has not counted yet is left alone until it is counted, and then rewritten: the rollups count it once", async () => {
    vi.setSystemTime(Date.parse("2026-10-20T12:00:00Z"));
    const t = initConvexTest();
    const siteId = await createSite(t, "UTC");
    const event = (id: string, visitorId: string) => ({
      id,
      type: "pageview",
      occurredAt: Date.now() - 60_000,
      url: "https://example.com/a",
      visitorId,
    });
    await t.mutation(api.ingest.ingestBatch, {
      siteId,
      batchId: "q",
      events: [event("p1", "p"), event("o1", "o")],
    });
    vi.advanceTimersByTime(1_000);
    const started = await t.mutation(api.deletions.deleteVisitorData, { siteId, visitorId: "p" });
    expect(started).toMatchObject({ status: "running", phase: "batches", waiting: true });
    const queued = await t.run((ctx) => ctx.db.query("batches").collect());
    expect(queued[0]!.events.map((e) => e.id)).toEqual(["p1", "o1"]);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const done = await t.query(api.deletions.getDeletion, {
      siteId,
      deletionId: started.deletionId,
    });
    expect(done).toMatchObject({ status: "done", deleted: { events: 1, sessions: 1 } });
    expect((await allEvents(t, siteId)).map((e) => e.id)).toEqual(["o1"]);
    vi.setSystemTime(Date.now() + 3 * HOUR);
    const overview = await t.query(api.reports.getOverview, {
      siteId,
      from: Date.parse("2026-10-20T00:00:00Z"),
      to: Date.parse("2026-10-21T00:00:00Z"),
    });
    expect(overview).toMatchObject({ pageviews: 2, visitors: 2 });
  });

  test("the site's cached scans go too: a funnel scan part-way through holds the person's events, and one run after the deletion counts only the others", async () => {
    vi.setSystemTime(Date.parse("2026-10-20T12:00:00Z"));
    const t = initConvexTest();
    const siteId = await createSite(t, "UTC");
    const event = (id: string, visitorId: string, path: string) => ({
      id,
      type: "pageview",
      occurredAt: Date.now() - 60_000,
      url: `https://example.com${path}`,
      visitorId,
    });
    await t.mutation(api.ingest.ingestBatch, {
      siteId,
      batchId: "s",
      events: [event("p1", "p", "/a"), event("p2", "p", "/b"), event("o1", "o", "/a")],
    });
    await drainAll(t, siteId);
    const funnel = {
      siteId,
      from: Date.parse("2026-10-20T00:00:00Z"),
      to: Date.parse("2026-10-20T13:00:00Z"),
      steps: [{ path: "/a" }, { path: "/b" }],
    };
    // The collect step only: the person's events sit in the scan's parts.
    const { scanId } = await t.mutation(api.funnels.startFunnel, funnel);
    await t.mutation(internal.scans.scanStep, { scanId: scanId as Id<"scans"> });
    const parts = await t.run(async (ctx) => (await ctx.db.query("scanParts").collect()).length);
    expect(parts).toBeGreaterThan(0);

    const started = await t.mutation(api.deletions.deleteVisitorData, { siteId, visitorId: "p" });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const done = await t.query(api.deletions.getDeletion, {
      siteId,
      deletionId: started.deletionId,
    });
    expect(done).toMatchObject({ status: "done", deleted: { events: 2, scans: 1 } });
    expect(done!.deleted.scanParts).toBe(parts);
    const left = await t.run(async (ctx) => ({
      scans: (await ctx.db.query("scans").collect()).length,
      parts: (await ctx.db.query("scanParts").collect()).length,
    }));
    expect(left).toEqual({ scans: 0, parts: 0 });

    await t.mutation(api.funnels.startFunnel, funnel);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const after = await t.query(api.funnels.getFunnel, funnel);
    expect(after.complete).toBe(true);
    expect(after.steps.map((s) => s.visitors)).toEqual([1, 0]);
  });

  test("asking again while a deletion runs returns the same job; a dead letter cannot be retried meanwhile; the subject must be one of visitorId and userId", async () => {
    vi.setSystemTime(Date.parse("2026-10-20T12:00:00Z"));
    const t = initConvexTest();
    const siteId = await createSite(t, "UTC");
    await t.mutation(api.ingest.ingestBatch, {
      siteId,
      batchId: "q",
      events: [
        {
          id: "p1",
          type: "pageview",
          occurredAt: Date.now(),
          url: "https://example.com/",
          visitorId: "p",
        },
      ],
    });
    vi.advanceTimersByTime(1_000);
    const first = await t.mutation(api.deletions.deleteVisitorData, { siteId, visitorId: "p" });
    const again = await t.mutation(api.deletions.deleteVisitorData, { siteId, visitorId: "p" });
    expect(again.deletionId).toBe(first.deletionId);
    const letter = await t.run(async (ctx) =>
      ctx.db.insert("deadLetters", {
        siteId: siteId as Id<"sites">,
        batchId: "x",
        events: [],
        attempts: 3,
        error: "e",
      }),
    );
    await expect(
      t.mutation(api.deadLetters.retryDeadLetter, { siteId, deadLetterId: letter }),
    ).rejects.toThrow("A visitor data deletion is running on this site");
    await expect(t.mutation(api.deletions.deleteVisitorData, { siteId })).rejects.toThrow(
      "Give exactly one of visitorId and userId",
    );
    await expect(
      t.mutation(api.deletions.deleteVisitorData, { siteId, visitorId: "a", userId: "b" }),
    ).rejects.toThrow("Give exactly one of visitorId and userId");
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(
      await t.mutation(api.deadLetters.retryDeadLetter, { siteId, deadLetterId: letter }),
    ).toEqual({
      batchId: "x",
      events: 0,
    });
  });
});
