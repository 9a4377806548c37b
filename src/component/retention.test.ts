// Retention catches up, provably: 20 days of history on each of two sites (one with
// every retention set short, one on the defaults) are ingested, drained and
// compacted; the clock moves on; applyRetention and everything it schedules
// run until nothing is pending. Every document past its retention is gone and
// every other one is exactly as it was, table by table (an oracle reading
// only each document's age and its site's settings); every maintenance
// transaction stays within the 4 MiB budget; reports over old whole days and
// months answer as before, and ranges needing deleted buckets are refused
// with the reason. Reduced to stay fast on stock convex-test (which scans every
// document on every query); `npm run bench` runs 60 days x 5,000 events.
import { beforeAll, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import {
  expectRetained,
  expectedAfterRetention,
  ingestHistories,
  ingestLive,
  runMaintenance,
  snapshot,
  type History,
  type MaintenanceRun,
  type Snapshot,
} from "./retention.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { DAY, HOUR } from "./time.js";
import { sumHourTotals } from "./totals.js";

enforceConvexDocumentLimits();
vi.useFakeTimers();

const BUDGET = 4 * 1024 * 1024;
const FROM = Date.UTC(2026, 0, 20);
const NOW = Date.UTC(2026, 1, 15, 12); // 2026-02-15 12:00 UTC
/**
 * Every level cut inside the history (Jan 20 to Feb 8): raw batches and hours at Feb 7 12:00,
 * days at Feb 3 (local), months at February, bot counts and dead letters at Feb 7 12:00.
 */
const SHORT: History = {
  slug: "short",
  timezone: "Europe/Berlin",
  settings: {
    rawRetentionDays: 8,
    hourlyRollupRetentionDays: 8,
    dailyRollupRetentionDays: 12,
    monthlyRollupRetentionDays: 14,
    botCountRetentionDays: 8,
    deadLetterRetentionDays: 8,
  },
  from: FROM,
  days: 20,
  eventsPerDay: 200,
  hours: [8, 14],
};
/** The defaults (raw and hours 90 days, days and months forever), from 2025-11-01: cut at Nov 17 12:00. */
const DEFAULTS: History = {
  slug: "defaults",
  timezone: "UTC",
  settings: {},
  from: Date.UTC(2025, 10, 1),
  days: 20,
  eventsPerDay: 10,
  hours: [12],
};

const berlin = (iso: string) => Date.parse(`${iso}+01:00`);
const RANGES = {
  oldDays: { from: berlin("2026-02-03T00:00:00"), to: berlin("2026-02-07T00:00:00") },
  february: { from: berlin("2026-02-01T00:00:00"), to: berlin("2026-03-01T00:00:00") },
  keptHours: { from: berlin("2026-02-07T16:00:00"), to: berlin("2026-02-08T16:00:00") },
  oldDay: { from: berlin("2026-02-04T00:00:00"), to: berlin("2026-02-05T00:00:00") },
  oldHours: { from: berlin("2026-02-04T10:00:00"), to: berlin("2026-02-05T10:00:00") },
  oldDaysOfJanuary: { from: berlin("2026-01-25T00:00:00"), to: berlin("2026-01-28T00:00:00") },
  january: { from: berlin("2026-01-01T00:00:00"), to: berlin("2026-02-01T00:00:00") },
};

let t: ReturnType<typeof initConvexTest>;
let short: Id<"sites">;
let defaults: Id<"sites">;
let before: Snapshot;
let first: MaintenanceRun;
const reportsBefore = new Map<string, unknown>();

async function reports(siteId: string) {
  const out: Record<string, unknown> = {};
  const granularities = { oldDays: "day", february: "month", keptHours: "hour" } as const;
  for (const [name, granularity] of Object.entries(granularities)) {
    const range = RANGES[name as keyof typeof granularities];
    out[`${name} overview`] = await t.query(api.reports.getOverview, { siteId, ...range });
    out[`${name} pages`] = await t.query(api.reports.getBreakdown, {
      siteId,
      ...range,
      dimension: "page",
      limit: 30,
    });
    out[`${name} by ${granularity}`] = await t.query(api.reports.getTimeseries, {
      siteId,
      ...range,
      granularity,
    });
  }
  return out;
}

beforeAll(async () => {
  t = initConvexTest();
  [short, defaults] = await ingestHistories(t, [SHORT, DEFAULTS]);
  vi.setSystemTime(NOW);
  await ingestLive(t, short, "short");
  for (const [name, value] of Object.entries(await reports(short))) reportsBefore.set(name, value);
  before = await snapshot(t);
  first = await runMaintenance(t);
}, 600_000);

describe("retention catches up on a history that every retention cuts", () => {
  test("everything past each site's retention is gone and every other document is exactly as it was, in every table", async () => {
    const after = await snapshot(t);
    const expected = expectedAfterRetention(before, NOW);
    // The oracle cuts every level inside the history: there was something to delete everywhere.
    for (const table of ["batches", "sessions", "rollups", "botCounts", "deadLetters"] as const) {
      expect(expected[table]!.length, table).toBeLessThan(before[table]!.length);
      expect(expected[table]!.length, table).toBeGreaterThan(0);
    }
    expect(
      new Set(before.rollups!.filter((d) => !expected.rollups!.includes(d)).map((d) => d.interval)),
    ).toEqual(new Set(["hour", "day", "month"]));
    expectRetained(after, expected);
    const deleted = Object.values(first.functions).reduce((n, f) => n + f.deleted, 0);
    // Retention deletes, and inserts only each site's horizons.
    const total = (s: Snapshot) => Object.values(s).reduce((n, docs) => n + docs.length, 0);
    expect(deleted).toBe(total(before) - total(after) + after.rollupHorizons!.length);
    console.log(
      `retention catch-up: ${deleted} documents deleted in ${first.runs} runs (${Math.round(deleted / first.runs)} per run):`,
      Object.entries(first.functions)
        .map(([name, f]) => `${name} ${f.runs} runs, ${f.deleted} deleted`)
        .join("; "),
    );
  });

  test("every maintenance transaction stays within 4 MiB read and 4 MiB written", () => {
    for (const [name, f] of Object.entries(first.functions)) {
      expect(f.worst.bytesRead, `${name} read`).toBeLessThanOrEqual(BUDGET);
      expect(f.worst.bytesWritten, `${name} written`).toBeLessThanOrEqual(BUDGET);
    }
    // Raw pruning and rollup pruning each ran more than one step for the short site.
    expect(first.functions["maintenance:pruneRollups"]!.runs).toBeGreaterThan(2);
    expect(first.functions["maintenance:pruneRaw"]!.runs).toBeGreaterThan(2);
  });

  test("the hourly totals of the deleted hours are gone with them; the kept hours' totals are as before", async () => {
    const horizon = NOW - 8 * DAY;
    const sums = await t.run(async (ctx) => ({
      deleted: await sumHourTotals(ctx, { siteId: short, generation: 0 }, 0, horizon),
      kept: await sumHourTotals(ctx, { siteId: short, generation: 0 }, horizon, NOW + HOUR),
    }));
    expect(sums.deleted).toEqual({
      events: 0,
      pageviews: 0,
      entries: 0,
      bounces: 0,
      durationMs: 0,
    });
    // From Feb 7 12:00 UTC: that day's 14:00 burst and Feb 8 (the live events' hour is still open).
    expect(sums.kept.events).toBe(100 + 200);
  });

  test("reports over old whole days and months answer exactly as before retention", async () => {
    const after = await reports(short);
    for (const [name, value] of Object.entries(after))
      expect(value, name).toEqual(reportsBefore.get(name));
    // Feb 1 to Feb 8, and the live five of Feb 15.
    expect((after["february overview"] as { events: number }).events).toBe(8 * 200 + 5);
  });

  test("a range needing deleted buckets is refused with the reason; an old day's automatic granularity is the day", async () => {
    const siteId = short;
    await expect(t.query(api.reports.getOverview, { siteId, ...RANGES.oldHours })).rejects.toThrow(
      /Hourly rollups are deleted by retention before 2026-02-07T12:00:00.000Z \(hourlyRollupRetentionDays: 8\): this range needs the hour starting 2026-02-04T09:00:00.000Z; start and end it at local midnights/,
    );
    await expect(
      t.query(api.reports.getTimeseries, { siteId, ...RANGES.oldDay, granularity: "hour" }),
    ).rejects.toThrow(/Hourly rollups are deleted by retention/);
    const auto = await t.query(api.reports.getTimeseries, { siteId, ...RANGES.oldDay });
    expect([auto.granularity, auto.points.length, auto.points[0]!.events]).toEqual(["day", 1, 200]);
    await expect(
      t.query(api.reports.getBreakdown, { siteId, ...RANGES.oldDaysOfJanuary, dimension: "page" }),
    ).rejects.toThrow(/Daily rollups are deleted by retention .*use month granularity/);
    await expect(
      t.query(api.reports.getTimeseries, { siteId, ...RANGES.february, granularity: "day" }),
    ).rejects.toThrow(/Daily rollups are deleted by retention/);
    await expect(t.query(api.reports.getOverview, { siteId, ...RANGES.january })).rejects.toThrow(
      /Monthly rollups are deleted by retention .*nothing older is kept/,
    );
    // The defaults site keeps days and months forever: its oldest days still answer.
    const oldest = { from: DEFAULTS.from, to: DEFAULTS.from + 10 * DAY };
    expect((await t.query(api.reports.getOverview, { siteId: defaults, ...oldest })).events).toBe(
      10 * 10,
    );
  });

  test("a second pass right after deletes nothing and takes one run per site and page of sites", async () => {
    const beforeSecond = await snapshot(t);
    const second = await runMaintenance(t);
    expectRetained(await snapshot(t), expectedAfterRetention(beforeSecond, NOW));
    expect(Object.values(second.functions).reduce((n, f) => n + f.deleted, 0)).toBe(0);
    expect(
      Object.fromEntries(Object.entries(second.functions).map(([name, f]) => [name, f.runs])),
    ).toEqual({
      "maintenance:applyRetention": 1,
      "maintenance:pruneMinutes": 1,
      "maintenance:pruneSites": 1,
      "maintenance:pruneRaw": 2,
    });
  });
});

describe("retention settings", () => {
  test("rollup retentions are whole days, hours at least 2, and no level is kept for less than a finer one, as stored after an update", async () => {
    const fresh = initConvexTest();
    const create = (slug: string, settings: Record<string, number>) =>
      fresh.mutation(api.sites.createSite, { slug, name: slug, settings });
    await expect(create("a", { hourlyRollupRetentionDays: 1 })).rejects.toThrow(
      "hourlyRollupRetentionDays must be a whole number of days between 2 and 36,500",
    );
    await expect(create("b", { dailyRollupRetentionDays: 30.5 })).rejects.toThrow(
      "dailyRollupRetentionDays must be a whole number",
    );
    // The hourly default (90 days) counts: days kept for 30 would leave old whole days unanswerable.
    await expect(create("c", { dailyRollupRetentionDays: 30 })).rejects.toThrow(
      "dailyRollupRetentionDays (30) must be at least hourlyRollupRetentionDays (90)",
    );
    await expect(create("d", { monthlyRollupRetentionDays: 400 })).rejects.toThrow(
      "monthlyRollupRetentionDays (400) must be at least dailyRollupRetentionDays (forever)",
    );
    const { siteId } = await create("e", {
      hourlyRollupRetentionDays: 30,
      dailyRollupRetentionDays: 365,
      monthlyRollupRetentionDays: 730,
    });
    await expect(
      fresh.mutation(api.sites.updateSite, {
        siteId,
        settings: { monthlyRollupRetentionDays: 100 },
      }),
    ).rejects.toThrow(
      "monthlyRollupRetentionDays (100) must be at least dailyRollupRetentionDays (365)",
    );
    const updated = await fresh.mutation(api.sites.updateSite, {
      siteId,
      settings: { hourlyRollupRetentionDays: 60 },
    });
    expect(updated.settings).toEqual({
      hourlyRollupRetentionDays: 60,
      dailyRollupRetentionDays: 365,
      monthlyRollupRetentionDays: 730,
    });
  });
});
