// Rollup rows: plain additions and set unions, key cutting, and zero rows. The cardinality
// and byte cap, and paging, are in rowsCapAndPaging.test.ts.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { DIMENSIONS, type Dimension } from "../shared.js";
import {
  COUNTERS,
  DimensionRows,
  MAX_KEY_LENGTH,
  RowMap,
  emptyRow,
  isZero,
  mergeRow,
  rollupKey,
  type DeltaRow,
  type Row,
} from "./rows.js";
import { arbRow, canonicalRow, row, visitors } from "./rows.testlib.js";
import { estimate } from "./sketch.js";

describe("mergeRow", () => {
  test("adds every counter, keeps the first row's key and unions the visitors", () => {
    const a = row("/a", {
      events: 3,
      pageviews: 2,
      entries: 1,
      bounces: 1,
      durationMs: 500,
      visitors: visitors("v1", "v2"),
    });
    const b = row("/b", {
      events: 4,
      pageviews: 1,
      entries: -1,
      bounces: -1,
      durationMs: 250,
      visitors: visitors("v2", "v3"),
    });
    const merged = mergeRow(a, b);
    expect({ ...merged, visitors: estimate(merged.visitors) }).toEqual({
      key: "/a",
      events: 7,
      pageviews: 3,
      entries: 0,
      bounces: 0,
      durationMs: 750,
      visitors: 3,
    });
    // Neither argument changes.
    expect(a.events).toBe(3);
    expect(estimate(a.visitors)).toBe(2);
    expect(estimate(b.visitors)).toBe(2);
  });

  test("is commutative and associative on counters and visitors, with the empty row as identity", () => {
    fc.assert(
      fc.property(
        arbRow(fc.constant("k")),
        arbRow(fc.constant("k")),
        arbRow(fc.constant("k")),
        (a, b, c) => {
          expect(canonicalRow(mergeRow(a, b))).toEqual(canonicalRow(mergeRow(b, a)));
          expect(canonicalRow(mergeRow(mergeRow(a, b), c))).toEqual(
            canonicalRow(mergeRow(a, mergeRow(b, c))),
          );
          expect(canonicalRow(mergeRow(a, emptyRow("k")))).toEqual(canonicalRow(a));
        },
      ),
    );
  });
});

