// Rollup rows: plain additions and set unions, key cutting, the cardinality and byte cap, and paging.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { DIMENSIONS, OTHER_KEY, type Dimension } from "../shared.js";
import {
  COUNTERS,
  DENSE_ROW_BYTES,
  DimensionRows,
  MAX_KEY_LENGTH,
  RowMap,
  capRows,
  emptyRow,
  isZero,
  mergeRow,
  paginateRows,
  rollupKey,
  rowBytes,
  type DeltaRow,
  type Row,
} from "./rows.js";
import {
  EMPTY_SKETCH,
  estimate,
  hashVisitor,
  mergeSketches,
  sketchOf,
  type Sketch,
} from "./sketch.js";

const canonicalSketch = (s: Sketch) =>
  "sparse" in s ? { sparse: [...s.sparse] } : { dense: Array.from(new Uint8Array(s.dense)) };
const canonicalRow = (r: Row) => ({ ...r, visitors: canonicalSketch(r.visitors) });
const visitors = (...ids: (string | number)[]) =>
  sketchOf(ids.map((id) => hashVisitor(String(id))));
const row = (key: string, counters: Partial<Row> = {}): Row => ({ ...emptyRow(key), ...counters });
const unionOf = (rows: Row[]) =>
  rows.reduce<Sketch>((s, r) => mergeSketches(s, r.visitors), EMPTY_SKETCH);
const totals = (rows: Row[]) =>
  Object.fromEntries(COUNTERS.map((c) => [c, rows.reduce((s, r) => s + r[c], 0)]));

const arbCounters = fc.record({
  events: fc.integer({ min: -3, max: 30 }),
  pageviews: fc.integer({ min: -3, max: 30 }),
  entries: fc.integer({ min: -3, max: 30 }),
  bounces: fc.integer({ min: -3, max: 30 }),
  durationMs: fc.integer({ min: -100_000, max: 1_000_000 }),
});
const arbVisitors = fc
  .array(fc.integer({ min: 0, max: 60 }), { maxLength: 12 })
  .map((ids) => visitors(...ids));
const arbRow = (key: fc.Arbitrary<string>) =>
  fc.tuple(key, arbCounters, arbVisitors).map(([k, c, v]): Row => ({ key: k, ...c, visitors: v }));

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

