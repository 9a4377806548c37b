// Fixtures shared by rowsMerge.test.ts (additions, unions, key cutting, zero rows) and
// rowsCapAndPaging.test.ts (the cardinality and byte cap, and paging): one way to build
// rows and visitor sets, and one set of row generators, so both files use the same rows.
import fc from "fast-check";
import { emptyRow, type Row } from "./rows.js";
import { hashVisitor, sketchOf, type Sketch } from "./sketch.js";

export const canonicalSketch = (s: Sketch) =>
  "sparse" in s ? { sparse: [...s.sparse] } : { dense: Array.from(new Uint8Array(s.dense)) };
export const canonicalRow = (r: Row) => ({ ...r, visitors: canonicalSketch(r.visitors) });
export const visitors = (...ids: (string | number)[]) =>
  sketchOf(ids.map((id) => hashVisitor(String(id))));
export const row = (key: string, counters: Partial<Row> = {}): Row => ({
  ...emptyRow(key),
  ...counters,
});

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
export const arbRow = (key: fc.Arbitrary<string>) =>
  fc.tuple(key, arbCounters, arbVisitors).map(([k, c, v]): Row => ({ key: k, ...c, visitors: v }));
