// Rollup rows: the cardinality and byte cap, and paging. Additions, unions, key cutting and
// zero rows are in rowsMerge.test.ts.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { OTHER_KEY } from "../shared.js";
import {
  COUNTERS,
  DENSE_ROW_BYTES,
  capRows,
  emptyRow,
  paginateRows,
  rowBytes,
  type Row,
} from "./rows.js";
import { arbRow, canonicalRow, canonicalSketch, row, visitors } from "./rows.testlib.js";
import {
  EMPTY_SKETCH,
  estimate,
  hashVisitor,
  mergeSketches,
  sketchOf,
  type Sketch,
} from "./sketch.js";

const unionOf = (rows: Row[]) =>
  rows.reduce<Sketch>((s, r) => mergeSketches(s, r.visitors), EMPTY_SKETCH);
const totals = (rows: Row[]) =>
  Object.fromEntries(COUNTERS.map((c) => [c, rows.reduce((s, r) => s + r[c], 0)]));

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
    // Order is kept (canonical pages are in rank order).
    expect(pages.flat().map(canonicalRow)).toEqual(rows.map(canonicalRow));
    for (const [i, page] of pages.entries()) {
      expect(page.length).toBeGreaterThan(0);
      const bytes = page.reduce((s, r) => s + rowBytes(r), 0);
      if (page.length > 1) expect(bytes).toBeLessThanOrEqual(maxBytes);
      // Greedy: a page is closed only when the next row would not fit.
      const next = pages[i + 1]?.[0];
      if (next) expect(bytes + rowBytes(next)).toBeGreaterThan(maxBytes);
    }
  }

  test("keeps every row once, in order, and never exceeds the byte budget per page, unless one row alone is larger", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(arbBigRow, { selector: (r) => r.key, maxLength: 30 }),
        fc.integer({ min: 100, max: 60_000 }),
        (rows, maxBytes) => {
          checkPages(rows, maxBytes, paginateRows(rows, maxBytes, rowBytes));
        },
      ),
      { numRuns: 50 },
    );
  });

  test("pages are cut by bytes alone: with a budget for everything, any number of rows is one page", () => {
    const rows = Array.from({ length: 5_000 }, (_, i) =>
      row(`/p${String(i).padStart(5, "0")}`, { pageviews: 1 }),
    );
    const pages = paginateRows(rows, Number.MAX_SAFE_INTEGER, rowBytes);
    expect(pages.map((p) => p.length)).toEqual([5_000]);
    checkPages(rows, Number.MAX_SAFE_INTEGER, pages);
    // A budget of exactly two rows' bytes puts two rows on each page.
    const few = rows.slice(0, 5);
    expect(paginateRows(few, 2 * rowBytes(few[0]!), rowBytes).map((p) => p.length)).toEqual([
      2, 2, 1,
    ]);
  });

  test("a row larger than the budget gets a page of its own", () => {
    const big = row("/big", { visitors: visitors(...Array.from({ length: 5000 }, (_, i) => i)) });
    const rows = [row("/a"), big, row("/z")];
    const pages = paginateRows(rows, 1_000, rowBytes);
    expect(pages.map((p) => p.map((r) => r.key))).toEqual([["/a"], ["/big"], ["/z"]]);
    expect(rowBytes(big)).toBeGreaterThan(1_000);
  });

  test("no rows make no pages", () => {
    expect(paginateRows([], 1_000, rowBytes)).toEqual([]);
  });
});
