/// <reference types="vite/client" />
// A raw-event scan's cost (scans.ts), measured: a funnel and a filtered overview
// (filters.ts) over 10,000 and 100,000 stored events (SCAN_BENCH_SIZES, e.g.
// "2000", for a quick check), step by step, with convex-test's own transaction
// metrics taken inside each step's transaction. Prints documents read per 10k
// events and wall time per 100k events, and each step's largest reads and
// writes against the 4 MiB budget. The answer is checked against a direct
// count, so the numbers are those of a correct scan. Run with `npm run bench`.
import { describe, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import aggregate from "@convex-dev/aggregate/test";
import batchWorker from "@convex-dev/batch-worker/test";
import rateLimiter from "@convex-dev/rate-limiter/test";
import type { TransactionMetrics } from "convex/server";
import schema from "../src/component/schema.js";
import { api } from "../src/component/_generated/api.js";
import type { MutationCtx } from "../src/component/_generated/server.js";
import type { Id } from "../src/component/_generated/dataModel.js";
import type { AnalyticsEvent } from "../src/shared.js";
import { scanStepHandler } from "../src/component/scans.js";
import { DAY, HOUR } from "../src/component/time.js";
import { indexEveryDatabase } from "../dev/indexedStore.js";

await indexEveryDatabase(convexTest);
const wallNow = performance.now.bind(performance);
const modules = import.meta.glob("../src/component/**/*.ts");
const T0 = Date.parse("2026-03-10T00:00:00Z");
const PATHS = ["/", "/pricing", "/blog/a", "/blog/b", "/docs/x"];

function initBench() {
  const t = convexTest({ schema, modules, transactionLimits: true });
  aggregate.register(t, "hourlyTotals");
  batchWorker.register(t, "hourlyTotals/batchWorker");
  rateLimiter.register(t, "rateLimiter");
  return t;
}

/** Seeded events over the day before T0: five per visitor, pageviews and signups. */
function workload(count: number): AnalyticsEvent[] {
  let seed = 20261203;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: count }, (_, i): AnalyticsEvent => {
    const visitorId = `visitor-${Math.floor(i / 5)}-${"x".repeat(16)}`;
    const base = { id: `event-${i}`, occurredAt: T0 - DAY + Math.floor(random() * DAY), visitorId };
    return random() < 0.15
      ? {
          ...base,
          type: "track",
          name: "signup",
          url: "https://shop.test/signup",
          props: { plan: "pro" },
        }
      : {
          ...base,
          type: "pageview",
          url: `https://shop.test${PATHS[Math.floor(random() * PATHS.length)]}`,
          title: "A page title of ordinary length",
        };
  });
}

/** Visitors with a /pricing pageview before a signup, and those with a /pricing pageview. */
function expected(events: AnalyticsEvent[]): number[] {
  const firstPricing = new Map<string, number>();
  for (const e of events)
    if (e.type === "pageview" && e.url.endsWith("/pricing"))
      firstPricing.set(
        e.visitorId,
        Math.min(firstPricing.get(e.visitorId) ?? Infinity, e.occurredAt),
      );
  const converted = new Set<string>();
  for (const e of events)
    if (e.type === "track" && (firstPricing.get(e.visitorId) ?? Infinity) < e.occurredAt)
      converted.add(e.visitorId);
  return [firstPricing.size, converted.size];
}

/** Pageviews of /blog pages and their visitors: the filtered overview's answer. */
function expectedBlog(events: AnalyticsEvent[]) {
  const blog = events.filter((e) => e.type === "pageview" && e.url.includes("/blog"));
  return { pageviews: blog.length, visitors: new Set(blog.map((e) => e.visitorId)).size };
}

/** Two filters no rollup answers: pages containing "/blog", outside Germany (no event has a country). */
const FILTERS = [
  { dimension: "page", op: "contains", value: "/blog" },
  { dimension: "country", op: "isNot", value: "DE" },
] as const;

type ScanUnderTest = "funnel" | "filter";

