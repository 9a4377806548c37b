// Raw listings (listings.ts) against a brute-force oracle: the whole table read
// in a test transaction, sorted in JS. Keyset cursors must keep page 2 and later
// exactly the oracle's rows, in order, while new batches keep arriving.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import fc from "fast-check";
import type { PaginationResult } from "convex/server";
import { api } from "./_generated/api.js";
import type { Doc } from "./_generated/dataModel.js";
import { initConvexTest, runWorkers } from "./test.setup.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import {
  INVALID_CURSOR,
  LIST_PAGE_READ_BYTES,
  listEventsHandler,
  MAX_LIST_PAGE_ITEMS,
} from "./listings.js";
import { pagePath } from "./events.js";
import { vListedEvent, vListedSession, type ListedEvent, type ListedSession } from "../shared.js";

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers({ now: Date.parse("2026-03-10T12:00:00Z") }));
afterEach(() => vi.useRealTimers());

type T = ReturnType<typeof initConvexTest>;
const SEED = 11;
const NAMES = ["signup", "click", "buy"];
const VISITORS = ["v1", "v2", "v3"];
const USERS = ["u1", "u2"];
const PATHS = ["/", "/blog/a", "/blog/b", "/docs/x", "/bloggy"];

async function newSite(t: T, slug = "s") {
  return (await t.mutation(api.sites.createSite, { slug, name: slug })).siteId;
}

type EventSpec = {
  type: "pageview" | "track";
  name: number;
  visitor: number;
  user: number | null;
  path: number;
  back: number;
};
const arbEventSpec: fc.Arbitrary<EventSpec> = fc.record({
  type: fc.constantFrom("pageview" as const, "track" as const),
  name: fc.nat(NAMES.length - 1),
  visitor: fc.nat(VISITORS.length - 1),
  user: fc.option(fc.nat(USERS.length - 1), { nil: null }),
  path: fc.nat(PATHS.length - 1),
  back: fc.nat(3 * 3600),
});
const arbBatch = fc.array(arbEventSpec, { minLength: 0, maxLength: 6 });

let counter = 0;
async function ingest(t: T, siteId: string, specs: EventSpec[]): Promise<void> {
  const now = Date.now();
  const batch = `b${counter++}`;
  await t.mutation(api.ingest.ingestBatch, {
    siteId,
    batchId: batch,
    events: specs.map((s, i) => ({
      id: `${batch}-${i}`,
      type: s.type,
      ...(s.type === "track" ? { name: NAMES[s.name] } : {}),
      occurredAt: now - s.back * 1000,
      url: `https://ex.com${PATHS[s.path]}?q=${i}`,
      visitorId: VISITORS[s.visitor],
      ...(s.user === null ? {} : { userId: USERS[s.user] }),
    })),
  });
  vi.advanceTimersByTime(1000);
}

type EventFilters = {
  eventName?: string;
  visitorId?: string;
  userId?: string;
  pathPrefix?: string;
};
const arbEventFilters: fc.Arbitrary<EventFilters> = fc.record(
  {
    eventName: fc.constantFrom(...NAMES),
    visitorId: fc.constantFrom(...VISITORS),
    userId: fc.constantFrom(...USERS),
    pathPrefix: fc.constantFrom("/blog", "/blog/", "/docs", "/nothing"),
  },
  { requiredKeys: [] },
);

/** The oracle: every stored event of the site, newest first, with its position. */
async function eventOracle(t: T, siteId: string, filters: EventFilters) {
  const batches = await t.run(async (ctx) =>
    (await ctx.db.query("batches").collect()).filter((b) => b.siteId === siteId),
  );
  batches.sort((a, b) => b._creationTime - a._creationTime);
  const rows: { t: number; i: number; row: ListedEvent }[] = [];
  for (const b of batches)
    for (let i = b.events.length - 1; i >= 0; i--) {
      const e = b.events[i];
      if (filters.eventName !== undefined && e.name !== filters.eventName) continue;
      if (filters.visitorId !== undefined && e.visitorId !== filters.visitorId) continue;
      if (filters.userId !== undefined && e.userId !== filters.userId) continue;
      if (filters.pathPrefix !== undefined && !pagePath(e.url).startsWith(filters.pathPrefix))
        continue;
      rows.push({ t: b._creationTime, i, row: { ...e, receivedAt: b._creationTime } });
    }
  return rows;
}

