// The engine's fast path against stock convex-test, in a process of its own
// with dev/registerHooks.mjs loaded, as `npm run demo` runs (dev/fastPath.test.ts
// starts it; vitest itself loads convex-test without those hooks):
// - the value path's copies of random values (with undefined, Maps, dates,
//   out-of-range bigints, odd field names and special numbers among them) are
//   what convexToJson, JSON text and jsonToConvex make of them, key order
//   included, or fail with the same error; patches and replacements too, read
//   field by field as convex-test reads them;
// - the same random sequences of transactions (dev/engineDifferential.testlib.ts)
//   run on a stock instance and on one with the indexed store and syscalls
//   crossing as values, with convex's base64 replaced in both
//   (dev/nativeBase64.test.ts compares that one with convex's on its own).
// Prints one JSON line; exits 1 with the counterexample when anything differs.
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { convexToJson, jsonToConvex, type JSONValue, type Value } from "convex/values";
import { runSequence, sequences } from "./engineDifferential.testlib.js";

/** The value path's helpers, which dev/fastPathHooks.mjs adds to convex's value.js. */
type ValuePath = {
  __valueForSyscall(value: unknown): unknown;
  __patchForSyscall(value: unknown): unknown;
  __replacementForSyscall(value: unknown): unknown;
  patchValueToJson(value: unknown): JSONValue;
};
const valuePath = (await import(
  new URL("../node_modules/convex/dist/esm/values/value.js", import.meta.url).href
)) as ValuePath;
if (typeof valuePath.__valueForSyscall !== "function")
  throw new Error("convex's value.js is not patched: dev/registerHooks.mjs is not loaded");

/** A value written out with its types and key order, for comparing two of them exactly. */
function describe(v: unknown): string {
  if (v === undefined) return "undefined";
  if (v === null || typeof v === "boolean" || typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : `${v}`;
  if (typeof v === "bigint") return `${v}n`;
  if (v instanceof ArrayBuffer) return `bytes(${Buffer.from(v).toString("hex")})`;
  if (Array.isArray(v)) return `[${v.map(describe).join(",")}]`;
  const proto = Object.getPrototypeOf(v) === Object.prototype ? "" : "(other prototype)";
  const fields = Object.keys(v as object).map(
    (k) => `${JSON.stringify(k)}:${describe((v as Record<string, unknown>)[k])}`,
  );
  return `{${fields.join(",")}}${proto}`;
}
const outcome = (make: () => unknown): string => {
  try {
    return describe(make());
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
};
/** What the text path gives: the JSON, through JSON text. */
const text = (json: JSONValue): JSONValue => JSON.parse(JSON.stringify(json)) as JSONValue;
/** A patch or replacement as convex-test reads it: `_id` and `_creationTime` as given, each field through evaluateValue. */
function fieldsAsRead(given: unknown): string {
  if (typeof given !== "object" || given === null) return `not an object: ${describe(given)}`;
  const object = given as Record<string, unknown>;
  const fields = Object.entries(object).map(([k, f]) =>
    typeof f === "object" && f !== null && "$undefined" in f
      ? [k, undefined]
      : [k, jsonToConvex(f as JSONValue)],
  );
  return `${String(object._id)}|${String(object._creationTime)}|${describe(Object.fromEntries(fields))}`;
}

const fieldName = fc.oneof(
  fc.constantFrom(
    "a",
    "b",
    "_id",
    "_creationTime",
    "z",
    "0",
    "10",
    "$x",
    "",
    "a\u0000",
    "é",
    "x".repeat(70),
    "x".repeat(1100),
  ),
  fc.string({ maxLength: 3 }),
);
const leaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
  fc.string({ unit: "binary", maxLength: 6 }),
  fc.uint8Array({ maxLength: 8 }).map((bytes) => bytes.slice().buffer),
  fc.constant(undefined),
  fc.constantFrom(new Map(), new Set(), new Date(0)),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    leaf,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fieldName, tie("value"), { maxKeys: 4 }),
  ),
}));

const realNow = Date.now.bind(Date);
let frozen: number | null = null;
Date.now = () => frozen ?? realNow();
const freeze = (at: number) => void (frozen = at);

const RUNS = Number(process.env.FAST_PATH_RUNS ?? 200);
let directCalls = 0;
let indexedQueries = 0;
let transactions = 0;
try {
  fc.assert(
    fc.property(value, (x) => {
      const stock = outcome(() => jsonToConvex(text(convexToJson(x as Value))));
      const copied = outcome(() => jsonToConvex(valuePath.__valueForSyscall(x) as JSONValue));
      if (copied !== stock) throw new Error(`value: ${copied} instead of ${stock}`);
      const patch = outcome(() => fieldsAsRead(text(valuePath.patchValueToJson(x))));
      const patched = outcome(() => fieldsAsRead(valuePath.__patchForSyscall(x)));
      if (patched !== patch) throw new Error(`patch: ${patched} instead of ${patch}`);
      const replacement = outcome(() => fieldsAsRead(text(convexToJson(x as Value))));
      const replaced = outcome(() => fieldsAsRead(valuePath.__replacementForSyscall(x)));
      if (replaced !== replacement)
        throw new Error(`replacement: ${replaced} instead of ${replacement}`);
    }),
    { numRuns: 20_000, seed: 20261202 },
  );
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