describe("RowMap and DimensionRows", () => {
  test("a RowMap merges rows of the same key and answers an empty row for an unknown key", () => {
    const map = new RowMap();
    const first = row("/a", { pageviews: 1, visitors: visitors("v1") });
    map.addAll([
      first,
      row("/b", { pageviews: 5 }),
      row("/a", { pageviews: 2, visitors: visitors("v2") }),
    ]);
    expect(map.values().map((r) => [r.key, r.pageviews, estimate(r.visitors)])).toEqual([
      ["/a", 3, 2],
      ["/b", 5, 0],
    ]);
    expect(map.get("/missing")).toEqual(emptyRow("/missing"));
    // The row handed in is not aliased: merging more into the map leaves it alone.
    expect(first.pageviews).toBe(1);
  });

  test("DimensionRows sums every (dimension, key) exactly as a brute-force oracle, in any order, and drops rows that cancel out", () => {
    const arbDelta = fc
      .tuple(
        fc.constantFrom<Dimension>("total", "page", "referrer", "exitPage"),
        arbRow(fc.constantFrom("a", "b", "c", "d")),
      )
      .map(([dimension, r]): DeltaRow => ({ dimension, ...r }));
    fc.assert(
      fc.property(
        fc.array(arbDelta, { maxLength: 40 }),
        fc.infiniteStream(fc.nat()),
        (deltas, rand) => {
          const oracle = new Map<
            string,
            { counters: Record<string, number>; visitors: Set<number> }
          >();
          for (const d of deltas) {
            const id = `${d.dimension}|${d.key}`;
            const o = oracle.get(id) ?? {
              counters: Object.fromEntries(COUNTERS.map((c) => [c, 0])),
              visitors: new Set<number>(),
            };
            for (const c of COUNTERS) o.counters[c]! += d[c];
            if ("sparse" in d.visitors) for (const h of d.visitors.sparse) o.visitors.add(h);
            oracle.set(id, o);
          }
          const expected = [...oracle]
            .filter(([, o]) => o.visitors.size > 0 || COUNTERS.some((c) => o.counters[c] !== 0))
            .map(([id, o]) => ({
              id,
              ...o.counters,
              visitors: [...o.visitors].sort((x, y) => x - y),
            }))
            .sort((x, y) => (x.id < y.id ? -1 : 1));

          const shuffled = deltas
            .map((d) => [rand.next().value, d] as const)
            .sort((x, y) => x[0] - y[0])
            .map(([, d]) => d);
          for (const order of [deltas, shuffled]) {
            const rows = new DimensionRows();
            rows.addDeltaRows(order);
            const got = rows
              .toDeltaRows()
              .map(({ dimension, key, visitors: v, ...counters }) => ({
                id: `${dimension}|${key}`,
                ...counters,
                visitors: "sparse" in v ? v.sparse : [],
              }))
              .sort((x, y) => (x.id < y.id ? -1 : 1));
            expect(got).toEqual(expected);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  test("addDeltaRows with a dimension keeps only that dimension's rows", () => {
    const rows = new DimensionRows();
    rows.addDeltaRows(
      [
        { dimension: "page", ...row("/a", { pageviews: 1 }) },
        { dimension: "referrer", ...row("x.com", { entries: 1 }) },
        { dimension: "page", ...row("/a", { pageviews: 2 }) },
      ],
      "page",
    );
    expect(rows.toDeltaRows().map((r) => [r.dimension, r.key, r.pageviews])).toEqual([
      ["page", "/a", 3],
    ]);
    expect([...rows.byDimension.keys()]).toEqual(["page"]);
  });

  test("every dimension can hold rows", () => {
    const rows = new DimensionRows();
    for (const d of DIMENSIONS) rows.add(d, row("k", { events: 1 }));
    expect(rows.toDeltaRows()).toHaveLength(DIMENSIONS.length);
  });
});

describe("rollupKey", () => {
  const table: [string, string, string][] = [
    ["a short key", "/pricing", "/pricing"],
    ["a key of exactly MAX_KEY_LENGTH", "a".repeat(300), "a".repeat(300)],
    ["a key one unit too long", "a".repeat(301), "a".repeat(300)],
    ["a key whose cut would split a surrogate pair", "a".repeat(299) + "😀" + "b", "a".repeat(299)],
    [
      "a key with a surrogate pair just inside the cut",
      "a".repeat(298) + "😀" + "b",
      "a".repeat(298) + "😀",
    ],
  ];
  test.each(table)("%s is cut to the right prefix", (_label, key, expected) => {
    expect(MAX_KEY_LENGTH).toBe(300);
    expect(rollupKey(key)).toBe(expected);
  });

  test("is a prefix of at most MAX_KEY_LENGTH units that never ends in half a surrogate pair, and cutting twice changes nothing", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom("a", "é", "😀", "\u4e2d"), maxLength: 400 }),
        (key) => {
          const cut = rollupKey(key);
          expect(key.startsWith(cut)).toBe(true);
          expect(cut.length).toBe(key.length <= 300 ? key.length : cut.length);
          expect(cut.length).toBeLessThanOrEqual(300);
          if (key.length > 300) expect(cut.length).toBeGreaterThanOrEqual(299);
          expect(cut).toBe(Array.from(cut).join(""));
          expect(/[\ud800-\udbff]$/.test(cut)).toBe(false);
          expect(rollupKey(cut)).toBe(cut);
        },
      ),
    );
  });
});

describe("isZero", () => {
  const table: [string, boolean, Row][] = [
    ["an empty row", true, emptyRow("k")],
    [
      "a row whose counters cancelled out",
      true,
      mergeRow(
        row("k", { entries: 1, bounces: 1, durationMs: 30 }),
        row("k", { entries: -1, bounces: -1, durationMs: -30 }),
      ),
    ],
    ["a row with one event", false, row("k", { events: 1 })],
    ["a row with only a negative bounce", false, row("k", { bounces: -1 })],
    ["a row with only duration", false, row("k", { durationMs: 1 })],
    ["a row with only a visitor", false, row("k", { visitors: visitors("v1") })],
    [
      "a row with a dense sketch",
      false,
      row("k", { visitors: visitors(...Array.from({ length: 3000 }, (_, i) => i)) }),
    ],
  ];
  test.each(table)("%s is zero: %s", (_label, expected, r) => {
    expect(isZero(r)).toBe(expected);
  });
});