/** Whether oracle position (t, i) comes after `cursor` (null: the start). */
function afterEventCursor(cursor: string | null, p: { t: number; i: number }): boolean {
  if (cursor === null) return true;
  const c = JSON.parse(cursor) as { end?: true; t: number; before: number };
  if (c.end) return false;
  return p.t < c.t || (p.t === c.t && p.i < c.before);
}

async function listEvents(
  t: T,
  siteId: string,
  filters: EventFilters,
  paginationOpts: {
    numItems: number;
    cursor: string | null;
    endCursor?: string | null;
    maximumRowsRead?: number;
  },
) {
  return await t.query(api.listings.listEvents, { siteId, paginationOpts, ...filters });
}

describe("listEvents", () => {
  test("pages are exactly the oracle's rows between their cursors, in order, while new batches keep arriving, for every filter", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbBatch, { minLength: 0, maxLength: 8 }),
        arbEventFilters,
        fc.array(
          fc.record({
            numItems: fc.integer({ min: 1, max: 6 }),
            // Forces bounded scans to stop part-way and return short pages.
            maximumRowsRead: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
            arriving: fc.array(arbBatch, { maxLength: 2 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (initial, filters, steps) => {
          const t = initConvexTest();
          const siteId = await newSite(t);
          const other = await newSite(t, "other");
          for (const specs of initial) {
            await ingest(t, siteId, specs);
            await ingest(t, other, specs);
          }
          const snapshot = (await eventOracle(t, siteId, filters)).map((r) => r.row);
          const seen: ListedEvent[] = [];
          let cursor: string | null = null;
          let done = false;
          // Enough steps to finish: every page moves past a batch or fills numItems.
          for (let step = 0; !done; step++) {
            const { numItems, maximumRowsRead, arriving } = steps[step % steps.length];
            // Batches arrive between pages, after the first one.
            if (step > 0) for (const specs of arriving) await ingest(t, siteId, specs);
            const oracle = await eventOracle(t, siteId, filters);
            const result: PaginationResult<ListedEvent> = await listEvents(t, siteId, filters, {
              numItems,
              cursor,
              maximumRowsRead,
            });
            const expected = oracle
              .filter(
                (p) => afterEventCursor(cursor, p) && !afterEventCursor(result.continueCursor, p),
              )
              .map((p) => p.row);
            expect(result.page).toEqual(expected);
            expect(result.page.length).toBeLessThanOrEqual(numItems);
            if (result.isDone)
              expect(oracle.filter((p) => afterEventCursor(result.continueCursor, p))).toEqual([]);
            seen.push(...result.page);
            cursor = result.continueCursor;
            done = result.isDone;
            expect(step).toBeLessThan(200);
          }
          // New batches arrive above the first page, so the walk returns the snapshot exactly once.
          expect(seen).toEqual(snapshot);
        },
      ),
      { seed: SEED, numRuns: 40 },
    );
  });

  test("rows are the stored events with receivedAt, and carry no key hash, salt or site field", async () => {
    const t = initConvexTest();
    const siteId = await newSite(t);
    await ingest(t, siteId, [
      { type: "pageview", name: 0, visitor: 0, user: 0, path: 1, back: 5 },
      { type: "track", name: 2, visitor: 0, user: null, path: 0, back: 1 },
    ]);
    const { page, isDone } = await listEvents(t, siteId, {}, { numItems: 10, cursor: null });
    expect(isDone).toBe(true);
    // As stored: ingest keeps no query parameter but utm_*, ref, source and the site's own (urlPrivacy.ts).
    expect(page.map((r) => [r.type, r.name, r.url])).toEqual([
      ["track", "buy", "https://ex.com/"],
      ["pageview", undefined, "https://ex.com/blog/a"],
    ]);
    const allowed = new Set(Object.keys(vListedEvent.fields));
    for (const row of page) {
      for (const key of Object.keys(row)) expect(allowed.has(key), key).toBe(true);
      // Creation times are unique per table, so convex-test adds microseconds to a repeated ms.
      expect(Math.floor(row.receivedAt)).toBe(Date.parse("2026-03-10T12:00:00Z"));
    }
    expect(JSON.stringify(page)).not.toMatch(/writeKeyHash|salt|siteId/);
  });

  test("a page pinned with endCursor grows to hold new rows and splits when it cannot read to its end at once", async () => {
    const t = initConvexTest();
    const siteId = await newSite(t);
    for (let i = 0; i < 4; i++)
      await ingest(t, siteId, [
        { type: "pageview", name: 0, visitor: 0, user: null, path: 0, back: 0 },
      ]);
    const first = await listEvents(t, siteId, {}, { numItems: 2, cursor: null });
    expect(first.page).toHaveLength(2);
    for (let i = 0; i < 3; i++)
      await ingest(t, siteId, [
        { type: "track", name: 1, visitor: 1, user: null, path: 0, back: 0 },
      ]);
    const pinned = await listEvents(
      t,
      siteId,
      {},
      {
        numItems: 2,
        cursor: null,
        endCursor: first.continueCursor,
      },
    );
    expect(pinned.page.map((r) => r.type)).toEqual([
      "track",
      "track",
      "track",
      "pageview",
      "pageview",
    ]);
    expect(pinned.page.slice(3)).toEqual(first.page);
    expect(pinned.continueCursor).toBe(first.continueCursor);

    const tight = await listEvents(
      t,
      siteId,
      {},
      {
        numItems: 2,
        cursor: null,
        endCursor: first.continueCursor,
        maximumRowsRead: 2,
      },
    );
    expect(tight.pageStatus).toBe("SplitRequired");
    expect(tight.continueCursor).toBe(first.continueCursor);
    const rest = await listEvents(
      t,
      siteId,
      {},
      {
        numItems: 2,
        cursor: tight.splitCursor!,
        endCursor: first.continueCursor,
      },
    );
    expect([...tight.page, ...rest.page]).toEqual(pinned.page);
  });

  test("a filter that matches nothing reads at most the page budget of bytes and returns a short page that is not done", async () => {
    const t = initConvexTest();
    const siteId = await newSite(t);
    // 40 batches of about 60 KB: 2.4 MB, over one page's byte budget.
    for (let b = 0; b < 40; b++)
      await t.mutation(api.ingest.ingestBatch, {
        siteId,
        batchId: `big${b}`,
        events: Array.from({ length: 30 }, (_, i) => ({
          id: `big${b}-${i}`,
          type: "pageview",
          occurredAt: Date.now(),
          url: "https://ex.com/",
          visitorId: "v",
          props: { blob: "x".repeat(1_900) },
        })),
      });
    const pages: { bytesRead: number; rows: number; isDone: boolean }[] = [];
    let cursor: string | null = null;
    for (let step = 0; step < 10; step++) {
      const page: { bytesRead: number; rows: number; isDone: boolean; cursor: string } =
        await t.run(async (ctx) => {
          const result = await listEventsHandler(ctx, {
            siteId,
            eventName: "never",
            paginationOpts: { numItems: MAX_LIST_PAGE_ITEMS, cursor },
          });
          const { bytesRead } = await ctx.meta.getTransactionMetrics();
          return {
            bytesRead: bytesRead.used,
            rows: result.page.length,
            isDone: result.isDone,
            cursor: result.continueCursor,
          };
        });
      pages.push(page);
      cursor = page.cursor;
      if (page.isDone) break;
    }
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.at(-1)!.isDone).toBe(true);
    for (const page of pages) {
      expect(page.rows).toBe(0);
      // The budget plus the one batch that crossed it, plus the site document.
      expect(page.bytesRead).toBeLessThan(LIST_PAGE_READ_BYTES + 100 * 1024);
    }
  });

  test("a cursor it did not produce, or an unknown site, is a clear error", async () => {
    const t = initConvexTest();
    const siteId = await newSite(t);
    for (const cursor of ["nope", "{}", '{"t":1,"batch":"x","before":0}', "[1,2,3]"])
      await expect(listEvents(t, siteId, {}, { numItems: 5, cursor })).rejects.toThrow(
        INVALID_CURSOR,
      );
    await expect(
      t.query(api.listings.listEvents, {
        siteId: "nosuchsite",
        paginationOpts: { numItems: 5, cursor: null },
      }),
    ).rejects.toThrow(/Unknown site/);
  });
});

