// The stats HTTP API's `filters` (t.fetch on the example app's http.ts): a
// filter a rollup answers is complete at once; a combination starts the raw
// scan on the first request, which says `complete: false` and is not cached,
// and the same request answers in full once the scan has run (a goal filter
// too); every bad `filters` is a 400 with a clear message.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { initApp, type App } from "./app.setup.js";
import { components } from "../example/convex/_generated/api.js";
import type { Filter } from "../src/shared.js";
import { enforceConvexDocumentLimits } from "../src/component/convexLimits.testlib.js";

const NOW = Date.parse("2026-03-20T12:00:00Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

enforceConvexDocumentLimits();
beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(NOW - 2 * DAY);
});
afterEach(() => vi.useRealTimers());

async function setup() {
  const t = initApp();
  const { siteId } = await t.mutation(components.analytics.sites.createSite, {
    slug: "a",
    name: "A",
  });
  const { readKey } = await t.mutation(components.analytics.readKeys.createReadKey, {
    siteId,
    name: "status page",
  });
  vi.setSystemTime(NOW - HOUR / 2);
  const view = (id: string, visitorId: string, path: string, country: string, at: number) => ({
    id,
    type: "pageview",
    occurredAt: at,
    url: `https://a.com${path}`,
    visitorId,
    country,
  });
  await t.mutation(components.analytics.ingest.ingestBatch, {
    siteId,
    batchId: "b1",
    events: [
      view("e1", "v1", "/", "DE", NOW - HOUR),
      view("e2", "v1", "/x", "DE", NOW - HOUR + 1_000),
      view("e3", "v2", "/x", "FR", NOW - HOUR + 2_000),
      view("e4", "v3", "/y", "US", NOW - HOUR + 3_000),
    ],
  });
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  vi.setSystemTime(NOW);
  return { t, siteId, readKey };
}

const get = (t: App, path: string, readKey: string) =>
  t.fetch(`/analytics${path}`, { method: "GET", headers: { Authorization: `Bearer ${readKey}` } });
const query = (params: Record<string, string | number>) =>
  new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
const filtersParam = (filters: unknown) => JSON.stringify(filters);

