// Random sequences of transactions for comparing convex-test instances: the
// indexed store (dev/indexedStore.test.ts) and the engine's fast path
// (dev/fastPath.test.ts) must give what stock convex-test gives: documents
// returned and their order, page cursors, errors, each transaction's metrics
// (documents and bytes read and written, index ranges), schema errors, and the
// committed documents in their stored order.
import fc from "fast-check";
import { convexTest } from "convex-test";
import {
  defineSchema,
  defineTable,
  makeFunctionReference,
  mutationGeneric,
  type GenericDatabaseWriter,
  type GenericDataModel,
} from "convex/server";
import { v, type Value } from "convex/values";
import { useDirectSyscalls } from "./directSyscalls.js";
import { installIndexedStore, tableOfId } from "./indexedStore.js";
import { captureConvexGlobal } from "./internals.js";

const scalar = v.optional(
  v.union(v.string(), v.number(), v.int64(), v.boolean(), v.null(), v.array(v.number()), v.bytes()),
);
const schema = defineSchema({
  items: defineTable({
    a: scalar,
    b: v.optional(v.number()),
    c: v.optional(v.string()),
    n: v.optional(v.object({ x: v.optional(v.number()) })),
    r: v.optional(v.id("others")),
    z: v.optional(v.union(v.null(), v.literal(7n), v.bytes())),
  })
    .index("by_a", ["a"])
    .index("by_a_b", ["a", "b"])
    .index("by_c_b_a", ["c", "b", "a"])
    .index("by_nx", ["n.x"]),
  others: defineTable({ k: v.string(), b: v.number() }).index("by_k_b", ["k", "b"]),
});
type Table = "items" | "others";
const INDEXES: Record<Table, { name: string; fields: string[] }[]> = {
  items: [
    { name: "by_a", fields: ["a"] },
    { name: "by_a_b", fields: ["a", "b"] },
    { name: "by_c_b_a", fields: ["c", "b", "a"] },
    { name: "by_nx", fields: ["n.x"] },
    { name: "by_creation_time", fields: ["_creationTime"] },
    { name: "by_id", fields: ["_id"] },
  ],
  others: [
    { name: "by_k_b", fields: ["k", "b"] },
    { name: "by_creation_time", fields: ["_creationTime"] },
  ],
};

// Few distinct values, so keys collide; numbers that compare specially (-0, NaN), several types in one field.
const A: Value[] = [
  "x",
  "y",
  "",
  0,
  -0,
  1,
  2.5,
  Number.NaN,
  3n,
  -1n,
  true,
  false,
  null,
  [1],
  [1, 2],
  new Uint8Array([1]).buffer,
  new Uint8Array([1, 0]).buffer,
];
const B: number[] = [-1, 0, 1, 2, 3];
// With a surrogate pair, a code unit above the surrogates and a lone surrogate, whose UTF-16 and
// UTF-8 orders differ.
const C: string[] = ["p", "q", "é", "p\u{1F600}", "p\uE000", "p\uD83D"];

type Doc = Record<string, Value | undefined>;
type Bound = { op: "gt" | "gte" | "lt" | "lte"; value: Value | undefined };
type QuerySpec = {
  table: Table;
  index: string;
  eqs: (Value | undefined)[];
  lower?: Bound;
  upper?: Bound;
  order: "asc" | "desc";
  take: number | null;
  filterB?: number;
};
type Op =
  | { op: "insert"; table: Table; doc: Doc }
  | { op: "patch"; ref: number; fields: Doc }
  | { op: "replace"; ref: number; doc: Doc }
  | { op: "delete"; ref: number }
  | { op: "get"; ref: number }
  | { op: "query"; q: QuerySpec }
  | { op: "paginate"; q: QuerySpec; numItems: number; cursorRef: number | null }
  | { op: "nested"; ops: Op[]; fail: boolean };