async function measure(count: number, kind: ScanUnderTest) {
  vi.useFakeTimers();
  vi.setSystemTime(T0 + HOUR);
  const t = initBench();
  const { siteId } = await t.mutation(api.sites.createSite, { slug: "bench", name: "Bench" });
  const events = workload(count);
  // Stored as processed raw history: batches of 100, and the site's cursor past them.
  for (let i = 0; i < events.length; i += 2_000)
    await t.run(async (ctx) => {
      for (let j = i; j < Math.min(i + 2_000, events.length); j += 100)
        await ctx.db.insert("batches", {
          siteId: siteId as Id<"sites">,
          batchId: `b${j}`,
          events: events.slice(j, j + 100),
        });
    });
  vi.setSystemTime(T0 + 2 * HOUR);
  await t.run(async (ctx) => {
    await ctx.db.insert("siteCursors", {
      siteId: siteId as Id<"sites">,
      creationTime: Date.now(),
      ids: [],
      retry: [],
    });
  });
  const range = { siteId, from: T0 - DAY, to: T0 };
  const args = { ...range, steps: [{ path: "/pricing" }, { event: "signup" }] };
  const filtered = { ...range, filters: [...FILTERS] };
  const { scanId } =
    kind === "funnel"
      ? await t.mutation(api.funnels.startFunnel, args)
      : await t.mutation(api.filters.startFilterScan, { report: "overview", ...filtered });
  let steps = 0;
  const total = { documentsRead: 0, bytesRead: 0 };
  const max = { bytesRead: 0, bytesWritten: 0, documentsRead: 0 };
  const started = wallNow();
  for (;;) {
    const m = await t.run(async (ctx) => {
      const before = (await ctx.db.get("scans", scanId as Id<"scans">))!.phase;
      if (before === "done") return null;
      await scanStepHandler(ctx as unknown as MutationCtx, { scanId: scanId as Id<"scans"> });
      return (await ctx.meta.getTransactionMetrics()) as TransactionMetrics;
    });
    if (m === null) break;
    steps++;
    total.documentsRead += m.documentsRead.used;
    total.bytesRead += m.bytesRead.used;
    max.bytesRead = Math.max(max.bytesRead, m.bytesRead.used);
    max.bytesWritten = Math.max(max.bytesWritten, m.bytesWritten.used);
    max.documentsRead = Math.max(max.documentsRead, m.documentsRead.used);
  }
  const wallMs = wallNow() - started;
  if (kind === "funnel") {
    const funnel = await t.query(api.funnels.getFunnel, args);
    expect(funnel.steps.map((s) => s.visitors)).toEqual(expected(events));
    expect(funnel).toMatchObject({ complete: true, scannedEvents: count });
  } else {
    const overview = await t.query(api.reports.getOverview, filtered);
    expect(overview).toMatchObject({
      ...expectedBlog(events),
      complete: true,
      scannedEvents: count,
    });
  }
  vi.useRealTimers();
  return { count, steps, total, max, wallMs };
}

const MIB = 1024 * 1024;

const SIZES = (process.env.SCAN_BENCH_SIZES ?? "10000,100000").split(",").map(Number);
const TITLES: Record<ScanUnderTest, string> = {
  funnel:
    "raw-event scan: funnel [/pricing, signup] over stored events (batches of 100), every step measured",
  filter:
    'filtered scan: overview with page contains "/blog" and country isNot "DE" over stored events (batches of 100), every step measured',
};

describe.each(["funnel", "filter"] as const)("raw-event scan (%s)", (kind) => {
  test("documents read per 10k events and wall time per 100k events", async () => {
    const rows = [];
    for (const count of SIZES) rows.push(await measure(count, kind));
    console.log(
      [
        "",
        TITLES[kind],
        "events   steps  docs read  docs/10k ev  MiB read  max step read MiB  max step written MiB  wall s  wall s/100k ev",
        ...rows.map((r) =>
          [
            String(r.count).padEnd(8),
            String(r.steps).padStart(5),
            String(r.total.documentsRead).padStart(10),
            ((r.total.documentsRead / r.count) * 10_000).toFixed(0).padStart(12),
            (r.total.bytesRead / MIB).toFixed(1).padStart(9),
            (r.max.bytesRead / MIB).toFixed(2).padStart(18),
            (r.max.bytesWritten / MIB).toFixed(2).padStart(21),
            (r.wallMs / 1000).toFixed(1).padStart(7),
            ((r.wallMs / 1000 / r.count) * 100_000).toFixed(1).padStart(15),
          ].join(" "),
        ),
      ].join("\n"),
    );
    for (const r of rows) {
      expect(r.max.bytesRead).toBeLessThan(4 * MIB);
      expect(r.max.bytesWritten).toBeLessThan(4 * MIB);
    }
  });
});
