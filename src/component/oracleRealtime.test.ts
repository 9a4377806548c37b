// Realtime against the brute-force oracle (oracle.testlib.ts oracleRealtime):
// random visitors over the last 100 minutes, sent in random batches, then the
// live view at random `now` (before, inside and after the events) equals the
// oracle exactly: current visitors of the last 5 minutes, each minute's
// pageviews and visitors, the top pages and the top sources. And the minute
// rows stay bounded in keys however many distinct pages one minute sees.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import type { AnalyticsEvent } from "../shared.js";
import {
  PROPERTY_TIMEOUT_MS,
  SEED,
  createSite,
  drainAll,
  ingest,
} from "./oracle.harness.testlib.js";
import { buildModel, oracleRealtime } from "./oracle.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { decodeRows } from "./rowCodec.js";
import {
  FAN_IN,
  REALTIME_KEYS_PER_MINUTE,
  appendDeltas,
  minuteKey,
  splitMinuteKey,
} from "./deltas.js";
import { emptyRow, type DeltaRow } from "./rows.js";
import { hashVisitor, sketchOf } from "./sketch.js";
import type { MutationCtx } from "./_generated/server.js";
import type { Id } from "./_generated/dataModel.js";
import { HOUR, MINUTE } from "./time.js";
import { batchesByState } from "./batches.testlib.js";

const RUNS = Number(process.env.ORACLE_RUNS ?? 6);
/** The events' latest time; the workers run just after it, so every event is inside the minute rows' window. */
const T = Date.parse("2026-10-20T12:00:00Z");

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const PAGES = ["/", "/pricing", "/docs", "/blog/launch", "/about"];
const REFERRERS = [undefined, "https://www.google.com/", "https://news.ycombinator.com/item?id=1"];

const arbVisitor = fc.record({
  referrer: fc.constantFrom(...REFERRERS),
  events: fc.array(
    fc.record({
      minutesAgo: fc.integer({ min: 0, max: 100 }),
      second: fc.integer({ min: 0, max: 59 }),
      page: fc.constantFrom(...PAGES),
      pageview: fc.boolean(),
    }),
    { minLength: 1, maxLength: 6 },
  ),
  cut: fc.integer({ min: 1, max: 4 }),
});

const arbLive = fc.record({
  visitors: fc.array(arbVisitor, { minLength: 1, maxLength: 25 }),
  /** `now`s to look at, in minutes (and ms) from T: inside the events, before them and after. */
  nows: fc.array(
    fc.tuple(fc.integer({ min: -110, max: 40 }), fc.integer({ min: 0, max: MINUTE - 1 })),
    { minLength: 1, maxLength: 6 },
  ),
});

describe("realtime equals the oracle", () => {
  test(
    "at random now: current visitors, pageviews per minute, top pages and top sources",
    async () => {
      await fc.assert(
        fc.asyncProperty(arbLive, async ({ visitors, nows }) => {
          vi.clearAllTimers();
          vi.setSystemTime(T - 3 * 60 * MINUTE);
          const t = initConvexTest();
          const siteId = await createSite(t, "UTC");
          let batch = 0;
          for (const [v, visitor] of visitors.entries()) {
            // Each visitor's events in time order, as a browser sends them.
            const events: AnalyticsEvent[] = visitor.events
              .map((e, i) => ({
                id: `v${v}e${i}`,
                type: e.pageview ? ("pageview" as const) : ("track" as const),
                ...(e.pageview ? {} : { name: "signup" }),
                occurredAt: T - e.minutesAgo * MINUTE + e.second * 1000,
                url: `https://example.com${e.page}`,
                visitorId: `visitor-${v}`,
              }))
              .sort((a, b) => a.occurredAt - b.occurredAt)
              .map((e, i) =>
                i === 0 && visitor.referrer ? { ...e, referrer: visitor.referrer } : e,
              );
            for (let i = 0; i < events.length; i += visitor.cut)
              await ingest(t, siteId, {
                batchId: `b${batch++}`,
                events: events.slice(i, i + visitor.cut),
              });
          }
          vi.setSystemTime(T);
          await drainAll(t, siteId);
          const model = buildModel(
            await t.run(async (ctx) =>
              (await batchesByState(ctx)).processed.flatMap((b) => b.events),
            ),
          );
          for (const [minutes, ms] of nows) {
            const now = T + minutes * MINUTE + ms;
            expect(
              await t.query(api.reports.getRealtime, { siteId, now }),
              `realtime at ${new Date(now).toISOString()}`,
            ).toEqual(oracleRealtime(model, now));
          }
        }),
        { seed: SEED, numRuns: RUNS },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  test("a minute with more distinct pages than the per-minute cap keeps its top pages and folds the rest into (other) when its documents merge", async () => {
    vi.setSystemTime(T);
    const t = initConvexTest();
    const siteId = (await createSite(t, "UTC")) as Id<"sites">;
    const minute = T - 2 * MINUTE;
    const perRun = 20;
    // FAN_IN runs of equal size (one size class), each with its own pages; page p has 1 + (p % 2) viewers.
    await t.run(async (ctx) => {
      for (let run = 0; run < FAN_IN; run++) {
        const rows: DeltaRow[] = [];
        for (let i = 0; i < perRun; i++) {
          const p = run * perRun + i;
          const viewers = Array.from({ length: 1 + (p % 2) }, (_, v) => hashVisitor(`v${p}-${v}`));
          rows.push({
            dimension: "page",
            ...emptyRow(minuteKey(minute, `/page-${String(p).padStart(3, "0")}`)),
            events: viewers.length,
            pageviews: viewers.length,
            visitors: sketchOf(viewers),
          });
        }
        await appendDeltas(
          ctx as unknown as MutationCtx,
          { siteId, generation: 0 },
          "minute",
          minute - (minute % HOUR),
          rows,
        );
      }
    });
    const docs = await t.run(async (ctx) =>
      (await ctx.db.query("rollupDeltas").collect()).map((d) => decodeRows(d.rows)),
    );
    // The FAN_IN documents merged into one, capped: REALTIME_KEYS_PER_MINUTE rows, "(other)" among them.
    expect(docs.length).toBe(1);
    expect(docs[0]!.length).toBe(REALTIME_KEYS_PER_MINUTE);
    const other = docs[0]!.find((r) => splitMinuteKey(r.key).key === "(other)")!;
    const live = await t.query(api.reports.getRealtime, { siteId, now: T });
    // Nothing is lost: the kept pages and "(other)" add up to every pageview.
    const total = FAN_IN * perRun + (FAN_IN * perRun) / 2;
    expect(docs[0]!.reduce((n, r) => n + r.pageviews, 0)).toBe(total);
    expect(other.pageviews).toBeGreaterThan(0);
    // "(other)" is shown like any page (it holds the 61 one-viewer pages folded), then the kept 2-viewer pages.
    expect(live.topPages.map((p) => [p.key === "(other)" ? p.key : "kept", p.visitors])).toEqual([
      ["(other)", 61],
      ...Array.from({ length: 9 }, () => ["kept", 2]),
    ]);
  });
});