// ---- sessions ------------------------------------------------------------

type SessionFilters = { visitorId?: string; pathPrefix?: string };
const arbSessionFilters: fc.Arbitrary<SessionFilters> = fc.record(
  { visitorId: fc.constantFrom(...VISITORS), pathPrefix: fc.constantFrom("/blog", "/docs", "/") },
  { requiredKeys: [] },
);

async function sessionOracle(t: T, siteId: string, filters: SessionFilters) {
  const docs: Doc<"sessions">[] = await t.run(async (ctx) =>
    (await ctx.db.query("sessions").collect()).filter((s) => s.siteId === siteId),
  );
  docs.sort((a, b) => b.startedAt - a.startedAt || b._creationTime - a._creationTime);
  return docs
    .filter(
      (d) =>
        (filters.visitorId === undefined || d.visitorId === filters.visitorId) &&
        (filters.pathPrefix === undefined || d.entryPage.startsWith(filters.pathPrefix)),
    )
    .map(({ _creationTime, siteId: _s, generation: _g, ...row }) => ({
      s: row.startedAt,
      c: _creationTime,
      row,
    }));
}

function afterSessionCursor(cursor: string | null, p: { s: number; c: number }): boolean {
  if (cursor === null) return true;
  const c = JSON.parse(cursor) as [number, number, string] | { end: true };
  if (!Array.isArray(c)) return false;
  return p.s < c[0] || (p.s === c[0] && p.c < c[1]);
}