describe("GET /api/v1/* with filters", () => {
  test("a filter a rollup answers is complete at once and equals the facade's filtered report", async () => {
    const { t, siteId, readKey } = await setup();
    const filters: Filter[] = [{ dimension: "page", op: "is", value: "/x" }];
    const range = { siteId, from: NOW - DAY, to: NOW };
    const response = await get(
      t,
      `/api/v1/overview?${query({ site: siteId, from: range.from, to: range.to, filters: filtersParam(filters) })}`,
      readKey,
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { pageviews: number; complete: boolean };
    expect(body).toEqual(
      await t.query(components.analytics.reports.getOverview, { ...range, filters }),
    );
    expect(body).toMatchObject({ pageviews: 2, complete: true, scannedEvents: 0 });
    expect(response.headers.get("Cache-Control")).toBe("private, no-cache");
  });

  /**
   * A country breakdown under `filters` through the stats API: partial and not
   * cached while its scan runs, then, once it has run, the facade's answer.
   */
  async function scannedBreakdown(
    { t, siteId, readKey }: Awaited<ReturnType<typeof setup>>,
    filters: Filter[],
  ) {
    const range = { siteId, from: NOW - DAY, to: NOW };
    const path = `/api/v1/breakdown?${query({
      ...{ site: siteId, from: range.from, to: range.to, dimension: "country" },
      filters: filtersParam(filters),
    })}`;
    const first = await get(t, path, readKey);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ complete: false });
    expect(first.headers.get("Cache-Control")).toBe("no-store");

    await t.finishAllScheduledFunctions(vi.runAllTimers);
    vi.setSystemTime(NOW);
    const then = await get(t, path, readKey);
    expect(then.status).toBe(200);
    expect(then.headers.get("Cache-Control")).toBe("private, no-cache");
    const body = (await then.json()) as {
      rows: { key: string; visitors: number; pageviews: number }[];
    };
    expect(body).toEqual(
      await t.query(components.analytics.reports.getBreakdown, {
        ...range,
        dimension: "country",
        filters,
      }),
    );
    return body;
  }

  test("a combination starts the scan: partial and not cached at first, then the whole answer", async () => {
    const body = await scannedBreakdown(await setup(), [
      { dimension: "country", op: "isNot", value: "US" },
      { dimension: "page", op: "contains", value: "x" },
    ]);
    expect(body).toMatchObject({ complete: true, scannedEvents: 4 });
    expect(body.rows.map((r) => [r.key, r.pageviews]).sort()).toEqual([
      ["DE", 1],
      ["FR", 1],
    ]);
  });

  test("a goal filter: the scan of the goal's conversions, as the facade's", async () => {
    const site = await setup();
    const { goalId } = await site.t.mutation(components.analytics.goals.createGoal, {
      siteId: site.siteId,
      name: "Saw x",
      match: { path: "/x" },
    });
    await site.t.finishAllScheduledFunctions(vi.runAllTimers);
    vi.setSystemTime(NOW);
    const body = await scannedBreakdown(site, [{ dimension: "goal", op: "is", value: goalId }]);
    expect(body).toMatchObject({ complete: true, scannedEvents: 4 });
    expect(body.rows.map((r) => [r.key, r.visitors]).sort()).toEqual([
      ["DE", 1],
      ["FR", 1],
    ]);
  });

  test("400 with a clear message for every bad filters parameter", async () => {
    const { t, siteId, readKey } = await setup();
    const base = { site: siteId, from: NOW - DAY, to: NOW };
    const country = { dimension: "country", op: "is", value: "DE" };
    const cases: [string, Record<string, string | number>, string][] = [
      ["overview", { ...base, filters: "country=DE" }, "filters must be a JSON array"],
      ["overview", { ...base, filters: filtersParam(country) }, "filters must be a JSON array"],
      [
        "overview",
        { ...base, filters: filtersParam([{ ...country, dimension: "total" }]) },
        "dimension one of",
      ],
      ["overview", { ...base, filters: filtersParam([{ ...country, op: "=" }]) }, "op is"],
      [
        "overview",
        { ...base, filters: filtersParam([{ ...country, extra: 1 }]) },
        "filters must be a JSON array",
      ],
      [
        "timeseries",
        { ...base, filters: filtersParam(Array.from({ length: 11 }, () => country)) },
        "at most 10",
      ],
      [
        "breakdown",
        { ...base, dimension: "page", filters: filtersParam([{ ...country, value: "" }]) },
        "A filter's value has 1 to 300 characters",
      ],
      ["overview", { ...base, filters: "x".repeat(4_097) }, "filters is over 4096 characters"],
      [
        "breakdown",
        {
          ...{ site: siteId, from: NOW - 200 * DAY, to: NOW, dimension: "page" },
          filters: filtersParam([{ ...country, op: "isNot" }]),
        },
        "These filters need a scan of the raw events",
      ],
      [
        "goals",
        { ...base, filters: filtersParam([country]) },
        "goals takes no filters (only overview, timeseries, breakdown do)",
      ],
      [
        "propertyBreakdown",
        { ...base, event: "signup", property: "plan", filters: filtersParam([country]) },
        "propertyBreakdown takes no filters",
      ],
      ["realtime", { site: siteId, filters: filtersParam([country]) }, "realtime takes no filters"],
      [
        "overview",
        { ...base, filters: filtersParam([{ dimension: "goal", op: "contains", value: "x" }]) },
        "A goal filter has no `contains`",
      ],
      [
        "breakdown",
        {
          ...{ ...base, dimension: "page" },
          filters: filtersParam([{ dimension: "goal", op: "is", value: "signup" }]),
        },
        "Unknown goal",
      ],
    ];
    for (const [report, params, message] of cases) {
      const response = await get(t, `/api/v1/${report}?${query(params)}`, readKey);
      const body = (await response.json()) as { error?: { code: string; message: string } };
      expect(response.status, `${report} ${JSON.stringify(params.filters)}`).toBe(400);
      expect(body.error?.code).toBe("invalid_parameter");
      expect(body.error?.message).toContain(message);
    }
  });
});
