// Filter routing and validation, as pure functions (filterMath.ts): which
// filters a rollup row answers exactly, and the canonical form scans are cached by.
import { describe, expect, test } from "vitest";
import type { AnalyticsEvent, Filter } from "../shared.js";
import { OTHER_KEY } from "../shared.js";
import {
  ROLLUP_FILTER_DIMENSIONS,
  canonicalFilters,
  filterRecord,
  filterSpec,
  routeFilters,
  type FilterRecord,
} from "./filterMath.js";
import {
  MAX_SCAN_BREAKDOWN_KEYS,
  MAX_SCAN_BREAKDOWN_KEY_CHARS,
  addFilterVisitors,
  encodeFilterResult,
} from "./filterReduce.js";

describe("filter routing", () => {
  test("routing: one `is` on a session dimension, entryPage, page, hostname or event reads its rollup row; the rest scan", () => {
    const is = (dimension: Filter["dimension"], value = "x"): Filter => ({
      dimension,
      op: "is",
      value,
    });
    expect(routeFilters("overview", [])).toEqual({ via: "none" });
    for (const d of ROLLUP_FILTER_DIMENSIONS)
      for (const report of ["overview", "timeseries"] as const)
        expect(routeFilters(report, [is(d)])).toEqual({ via: "rollup", dimension: d, key: "x" });
    expect(routeFilters("overview", [is("exitPage")])).toEqual({ via: "scan" });
    expect(routeFilters("breakdown", [is("country")])).toEqual({ via: "scan" });
    expect(routeFilters("overview", [{ dimension: "country", op: "isNot", value: "x" }])).toEqual({
      via: "scan",
    });
    expect(routeFilters("overview", [{ dimension: "page", op: "contains", value: "x" }])).toEqual({
      via: "scan",
    });
    expect(routeFilters("timeseries", [is("country"), is("page")])).toEqual({ via: "scan" });
    // Canonical: duplicates dropped and sorted, so equal filter sets share one scan.
    expect(canonicalFilters([is("page", "/b"), is("country", "US"), is("page", "/b")])).toEqual([
      is("country", "US"),
      is("page", "/b"),
    ]);
    expect(() =>
      canonicalFilters(Array.from({ length: 11 }, (_, i) => is("page", `/${i}`))),
    ).toThrow("At most 10 filters");
    expect(() => canonicalFilters([is("page", "")])).toThrow("1 to 300 characters");
    expect(() => canonicalFilters([is("page", "x".repeat(301))])).toThrow("1 to 300 characters");
    expect(() => canonicalFilters([is("prop" as Filter["dimension"])])).toThrow(
      "dimension is one of",
    );
  });

  test("a goal filter always scans; its spec holds the goals' definitions and its record the goals each event converts", () => {
    const goal = (op: Filter["op"], value: string): Filter => ({ dimension: "goal", op, value });
    for (const report of ["overview", "timeseries", "breakdown"] as const)
      expect(routeFilters(report, [goal("is", "g1")])).toEqual({ via: "scan" });
    expect(() => canonicalFilters([goal("contains", "g1")])).toThrow(
      "A goal filter has no `contains`",
    );
    const docs = { id: "g1", match: { path: "/docs/**" } };
    const pro = { id: "g2", match: { event: "signup", props: { plan: "pro" } } };
    const specOf = (filters: Filter[], goals = [docs, pro]) =>
      filterSpec({
        report: "overview",
        filters,
        timeZone: "UTC",
        sessionTimeoutMs: 1_800_000,
        goals,
      });
    // Without goal filters the spec (a scan's cache key) is as before: no goals in it.
    expect(specOf([{ dimension: "page", op: "is", value: "/" }], [])).not.toHaveProperty("goals");
    const spec = specOf([goal("is", "g2"), goal("isNot", "g1")]);
    expect(spec.goals).toEqual([docs, pro]);
    expect(
      JSON.stringify(specOf([goal("is", "g1")], [{ id: "g1", match: { path: "/docs" } }])),
    ).not.toBe(JSON.stringify(specOf([goal("is", "g1")], [docs])));
    expect(() => specOf([goal("is", "g3")])).toThrow("not loaded");
    const at = (e: Partial<AnalyticsEvent>): AnalyticsEvent => ({
      id: "e",
      type: "pageview",
      occurredAt: 5,
      url: "https://a.test/docs/start?x=1",
      visitorId: "v",
      ...e,
    });
    expect(filterRecord(spec, at({}))).toEqual([5, 1, ["g1"]]);
    expect(
      filterRecord(spec, at({ type: "track", name: "signup", props: { plan: "pro" } })),
    ).toEqual([5, 0, ["g2"]]);
    expect(
      filterRecord(spec, at({ type: "track", name: "signup", props: { plan: "free" } })),
    ).toEqual([5, 0, []]);
  });

  test("a scanned breakdown keeps at most 2,000 keys and 100,000 key characters, the rest under (other), so its answer fits the scan row", () => {
    const spec = filterSpec({
      report: "breakdown",
      filters: [{ dimension: "page", op: "contains", value: "/" }],
      dimension: "page",
      timeZone: "UTC",
      sessionTimeoutMs: 30 * 60_000,
    });
    const range = { from: 0, to: 1e12 };
    // One pageview per visitor, each on its own page.
    const visitors = (n: number, page: (i: number) => string) =>
      Array.from({ length: n }, (_, i): FilterRecord[] => [[1_000 + i, 1, page(i)]]);
    const short = addFilterVisitors(
      spec,
      range,
      new Map(),
      visitors(2_500, (i) => `/p${i}`),
    );
    expect(short.size).toBe(MAX_SCAN_BREAKDOWN_KEYS + 1);
    expect(short.get(OTHER_KEY)![0]).toBe(2_500 - MAX_SCAN_BREAKDOWN_KEYS);
    // Long non-ASCII keys: the character cap stops them first.
    const long = (i: number) => `/${String(i).padStart(6, "0")}${'\u00e9"'.repeat(146)}`;
    const wide = addFilterVisitors(spec, range, new Map(), visitors(2_500, long));
    expect(wide.size).toBe(Math.floor(MAX_SCAN_BREAKDOWN_KEY_CHARS / long(0).length) + 1);
    expect([...wide.values()].reduce((n, s) => n + s[0], 0)).toBe(2_500);
    expect(new TextEncoder().encode(encodeFilterResult(wide)).length).toBeLessThan(512 * 1024);
  });
});