describe("capRows", () => {
  /** The independent ranking: visitors, pageviews, events, entries (all descending), then key. */
  const rank = (rows: Row[]) =>
    rows
      .map((r) => ({ r, v: estimate(r.visitors) }))
      .sort(
        (x, y) =>
          y.v - x.v ||
          y.r.pageviews - x.r.pageviews ||
          y.r.events - x.r.events ||
          y.r.entries - x.r.entries ||
          (x.r.key < y.r.key ? -1 : x.r.key > y.r.key ? 1 : 0),
      )
      .map(({ r }) => r.key);

  const arbRows = fc
    .tuple(
      fc.uniqueArray(arbRow(fc.string({ maxLength: 4 })), {
        selector: (r) => r.key,
        maxLength: 40,
      }),
      fc.option(arbRow(fc.constant(OTHER_KEY)), { nil: undefined }),
    )
    .map(([rows, other]) => [
      ...rows.filter((r) => r.key !== OTHER_KEY),
      ...(other ? [other] : []),
    ]);

  /** Bytes capRows must leave for (other): its own row plus room to grow to a dense sketch. */
  const otherRoom = (rows: Row[]) =>
    rowBytes(rows.find((r) => r.key === OTHER_KEY) ?? emptyRow(OTHER_KEY)) + DENSE_ROW_BYTES;
  const bytesOf = (rows: Row[]) => rows.reduce((s, r) => s + rowBytes(r), 0);

  test("keeps the top cap - 1 keys by (visitors, pageviews, events, entries, key) and folds the rest into (other), preserving every counter's total and the visitors", () => {
    fc.assert(
      fc.property(arbRows, fc.integer({ min: 1, max: 45 }), (rows, cap) => {
        const out = capRows(rows, cap, estimate);
        expect(totals(out)).toEqual(totals(rows));
        expect(canonicalSketch(unionOf(out))).toEqual(canonicalSketch(unionOf(rows)));
        if (rows.length <= cap) {
          expect(out).toEqual(rows);
          return;
        }
        expect(out).toHaveLength(cap);
        const expectedKept = rank(rows.filter((r) => r.key !== OTHER_KEY)).slice(0, cap - 1);
        expect(out.slice(0, -1).map((r) => r.key)).toEqual(expectedKept);
        // Kept rows are unchanged; the last row is (other), the sum of everything else.
        for (const r of out.slice(0, -1))
          expect(canonicalRow(r)).toEqual(canonicalRow(rows.find((x) => x.key === r.key)!));
        const other = out[out.length - 1]!;
        expect(other.key).toBe(OTHER_KEY);
        const folded = rows.filter((r) => !expectedKept.includes(r.key));
        expect(totals([other])).toEqual(totals(folded));
        expect(canonicalSketch(other.visitors)).toEqual(canonicalSketch(unionOf(folded)));
        expect(Object.keys(other).sort()).toEqual(Object.keys(emptyRow("")).sort());
      }),
      { numRuns: 300 },
    );
  });

  test("under a byte cap, kept rows are the top of the ranking, they fit with room for (other), and the first folded row is past the key cap or did not fit", () => {
    // Budgets from "not even (other) fits" to "everything fits", scaled to the rows, so the byte cap bites in most runs.
    let bitByBytes = 0; // runs where the byte cap kept fewer rows than the key cap would have
    fc.assert(
      // Room for (other) is reserved only once capping, so mostly caps below the row count, where capping happens.
      fc.property(
        arbRows,
        fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 45 })),
        fc.oneof(fc.integer({ min: -5, max: 30 }), fc.integer({ min: -5, max: 110 })),
        (rows, cap, percent) => {
          const maxBytes = otherRoom(rows) + Math.floor((bytesOf(rows) * percent) / 100);
          const out = capRows(rows, cap, estimate, maxBytes);
          expect(totals(out)).toEqual(totals(rows));
          expect(canonicalSketch(unionOf(out))).toEqual(canonicalSketch(unionOf(rows)));
          if (rows.length <= cap && bytesOf(rows) <= maxBytes) {
            expect(out).toEqual(rows);
            return;
          }
          const other = out[out.length - 1]!;
          const kept = out.slice(0, -1);
          expect(other.key).toBe(OTHER_KEY);
          expect(kept.length).toBeLessThanOrEqual(cap - 1);
          // (A budget below that room keeps nothing.)
          if (kept.length > 0)
            expect(bytesOf(kept) + otherRoom(rows)).toBeLessThanOrEqual(maxBytes);
          for (const r of kept)
            expect(canonicalRow(r)).toEqual(canonicalRow(rows.find((x) => x.key === r.key)!));
          // Kept rows come in rank order; (other) is the sum of everything not kept.
          const ranked = rank(rows.filter((r) => r.key !== OTHER_KEY));
          const keptKeys = new Set(kept.map((r) => r.key));
          expect(kept.map((r) => r.key)).toEqual(ranked.filter((k) => keptKeys.has(k)));
          const folded = rows.filter((r) => !keptKeys.has(r.key));
          expect(totals([other])).toEqual(totals(folded));
          expect(canonicalSketch(other.visitors)).toEqual(canonicalSketch(unionOf(folded)));
          // Kept rows are a prefix of the ranking, stopped by the key cap or by the first row that did not fit.
          expect(kept.map((r) => r.key)).toEqual(ranked.slice(0, kept.length));
          const byKey = new Map(rows.map((r) => [r.key, r]));
          const firstFolded = ranked[kept.length];
          if (firstFolded !== undefined) {
            expect(
              kept.length >= cap - 1 ||
                bytesOf(kept) + otherRoom(rows) + rowBytes(byKey.get(firstFolded)!) > maxBytes,
            ).toBe(true);
          }
          if (kept.length < Math.min(cap - 1, ranked.length)) bitByBytes++;
        },
      ),
      { numRuns: 300 },
    );
    // The runs did exercise the byte cap.
    expect(bitByBytes).toBeGreaterThan(25);
  });

  test("rows that fit the budget and the cap are returned as they are; once capping, a budget with no room beyond (other) folds every row into it", () => {
    const rows = [
      row("/a", { pageviews: 3, visitors: visitors(1) }),
      row("/b", { pageviews: 1 }),
      row("/c", { pageviews: 2 }),
    ];
    expect(capRows(rows, 3, estimate, bytesOf(rows))).toEqual(rows);
    const out = capRows(rows, 2, estimate, otherRoom(rows));
    expect(out.map((r) => [r.key, r.pageviews, estimate(r.visitors)])).toEqual([[OTHER_KEY, 6, 1]]);
  });

  test("with a cap of 3, five pages keep the two most visited and fold three into (other)", () => {
    const rows = [
      row("/a", { pageviews: 10, visitors: visitors(1, 2) }),
      row("/b", { pageviews: 1, visitors: visitors(1, 2, 3) }),
      row("/c", { pageviews: 50, visitors: visitors(4) }),
      row("/d", { pageviews: 10, events: 10, visitors: visitors(5, 6) }),
      row("/e", { pageviews: 10, events: 10, visitors: visitors(7, 8) }),
    ];
    const out = capRows(rows, 3, estimate);
    // /b has 3 visitors; /d and /e tie on visitors, pageviews and events, and /d wins on key.
    expect(out.map((r) => [r.key, r.pageviews, estimate(r.visitors)])).toEqual([
      ["/b", 1, 3],
      ["/d", 10, 2],
      [OTHER_KEY, 70, 5],
    ]);
  });
});

