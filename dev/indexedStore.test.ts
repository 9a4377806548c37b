// The indexed store (dev/indexedStore.ts) against stock convex-test: the same
// random sequences of transactions (dev/engineDifferential.testlib.ts) run on
// two instances, one stock and one with the store installed, and every result
// must be identical: documents returned and their order, page cursors, errors,
// each transaction's metrics (documents and bytes read and written, index
// ranges), schema errors, and the committed documents in their stored order.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { compareValues, type Value } from "convex/values";
import { runSequence, sequences } from "./engineDifferential.testlib.js";
import { compareKey, setIndexChunkLength } from "./indexedStore.js";

const freeze = (at: number) => void vi.setSystemTime(at);

describe("the indexed store", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    // Chunks of 2 entries, so that the sequences split and empty the index's chunks all the time.
    setIndexChunkLength(2);
  });
  afterEach(() => {
    vi.useRealTimers();
    setIndexChunkLength(512);
  });

  test("gives the same results, page cursors, errors, transaction metrics and stored documents as stock convex-test on random transaction sequences", async () => {
    let indexedQueries = 0;
    let transactions = 0;
    await fc.assert(
      fc.asyncProperty(sequences, async (txs) => {
        const stock = await runSequence("stock", txs, freeze);
        const indexed = await runSequence("indexed", txs, freeze);
        expect(indexed.results).toEqual(stock.results);
        expect(indexed.stored).toEqual(stock.stored);
        indexedQueries += indexed.stats!.indexedQueries;
        transactions += txs.length;
      }),
      { numRuns: 200, seed: 20261202 },
    );
    console.log(
      `indexed store vs stock: 200 sequences, ${transactions} transactions, ${indexedQueries} index ranges answered from sorted indexes, all identical`,
    );
    // The comparison is only worth something if the store answered most ranges itself.
    expect(indexedQueries).toBeGreaterThan(1_000);
  });

  test("orders index keys as compareValues does: strings of any UTF-16 code units, numbers with zeros and NaN, and mixed types", () => {
    const key: fc.Arbitrary<Value | undefined> = fc.oneof(
      fc.string({ unit: "binary", maxLength: 6 }),
      fc.string({
        unit: fc.constantFrom("a", "b", "\uD83D", "\uDE00", "\uE000", "\uFFFF", "é"),
        maxLength: 4,
      }),
      fc.double(),
      fc.constantFrom<Value | undefined>(0, -0, Number.NaN, 1n, true, null, undefined),
    );
    fc.assert(
      fc.property(key, key, (a, b) => {
        expect(Math.sign(compareKey(a, b))).toBe(Math.sign(compareValues(a, b)));
      }),
      { numRuns: 20_000, seed: 20261202 },
    );
  });
});
