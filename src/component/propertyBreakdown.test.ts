// The `prop` dimension's cap (rows.ts capPropRows) and getPropertyBreakdown end to
// end: one event's many values (a tracker's outbound-link URLs) cannot crowd
// another event's properties out of a bucket; what is folded is folded into its
// own (event, property)'s "(other)", and nothing is lost. The oracle property in
// oracle.test.ts checks property breakdowns (and their comparisons) exactly.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import { OTHER_KEY, parsePropKey, propKey } from "../shared.js";
import { COUNTERS, capPropRows, compareRows, type Row } from "./rows.js";
import { arbRow, canonicalSketch } from "./rows.testlib.js";
import { EMPTY_SKETCH, estimate, mergeSketches, type Sketch } from "./sketch.js";
import { compactAll, initConvexTest, runWorkers } from "./test.setup.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { HOUR } from "./time.js";

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const GROUPS = ["signup|plan|", "outbound|url|", "download|file|", "pageview|author|"];
const groupOf = (key: string) => GROUPS.find((g) => key.startsWith(g)) ?? key;
const unionOf = (rows: Row[]) =>
  canonicalSketch(rows.reduce<Sketch>((s, r) => mergeSketches(s, r.visitors), EMPTY_SKETCH));
const sums = (rows: Row[]) =>
  Object.fromEntries(COUNTERS.map((c) => [c, rows.reduce((s, r) => s + r[c], 0)]));

