// The indexed store's SortedIndex (dev/indexedStore.ts) against a plain sorted
// array: with chunks of 2 entries, so that random inserts, deletes and
// replacements split and empty chunks all the time, its documents stay in
// index order and every index range gives exactly the documents in it.
import fc from "fast-check";
import { afterEach, expect, test } from "vitest";
import { compareValues, type Value } from "convex/values";
import { SortedIndex, setIndexChunkLength } from "./indexedStore.js";

type Doc = { _id: string; _creationTime: number; a: number; b: string; n: number };
const FIELDS = ["a", "b", "_creationTime", "_id"];
const keyOf = (d: Doc): Value[] => [d.a, d.b, d._creationTime, d._id];
const order = (x: Doc, y: Doc) => {
  const [p, q] = [keyOf(x), keyOf(y)];
  for (let i = 0; i < p.length; i++) {
    const c = compareValues(p[i]!, q[i]!);
    if (c !== 0) return c;
  }
  return 0;
};

const arbOp = fc.oneof(
  fc.record({
    kind: fc.constant("insert" as const),
    a: fc.nat(4),
    b: fc.constantFrom("", "x", "y", "é"),
  }),
  fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant("replace" as const),
    pick: fc.nat(),
    a: fc.option(fc.nat(4), { nil: undefined }),
    b: fc.option(fc.constantFrom("", "x", "y", "é"), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant("range" as const),
    a: fc.nat(4),
    lower: fc.option(fc.constantFrom("", "x", "y"), { nil: undefined }),
    upper: fc.option(fc.constantFrom("x", "y", "z"), { nil: undefined }),
  }),
);

afterEach(() => setIndexChunkLength(512));

test("a chunked index keeps index order and answers every range like a sorted array", () => {
  setIndexChunkLength(2);
  fc.assert(
    fc.property(
      fc.array(fc.record({ a: fc.nat(4), b: fc.constantFrom("x", "y") }), { maxLength: 9 }),
      fc.array(arbOp, { maxLength: 80 }),
      (initial, ops) => {
        let next = 0;
        const make = (a: number, b: string): Doc => ({
          _id: `id${next}`,
          _creationTime: next++,
          a,
          b,
          n: 0,
        });
        let model: Doc[] = initial.map(({ a, b }) => make(a, b));
        const index = new SortedIndex(FIELDS, model as never);
        for (const op of ops) {
          if (op.kind === "insert") {
            const doc = make(op.a, op.b);
            model.push(doc);
            index.insert(doc as never);
          } else if (op.kind === "remove" && model.length > 0) {
            const doc = model[op.pick % model.length]!;
            model = model.filter((d) => d !== doc);
            index.remove(doc as never);
          } else if (op.kind === "replace" && model.length > 0) {
            const old = model[op.pick % model.length]!;
            const now = { ...old, a: op.a ?? old.a, b: op.b ?? old.b, n: old.n + 1 };
            model = model.map((d) => (d === old ? now : d));
            index.replace(old as never, now as never);
          } else if (op.kind === "range") {
            const range = [
              { type: "Eq" as const, fieldPath: "a", value: op.a },
              ...(op.lower !== undefined
                ? [{ type: "Gte" as const, fieldPath: "b", value: op.lower }]
                : []),
              ...(op.upper !== undefined
                ? [{ type: "Lt" as const, fieldPath: "b", value: op.upper }]
                : []),
            ];
            const expected = [...model]
              .sort(order)
              .filter(
                (d) =>
                  d.a === op.a &&
                  (op.lower === undefined || compareValues(d.b, op.lower) >= 0) &&
                  (op.upper === undefined || compareValues(d.b, op.upper) < 0),
              );
            expect(index.slice(range)!.docs).toEqual(expected);
          }
          expect(index.docs()).toEqual([...model].sort(order));
        }
      },
    ),
    { numRuns: 300 },
  );
});