export type Tx = { ops: Op[]; fail: boolean };

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });
const itemDoc: fc.Arbitrary<Doc> = fc.record(
  {
    a: maybe(fc.constantFrom(...A)),
    b: maybe(fc.constantFrom(...B)),
    c: maybe(fc.constantFrom(...C)),
    n: maybe(fc.record({ x: maybe(fc.constantFrom(...B)) }, { requiredKeys: [] })),
    r: maybe(fc.constant("10000others")),
    z: maybe(
      fc.oneof(
        fc.constantFrom<Value>(null, 7n, new ArrayBuffer(2)),
        fc.uint8Array({ maxLength: 300 }).map((bytes) => bytes.slice().buffer as Value),
      ),
    ),
  },
  { requiredKeys: [] },
);
const otherDoc: fc.Arbitrary<Doc> = fc.record({
  k: fc.constantFrom(...C),
  b: fc.constantFrom(...B),
});
// Documents the schema refuses, each for another reason: the error must be stock's, word for word.
const INVALID: [Table, Doc][] = [
  ["items", { b: "one" }],
  ["items", { a: { x: 1 } }],
  ["items", { a: [1, "two"] }],
  ["items", { zzz: 1 }],
  ["items", { n: { x: "s" } }],
  ["items", { n: { x: 1, y: 2 } }],
  ["items", { n: 5 }],
  ["items", { c: null }],
  ["items", { r: "10000items" }],
  ["items", { r: 5 }],
  ["items", { z: "s" }],
  ["items", { z: 8n }],
  ["items", { z: 7 }],
  ["others", { k: 1, b: 1 }],
  ["others", { k: "p" }],
  ["others", { k: "p", b: 1n }],
];
const fieldValues = (table: Table, field: string): Value[] =>
  table === "others"
    ? field === "k"
      ? C
      : B
    : field === "a"
      ? A
      : field === "b" || field === "n.x"
        ? B
        : field === "c"
          ? C
          : [];

const querySpec: fc.Arbitrary<QuerySpec> = fc
  .constantFrom<Table>("items", "items", "others")
  .chain((table) =>
    fc.constantFrom(...INDEXES[table]).chain(({ name, fields }) => {
      // System fields have values the test cannot guess: range them only with no prefix, by a creation time or id that rarely matches.
      const user = fields.filter((f) => !f.startsWith("_"));
      return fc.integer({ min: 0, max: user.length }).chain((eqCount) => {
        const next = user[eqCount];
        const value = (f: string | undefined) =>
          f ? maybe(fc.constantFrom(...fieldValues(table, f))) : fc.constant(undefined);
        const bound = (ops: ("gt" | "gte" | "lt" | "lte")[]) =>
          maybe(fc.record({ op: fc.constantFrom(...ops), value: value(next) }));
        return fc.record({
          table: fc.constant(table),
          index: fc.constant(name),
          eqs: fc.tuple(...user.slice(0, eqCount).map((f) => value(f))),
          lower: next ? bound(["gt", "gte"]) : fc.constant(undefined),
          upper: next ? bound(["lt", "lte"]) : fc.constant(undefined),
          order: fc.constantFrom("asc" as const, "desc" as const),
          take: fc.option(fc.integer({ min: 0, max: 4 }), { nil: null }),
          filterB: maybe(fc.constantFrom(...B)),
        });
      });
    }),
  );
const ref = fc.nat({ max: 40 });
const leafOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constantFrom<Table>("items", "others").chain((table) =>
      (table === "items" ? itemDoc : otherDoc).map((doc) => ({
        op: "insert" as const,
        table,
        doc,
      })),
    ),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("patch" as const), ref, fields: itemDoc }) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(...INVALID)
      .map(([table, doc]) => ({ op: "insert" as const, table, doc })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("patch" as const),
      ref,
      fields: fc.constantFrom(...INVALID.filter(([t]) => t === "items").map(([, d]) => d)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("replace" as const), ref, doc: itemDoc }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), ref }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("get" as const), ref }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant("query" as const), q: querySpec }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("paginate" as const),
      q: querySpec,
      numItems: fc.integer({ min: 1, max: 3 }),
      cursorRef: fc.option(fc.nat({ max: 5 }), { nil: null }),
    }),
  },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: leafOp },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("nested" as const),
      ops: fc.array(leafOp, { maxLength: 6 }),
      fail: fc.boolean(),
    }),
  },
);
const tx: fc.Arbitrary<Tx> = fc.record({
  ops: fc.array(op, { minLength: 1, maxLength: 12 }),
  fail: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
});
/** One sequence of transactions. */
export const sequences = fc.array(tx, { minLength: 1, maxLength: 25 });