describe("capPropRows", () => {
  const arbPropRows = fc.uniqueArray(
    arbRow(
      fc
        .tuple(fc.constantFrom(...GROUPS), fc.string({ maxLength: 3 }))
        .map(([group, value]) => group + value),
    ),
    { selector: (r) => r.key, maxLength: 60 },
  );

  test("keeps the top d values of every (event, property), the same d for all that fold, and folds the rest into that group's (other), losing nothing", () => {
    fc.assert(
      fc.property(arbPropRows, fc.integer({ min: 10, max: 40 }), (rows, cap) => {
        const out = capPropRows(rows, cap, estimate);
        if (rows.length <= cap) {
          expect(out).toEqual(rows);
          return;
        }
        expect(out.length).toBeLessThanOrEqual(cap);
        // Nothing lost, per group: counters add up and the visitor union is the same.
        for (const group of GROUPS) {
          const before = rows.filter((r) => groupOf(r.key) === group);
          const after = out.filter((r) => groupOf(r.key) === group);
          expect(sums(after), group).toEqual(sums(before));
          expect(unionOf(after), group).toEqual(unionOf(before));
        }
        // Each group keeps a prefix of its own ranking, min(its size, d) long, for one d.
        const kept = new Map<string, number>();
        for (const group of GROUPS) {
          const own = rows.filter((r) => groupOf(r.key) === group && r.key !== group + OTHER_KEY);
          const ranked = own
            .map((r) => ({ ...r, visitorCount: estimate(r.visitors) }))
            .sort(compareRows)
            .map((r) => r.key);
          const keys = out.filter((r) => groupOf(r.key) === group && r.key !== group + OTHER_KEY);
          expect(keys.map((r) => r.key).sort(), group).toEqual(ranked.slice(0, keys.length).sort());
          if (keys.length < own.length) kept.set(group, keys.length);
        }
        const depths = new Set(kept.values());
        expect(depths.size, "every group that folds keeps the same number").toBeLessThanOrEqual(1);
        const [d = Infinity] = depths;
        for (const group of GROUPS) {
          const size = rows.filter((r) => groupOf(r.key) === group).length;
          if (!kept.has(group)) expect(size, `${group} kept whole`).toBeLessThanOrEqual(d + 1);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("500 outbound-link URLs leave every value of signup's plan in place, where one shared cap would fold them", () => {
    const value = (i: number) => `https://example.org/${String(i).padStart(3, "0")}`;
    const rows: Row[] = [
      ...Array.from({ length: 500 }, (_, i) => ({
        ...arbRowOf(propKey("Outbound Link: Click", "url", value(i)), 5 + (i % 7)),
      })),
      arbRowOf(propKey("signup", "plan", "free"), 2),
      arbRowOf(propKey("signup", "plan", "pro"), 1),
    ];
    const out = capPropRows(rows, 100, estimate);
    expect(out.length).toBe(100);
    expect(out.filter((r) => r.key.startsWith("signup|plan|")).map((r) => r.key)).toEqual([
      "signup|plan|free",
      "signup|plan|pro",
    ]);
    const other = out.find((r) => r.key === "Outbound Link: Click|url|(other)")!;
    expect(other.events).toBe(sums(rows.slice(0, 500)).events - sums(out.slice(0, 97)).events);
  });
});

function arbRowOf(key: string, events: number): Row {
  return {
    key,
    events,
    pageviews: 0,
    entries: 0,
    bounces: 0,
    durationMs: 0,
    visitors: EMPTY_SKETCH,
  };
}

describe("getPropertyBreakdown", () => {
  test("after compaction with the smallest cap, signup's plans are exact while 40 outbound URLs fold into their own (other)", async () => {
    const start = Date.parse("2026-03-10T10:00:00Z");
    vi.setSystemTime(start + 30 * 60_000);
    const t = initConvexTest();
    const { siteId, writeKey: _ } = await t.mutation(api.sites.createSite, {
      slug: "props",
      name: "Props",
      settings: { cardinalityCap: 10 },
    });
    const events = [
      ...Array.from({ length: 40 }, (_, i) => ({
        id: `o${i}`,
        type: "track" as const,
        name: "Outbound Link: Click",
        occurredAt: start + i * 1000,
        url: "https://ex.com/",
        props: { url: `https://other.example/${i}` },
        visitorId: `v${i}`,
      })),
      ...["free", "free", "pro"].map((plan, i) => ({
        id: `s${i}`,
        type: "track" as const,
        name: "signup",
        occurredAt: start + 50_000 + i * 1000,
        url: "https://ex.com/",
        props: { plan },
        visitorId: `v${i}`,
      })),
    ];
    await t.mutation(api.ingest.ingestBatch, { siteId, batchId: "a", events: events.slice(0, 30) });
    await t.mutation(api.ingest.ingestBatch, { siteId, batchId: "b", events: events.slice(30) });
    await runWorkers(t);
    vi.setSystemTime(start + 3 * HOUR);
    await compactAll(t);
    const range = { siteId, from: start - HOUR, to: start + 2 * HOUR };
    expect(
      await t.query(api.reports.getPropertyBreakdown, {
        ...range,
        event: "signup",
        property: "plan",
      }),
    ).toEqual({
      rows: [
        { key: "free", visitors: 2, pageviews: 0, events: 2, entries: 0, bounceRate: null },
        { key: "pro", visitors: 1, pageviews: 0, events: 1, entries: 0, bounceRate: null },
      ],
    });
    const urls = await t.query(api.reports.getPropertyBreakdown, {
      ...range,
      event: "Outbound Link: Click",
      property: "url",
      limit: 100,
    });
    // The cap of 10 rows leaves outbound.url 7 rows (its values and its "(other)"), signup.plan its 2.
    expect(urls.rows.length).toBeLessThan(10);
    expect(urls.rows[0]).toMatchObject({ key: OTHER_KEY });
    expect(urls.rows.reduce((n, r) => n + r.events, 0)).toBe(40);
    expect(urls.rows.reduce((n, r) => n + r.visitors, 0)).toBe(40);
  });

  test("a property sent as $plan is reported as $plan, not under its stored field name", async () => {
    const start = Date.parse("2026-03-10T10:00:00Z");
    vi.setSystemTime(start + 30 * 60_000);
    const t = initConvexTest();
    const { siteId } = await t.mutation(api.sites.createSite, { slug: "dollar", name: "Dollar" });
    const events = ["pro", "pro", "free"].map((plan, i) => ({
      id: `d${i}`,
      type: "track" as const,
      name: "signup",
      occurredAt: start + i * 1000,
      url: "https://ex.com/",
      // What "$plan" is stored as (Convex arguments cannot carry a "$" field name), and a literal "p:x".
      props: { "p:%24plan": plan, "p:x": "y" },
      visitorId: `v${i}`,
    }));
    await t.mutation(api.ingest.ingestBatch, { siteId, batchId: "d", events });
    await runWorkers(t);
    const range = { siteId, from: start - HOUR, to: start + HOUR };
    const report = (property: string) =>
      t.query(api.reports.getPropertyBreakdown, { ...range, event: "signup", property });
    expect((await report("$plan")).rows.map((r) => [r.key, r.events])).toEqual([
      ["pro", 2],
      ["free", 1],
    ]);
    expect((await report("p:x")).rows.map((r) => [r.key, r.events])).toEqual([["y", 3]]);
  });

  test('event and property names holding "|" or "\\" keep their values apart: "a|b" with property "c" is not "a" with property "b|c"', async () => {
    const start = Date.parse("2026-03-10T10:00:00Z");
    vi.setSystemTime(start + 30 * 60_000);
    const t = initConvexTest();
    const { siteId } = await t.mutation(api.sites.createSite, { slug: "bars", name: "Bars" });
    const sent = [
      { name: "a|b", props: { c: "x" } },
      { name: "a", props: { "b|c": "y" } },
      { name: "a\\", props: { "|c": "z" } },
      { name: "a", props: { "b\\|c": "w|v" } },
    ];
    const events = sent.map(({ name, props }, i) => ({
      id: `b${i}`,
      type: "track" as const,
      name,
      occurredAt: start + i * 1000,
      url: "https://ex.com/",
      props,
      visitorId: `v${i}`,
    }));
    await t.mutation(api.ingest.ingestBatch, { siteId, batchId: "b", events });
    await runWorkers(t);
    await compactAll(t);
    const range = { siteId, from: start - HOUR, to: start + HOUR };
    for (const { name, props } of sent) {
      const [[property, value]] = Object.entries(props) as [[string, string]];
      const report = await t.query(api.reports.getPropertyBreakdown, {
        ...range,
        event: name,
        property,
      });
      expect(
        report.rows.map((r) => [r.key, r.events]),
        `${name} / ${property}`,
      ).toEqual([[value, 1]]);
    }
    // The prop breakdown's keys are distinct and read back as sent.
    const keys = (
      await t.query(api.reports.getBreakdown, { ...range, dimension: "prop", limit: 100 })
    ).rows.map((r) => parsePropKey(r.key));
    expect(keys).toHaveLength(sent.length);
    for (const { name, props } of sent) {
      const [[property, value]] = Object.entries(props) as [[string, string]];
      expect(keys).toContainEqual({ event: name, property, value });
    }
  });

  test("parsePropKey inverts propKey for any names and values", () => {
    const part = fc.string({ unit: fc.constantFrom("a", "|", "\\", "b", "(", ")") });
    fc.assert(
      fc.property(part, part, part, (event, property, value) => {
        expect(parsePropKey(propKey(event, property, value))).toEqual({ event, property, value });
      }),
    );
    expect(parsePropKey(OTHER_KEY)).toBeNull();
  });
});