describe("paginateRows", () => {
  const arbBigRow = fc
    .tuple(fc.string({ minLength: 1, maxLength: 300 }), fc.integer({ min: 0, max: 3000 }), fc.nat())
    .map(([key, n, seed]): Row =>
      row(key, {
        events: 1,
        visitors: sketchOf(Array.from({ length: n }, (_, i) => hashVisitor(`${seed}:${i}`))),
      }),
    );

  function checkPages(rows: Row[], maxBytes: number, pages: Row[][]) {
    expect(pages.flat().map((r) => r.key)).toEqual(
      rows.map((r) => r.key).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    expect(
      pages
        .flat()
        .map(canonicalRow)
        .sort((a, b) => (a.key < b.key ? -1 : 1)),
    ).toEqual(rows.map(canonicalRow).sort((a, b) => (a.key < b.key ? -1 : 1)));
    for (const [i, page] of pages.entries()) {
      expect(page.length).toBeGreaterThan(0);
      const bytes = page.reduce((s, r) => s + rowBytes(r), 0);
      if (page.length > 1) expect(bytes).toBeLessThanOrEqual(maxBytes);
      // Greedy: a page is closed only when the next row would not fit.
      const next = pages[i + 1]?.[0];
      if (next) expect(bytes + rowBytes(next)).toBeGreaterThan(maxBytes);
    }
  }

  test("keeps every row once and never exceeds the byte budget per page, unless one row alone is larger", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(arbBigRow, { selector: (r) => r.key, maxLength: 30 }),
        fc.integer({ min: 100, max: 60_000 }),
        (rows, maxBytes) => {
          checkPages(rows, maxBytes, paginateRows(rows, maxBytes));
        },
      ),
      { numRuns: 50 },
    );
  });

  test("pages are cut by bytes alone: with a budget for everything, any number of rows is one page", () => {
    const rows = Array.from({ length: 5_000 }, (_, i) =>
      row(`/p${String(i).padStart(5, "0")}`, { pageviews: 1 }),
    );
    const pages = paginateRows(rows, Number.MAX_SAFE_INTEGER);
    expect(pages.map((p) => p.length)).toEqual([5_000]);
    checkPages(rows, Number.MAX_SAFE_INTEGER, pages);
    // A budget of exactly two rows' bytes puts two rows on each page.
    const few = rows.slice(0, 5);
    expect(paginateRows(few, 2 * rowBytes(few[0]!)).map((p) => p.length)).toEqual([2, 2, 1]);
  });

  test("a row larger than the budget gets a page of its own", () => {
    const big = row("/big", { visitors: visitors(...Array.from({ length: 5000 }, (_, i) => i)) });
    const rows = [row("/a"), big, row("/z")];
    const pages = paginateRows(rows, 1_000);
    expect(pages.map((p) => p.map((r) => r.key))).toEqual([["/a"], ["/big"], ["/z"]]);
    expect(rowBytes(big)).toBeGreaterThan(1_000);
  });

  test("no rows make no pages", () => {
    expect(paginateRows([], 1_000)).toEqual([]);
  });
});
