// The engine's fast path against stock convex-test, in a process of its own
// with dev/registerHooks.mjs loaded, as `npm run demo` runs (dev/fastPath.test.ts
// starts it; vitest itself loads convex-test without those hooks). The same
// random sequences of transactions (dev/engineDifferential.testlib.ts) run on
// a stock instance and on one with the indexed store and syscalls crossing as
// values, with convex's base64 replaced in both (dev/nativeBase64.test.ts
// compares that one with convex's on its own). Prints one JSON line; exits 1
// with the counterexample when any result differs.
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { runSequence, sequences } from "./engineDifferential.testlib.js";

const realNow = Date.now.bind(Date);
let frozen: number | null = null;
Date.now = () => frozen ?? realNow();
const freeze = (at: number) => void (frozen = at);

const RUNS = Number(process.env.FAST_PATH_RUNS ?? 200);
let directCalls = 0;
let indexedQueries = 0;
let transactions = 0;
try {
  await fc.assert(
    fc.asyncProperty(sequences, async (txs) => {
      const stock = await runSequence("stock", txs, freeze);
      const fast = await runSequence("fast", txs, freeze);
      if (!isDeepStrictEqual(fast.results, stock.results))
        throw new Error("results differ from stock convex-test's");
      if (!isDeepStrictEqual(fast.stored, stock.stored))
        throw new Error("stored documents differ from stock convex-test's");
      directCalls += fast.direct!.calls;
      indexedQueries += fast.stats!.indexedQueries;
      transactions += txs.length;
    }),
    { numRuns: RUNS, seed: 20261202 },
  );
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
console.log(JSON.stringify({ sequences: RUNS, transactions, directCalls, indexedQueries }));