// ---- running a sequence on one instance ----

// Arguments cross the function boundary as Convex values, which drop undefined: a spec marks it with a string no generator makes.
const UNDEF = "\u0000undefined";
const isPlain = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof ArrayBuffer);
const enc = (x: unknown): unknown =>
  x === undefined
    ? UNDEF
    : Array.isArray(x)
      ? x.map(enc)
      : isPlain(x)
        ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, enc(y)]))
        : x;
const dec = (x: unknown): any =>
  x === UNDEF
    ? undefined
    : Array.isArray(x)
      ? x.map(dec)
      : isPlain(x)
        ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, dec(y)]))
        : x;

type State = { ids: string[]; cursors: string[] };
const APPLY = makeFunctionReference<"mutation">("fns:apply");

function rangeOf(q: QuerySpec) {
  const fields = INDEXES[q.table]
    .find((i) => i.name === q.index)!
    .fields.filter((f) => !f.startsWith("_"));
  return (r: any) => {
    let b = r;
    q.eqs.forEach((value, i) => (b = b.eq(fields[i], value)));
    const next = fields[q.eqs.length];
    if (next && q.lower) b = b[q.lower.op](next, q.lower.value);
    if (next && q.upper) b = b[q.upper.op](next, q.upper.value);
    return b;
  };
}
function build(db: GenericDatabaseWriter<GenericDataModel>, q: QuerySpec) {
  let query: any =
    q.index === "by_creation_time" && q.eqs.length === 0 && !q.lower && !q.upper
      ? db.query(q.table)
      : db.query(q.table).withIndex(q.index, rangeOf(q));
  query = query.order(q.order);
  if (q.filterB !== undefined) query = query.filter((f: any) => f.neq(f.field("b"), q.filterB));
  return query;
}

/**
 * Writes over every part of a value a function handed to the database or got
 * from it: bytes filled, arrays and objects grown. Stock convex-test copies
 * both ways, so none of it may show in what is stored or read later.
 */
function scribble(value: unknown): void {
  if (value instanceof ArrayBuffer) new Uint8Array(value).fill(0xab);
  else if (Array.isArray(value)) {
    value.forEach(scribble);
    value.push(999);
  } else if (isPlain(value)) {
    Object.values(value).forEach(scribble);
    value.scribbled = true;
  }
}
/** A copy of a result for the record, then the result scribbled over. */
function keep(value: unknown): unknown {
  const copy = structuredClone(value);
  scribble(value);
  return copy;
}