describe("listSessions", () => {
  test("pages are exactly the oracle's sessions between their cursors, newest started first, while new sessions keep arriving, for every filter", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbBatch, { minLength: 0, maxLength: 6 }),
        arbSessionFilters,
        fc.array(
          fc.record({
            numItems: fc.integer({ min: 1, max: 4 }),
            maximumRowsRead: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
            arriving: fc.array(arbBatch, { maxLength: 2 }),
            // Far enough for the next events to start new sessions.
            idleMinutes: fc.constantFrom(0, 45),
          }),
          { minLength: 1, maxLength: 10 },
        ),
        async (initial, filters, steps) => {
          const t = initConvexTest();
          const siteId = await newSite(t);
          for (const specs of initial) {
            await ingest(t, siteId, specs);
            vi.advanceTimersByTime(40 * 60_000);
          }
          await runWorkers(t);
          let cursor: string | null = null;
          let done = false;
          for (let step = 0; !done; step++) {
            const { numItems, maximumRowsRead, arriving, idleMinutes } = steps[step % steps.length];
            vi.advanceTimersByTime(idleMinutes * 60_000);
            for (const specs of arriving) await ingest(t, siteId, specs);
            await runWorkers(t);
            const oracle = await sessionOracle(t, siteId, filters);
            const result: PaginationResult<ListedSession> = await t.query(
              api.listings.listSessions,
              { siteId, paginationOpts: { numItems, cursor, maximumRowsRead }, ...filters },
            );
            const expected = oracle
              .filter(
                (p) =>
                  afterSessionCursor(cursor, p) && !afterSessionCursor(result.continueCursor, p),
              )
              .map((p) => p.row);
            expect(result.page).toEqual(expected);
            expect(result.page.length).toBeLessThanOrEqual(numItems);
            if (result.isDone)
              expect(oracle.filter((p) => afterSessionCursor(result.continueCursor, p))).toEqual(
                [],
              );
            cursor = result.continueCursor;
            done = result.isDone;
            expect(step).toBeLessThan(200);
          }
        },
      ),
      { seed: SEED, numRuns: 25 },
    );
  });

  test("rows are the stored session fields with their id, never the site or anything else", async () => {
    const t = initConvexTest();
    const siteId = await newSite(t);
    await ingest(t, siteId, [
      { type: "pageview", name: 0, visitor: 0, user: null, path: 1, back: 0 },
    ]);
    await runWorkers(t);
    const { page } = await t.query(api.listings.listSessions, {
      siteId,
      paginationOpts: { numItems: 5, cursor: null },
    });
    expect(page).toHaveLength(1);
    expect(Object.keys(page[0]).sort()).toEqual(Object.keys(vListedSession.fields).sort());
    expect(page[0]).toMatchObject({ visitorId: "v1", entryPage: "/blog/a", pageviews: 1 });
  });
});