async function runOps(ctx: any, ops: Op[], state: State, out: unknown[]): Promise<void> {
  let paginated = false;
  for (const o of ops) {
    const id = (r: number) => state.ids[r % Math.max(1, state.ids.length)] ?? "0items";
    try {
      switch (o.op) {
        case "insert":
          state.ids.push(await ctx.db.insert(o.table, o.doc));
          scribble(o.doc);
          out.push(["insert", state.ids.at(-1)]);
          break;
        case "patch":
          if (tableOfId(id(o.ref)) !== "items") break;
          await ctx.db.patch(id(o.ref), o.fields);
          scribble(o.fields);
          out.push(["patch"]);
          break;
        case "replace":
          if (tableOfId(id(o.ref)) !== "items") break;
          await ctx.db.replace(id(o.ref), o.doc);
          scribble(o.doc);
          out.push(["replace"]);
          break;
        case "delete":
          await ctx.db.delete(id(o.ref));
          out.push(["delete"]);
          break;
        case "get":
          out.push(["get", keep(await ctx.db.get(id(o.ref)))]);
          break;
        case "query": {
          const query = build(ctx.db, o.q);
          out.push([
            "query",
            keep(
              o.q.take === null
                ? await query.collect()
                : o.q.take === 1
                  ? await query.first()
                  : await query.take(o.q.take),
            ),
          ]);
          break;
        }
        case "paginate": {
          if (paginated) break; // one paginated query per function, as on Convex
          paginated = true;
          const cursor =
            o.cursorRef === null
              ? null
              : (state.cursors[o.cursorRef % Math.max(1, state.cursors.length)] ?? null);
          const page = await build(ctx.db, o.q).paginate({ numItems: o.numItems, cursor });
          state.cursors.push(page.continueCursor);
          out.push(["paginate", keep(page)]);
          break;
        }
        case "nested": {
          try {
            const r = (await ctx.runMutation(APPLY, { ops: enc(o.ops), fail: o.fail, state })) as {
              out: unknown[];
              state: State;
            };
            out.push(["nested", r.out]);
            Object.assign(state, r.state);
          } catch (e) {
            out.push(["nested failed", (e as Error).message.split("\n")[0]]);
          }
          break;
        }
      }
    } catch (e) {
      out.push([o.op, "error", (e as Error).message.split("\n")[0]]);
    }
  }
}

const apply = mutationGeneric({
  args: { ops: v.any(), fail: v.boolean(), state: v.any() },
  returns: v.any(),
  handler: async (ctx, args) => {
    const state = args.state as State;
    const out: unknown[] = [];
    await runOps(ctx, dec(args.ops) as Op[], state, out);
    out.push(["metrics", await ctx.meta.getTransactionMetrics()]);
    if (args.fail) throw new Error(`rolled back: ${JSON.stringify(out).length}`);
    return { out, state };
  },
});
const modules = {
  "./convex/_generated/api.js": async () => ({}),
  "./convex/fns.ts": async () => ({ apply }),
};

/**
 * Which convex-test to run a sequence on: "stock" as it ships; "indexed" with
 * dev/indexedStore.ts installed; "fast" with the store and syscalls crossing as
 * values too (dev/directSyscalls.ts), as the engine runs, which needs
 * dev/registerHooks.mjs loaded in the process.
 */
export type Flavour = "stock" | "indexed" | "fast";

async function instance(flavour: Flavour) {
  const t = convexTest({ schema, modules, transactionLimits: true });
  const global = await captureConvexGlobal(t as never);
  const stats = flavour === "stock" ? null : installIndexedStore(global.components[""]!.db);
  const direct = flavour === "fast" ? useDirectSyscalls(global) : null;
  if (flavour === "fast" && !direct)
    throw new Error("syscalls cannot cross as values: dev/registerHooks.mjs is not loaded");
  return { t, global, stats, direct };
}

/**
 * Runs `txs` on a new instance of `flavour`. `freeze` sets the clock (creation
 * times and commit timestamps come from it): every run starts at the same frozen moment.
 */
export async function runSequence(flavour: Flavour, txs: Tx[], freeze: (at: number) => void) {
  freeze(Date.UTC(2026, 11, 2));
  const { t, global, stats, direct } = await instance(flavour);
  const state: State = { ids: [], cursors: [] };
  const results: unknown[] = [];
  for (const x of txs) {
    try {
      const r = (await t.mutation(APPLY, { ops: enc(x.ops), fail: x.fail, state })) as {
        out: unknown[];
        state: State;
      };
      Object.assign(state, r.state);
      results.push(r.out);
    } catch (e) {
      results.push(["failed", (e as Error).message.split("\n")[0]]);
    }
  }
  const db = global.components[""]!.db;
  return {
    results,
    stored: Object.keys(db._documents).map((id) => [id, db._documents[id]]),
    stats,
    direct,
  };
}
