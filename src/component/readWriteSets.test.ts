// readWriteSets.testlib.ts: what each transaction read and wrote, and Convex's OCC rule over
// it, on small hand-made cases and on reads and writes recorded from convex-test.
import { DirectAggregate } from "@convex-dev/aggregate";
import { convexTest } from "convex-test";
import { defineSchema, defineTable } from "convex/server";
import type { GenericDataModel, GenericMutationCtx } from "convex/server";
import { v } from "convex/values";
import { afterEach, describe, expect, test } from "vitest";
import { api, components } from "./_generated/api.js";
import {
  conflicts,
  findConflicts,
  recordReadWriteSets,
  type RangeRead,
  type ReadWriteRecorder,
  type Transaction,
  type Write,
} from "./readWriteSets.testlib.js";
import { initConvexTest, modules } from "./test.setup.js";

// A schema of our own, so the cases do not depend on the component's tables.
const schema = defineSchema({
  items: defineTable({ group: v.string(), rank: v.number(), note: v.optional(v.string()) }).index(
    "by_group_rank",
    ["group", "rank"],
  ),
});
type Ctx = GenericMutationCtx<GenericDataModel>;
type Item = { _id: string; _creationTime: number; group: string; rank: number };

// ---------------------------------------------------------------- hand-made transactions

const tx = (reads: Transaction["reads"], writes: Write[] = []): Transaction => ({
  seq: 0,
  label: "hand-made",
  committed: true,
  reads,
  writes,
});
const range = (over: Partial<RangeRead> = {}): RangeRead => ({
  kind: "range",
  component: "",
  table: "items",
  fn: "reader",
  index: "by_group_rank",
  bounds: [{ op: "eq", field: "group", value: "a" }],
  order: "asc",
  ...over,
});
let nextId = 0;
const doc = (group: string, rank: number, creation = 1) =>
  ({ _id: `id${nextId++}`, _creationTime: creation, group, rank }) as Item;
const insert = (d: Item, component = ""): Write => ({
  component,
  table: "items",
  fn: "writer",
  op: "insert",
  id: d._id,
  before: null,
  after: d,
});

describe("conflicts (hand-made)", () => {
  test("an insert into a fully read range conflicts; one outside it does not", () => {
    const reader = tx([range()]);
    expect(conflicts(reader, tx([], [insert(doc("a", 5))]), schema)).toBe(true);
    expect(conflicts(reader, tx([], [insert(doc("b", 5))]), schema)).toBe(false);
    // The same table in another component is another table.
    expect(conflicts(reader, tx([], [insert(doc("a", 5), "child")]), schema)).toBe(false);
    // Directional: the writer read nothing, so the reader's (absent) writes cannot hit it.
    expect(conflicts(tx([], [insert(doc("a", 5))]), reader, schema)).toBe(false);
  });

  test("gt/gte/lt/lte bounds on the next index field", () => {
    const reader = tx([
      range({
        bounds: [
          { op: "eq", field: "group", value: "a" },
          { op: "gte", field: "rank", value: 10 },
          { op: "lt", field: "rank", value: 20 },
        ],
      }),
    ]);
    const at = (rank: number) => conflicts(reader, tx([], [insert(doc("a", rank))]), schema);
    expect([at(9), at(10), at(19.5), at(20)]).toEqual([false, true, true, false]);
  });

  test("moving a document out of a range is a write into it (the before-image)", () => {
    const before = doc("a", 1);
    const move: Write = {
      ...insert(before),
      op: "patch",
      before,
      after: { ...before, group: "b" },
    };
    const [hit] = findConflicts(tx([range()]), tx([], [move]), schema);
    expect(hit.image).toBe("before");
  });

  test("a read that stopped early covers the range only through its last row", () => {
    const last = doc("a", 10, 5);
    const reader = tx([range({ through: last })]);
    const at = (rank: number, creation = 1) =>
      conflicts(reader, tx([], [insert(doc("a", rank, creation))]), schema);
    expect(at(9)).toBe(true);
    expect(at(10, 4)).toBe(true); // equal rank, earlier in (_creationTime, _id) order
    expect(at(10, 6)).toBe(false);
    expect(at(11)).toBe(false);
    const desc = tx([range({ order: "desc", through: last })]);
    const atDesc = (rank: number) => conflicts(desc, tx([], [insert(doc("a", rank))]), schema);
    expect([atDesc(11), atDesc(9)]).toEqual([true, false]);
  });

  test("point reads conflict with writes to that document only; empty reads with nothing", () => {
    const d = doc("a", 1);
    const patch: Write = { ...insert(d), op: "patch", before: d, after: d };
    const get = { kind: "get" as const, component: "", table: "items", fn: "r", id: d._id };
    expect(conflicts(tx([get]), tx([], [patch]), schema)).toBe(true);
    expect(conflicts(tx([{ ...get, id: "other" }]), tx([], [patch]), schema)).toBe(false);
    expect(conflicts(tx([range({ empty: true })]), tx([], [patch]), schema)).toBe(false);
  });
});

// ---------------------------------------------------------------- recorded from convex-test

let rec: ReadWriteRecorder | undefined;
afterEach(() => rec?.stop());

function setup() {
  const t = convexTest({ schema, modules, transactionLimits: true });
  const recorder = recordReadWriteSets({ schemas: { "": schema } });
  rec = recorder;
  const run = async <R>(fn: (ctx: Ctx) => Promise<R>): Promise<[R, Transaction]> => {
    const before = recorder.transactions.length;
    const result = (await t.run(fn as never)) as R;
    expect(recorder.transactions.length).toBe(before + 1);
    return [result, recorder.transactions[recorder.transactions.length - 1]];
  };
  const add = async (group: string, rank: number) =>
    (await run((ctx) => ctx.db.insert("items", { group, rank })))[1];
  const byGroup = (ctx: Ctx, group: string, order: "asc" | "desc" = "asc") =>
    ctx.db
      .query("items")
      .withIndex("by_group_rank", (q) => q.eq("group", group))
      .order(order);
  return { t, run, add, byGroup, recorder };
}

describe("recorded read and write sets", () => {
  test("a full read conflicts with an insert into its range, not outside it", async () => {
    const { run, add, byGroup } = setup();
    await add("a", 10);
    const [, reader] = await run((ctx) => byGroup(ctx, "a").collect());
    expect(reader.reads).toMatchObject([
      { kind: "range", table: "items", index: "by_group_rank", order: "asc" },
    ]);
    expect((reader.reads[0] as RangeRead).through).toBeUndefined();
    expect(conflicts(reader, await add("a", 99), schema)).toBe(true);
    expect(conflicts(reader, await add("b", 1), schema)).toBe(false);
  });

  test(".first() conflicts only with writes at or before the returned row", async () => {
    const { run, add, byGroup } = setup();
    for (const rank of [10, 20, 30]) await add("a", rank);
    const [first, reader] = await run((ctx) => byGroup(ctx, "a").first());
    expect((reader.reads[0] as RangeRead).through).toMatchObject({ rank: 10 });
    expect(conflicts(reader, await add("a", 5), schema)).toBe(true);
    expect(conflicts(reader, await add("a", 25), schema)).toBe(false);
    // Equal rank, but after it in index order (a later _creationTime).
    expect(conflicts(reader, await add("a", 10), schema)).toBe(false);
    const [, touch] = await run((ctx) =>
      ctx.db.patch("items", first!._id as never, { note: "seen" }),
    );
    expect(conflicts(reader, touch, schema)).toBe(true);
    // Descending: the read covers the top of the range.
    const [, top] = await run((ctx) => byGroup(ctx, "a", "desc").first());
    expect(conflicts(top, await add("a", 35), schema)).toBe(true);
    expect(conflicts(top, await add("a", 29), schema)).toBe(false);
  });

  test("take(n): stopped at n rows, or ran out of the range", async () => {
    const { run, add, byGroup } = setup();
    for (const rank of [10, 20, 30]) await add("a", rank);
    const [, two] = await run((ctx) => byGroup(ctx, "a").take(2));
    expect((two.reads[0] as RangeRead).through).toMatchObject({ rank: 20 });
    const [, five] = await run((ctx) => byGroup(ctx, "a").take(5));
    expect((five.reads[0] as RangeRead).through).toBeUndefined();
    const late = await add("a", 100);
    expect([conflicts(two, late, schema), conflicts(five, late, schema)]).toEqual([false, true]);
  });

  test("a loop that breaks reads through its last row; a page through its cursor", async () => {
    const { run, add, byGroup } = setup();
    for (const rank of [10, 20, 30]) await add("a", rank);
    const [, broke] = await run(async (ctx) => {
      for await (const row of byGroup(ctx, "a")) if (row.rank === 20) break;
    });
    expect((broke.reads[0] as RangeRead).through).toMatchObject({ rank: 20 });
    const page = (cursor: string | null) =>
      run((ctx) => byGroup(ctx, "a").paginate({ numItems: 2, cursor }));
    const [first, page1] = await page(null);
    const [, page2] = await page(first.continueCursor);
    expect(page1.reads[0]).toMatchObject({
      through: ["a", 20, expect.any(Number), expect.any(String)],
    });
    const [at15, at25] = [await add("a", 15), await add("a", 25)];
    expect([conflicts(page1, at15, schema), conflicts(page1, at25, schema)]).toEqual([true, false]);
    expect([conflicts(page2, at15, schema), conflicts(page2, at25, schema)]).toEqual([false, true]);
  });

  test("point reads, rolled-back transactions, and unchanged metrics", async () => {
    const { t, run, add, recorder } = setup();
    const w = await add("a", 1);
    const id = w.writes[0].id;
    expect(w.writes[0]).toMatchObject({
      op: "insert",
      before: null,
      after: { group: "a", rank: 1 },
    });
    const [metrics, getter] = await run(async (ctx) => {
      await ctx.db.get("items", id as never);
      await ctx.db.patch("items", id as never, { note: "x" });
      return (
        ctx as unknown as { meta: { getTransactionMetrics(): Promise<Metrics> } }
      ).meta.getTransactionMetrics();
    });
    // Recording read the document before and after the patch, invisibly.
    expect([metrics.documentsRead.used, metrics.databaseQueries.used]).toEqual([2, 1]);
    expect(getter.reads).toMatchObject([{ kind: "get", id }]);
    expect(getter.writes[0]).toMatchObject({
      op: "patch",
      before: { rank: 1 },
      after: { rank: 1 },
    });
    expect(getter.writes[0].after).not.toHaveProperty("note"); // projected to index fields
    await expect(
      t.run(async (ctx) => {
        await ctx.db.insert("items", { group: "z", rank: 0 });
        await ctx.db.query("items").collect();
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    const failed = recorder.transactions[recorder.transactions.length - 1];
    expect(failed).toMatchObject({ committed: false, writes: [] });
    expect(failed.reads).toMatchObject([{ kind: "range", index: "by_creation_time" }]);
  });

  test("functions, scheduled runs and nested component calls, labelled", async () => {
    const t = initConvexTest();
    const recorder = recordReadWriteSets();
    rec = recorder;
    await t.mutation(api.sites.createSite, { slug: "s", name: "S", timezone: "UTC" });
    await t.run(async (ctx) => {
      await ctx.scheduler.runAfter(0, api.sites.createSite, { slug: "t", name: "T" });
      const agg = new DirectAggregate<{ Key: number; Id: string }>(components.hourlyTotals);
      await agg.insert(ctx as never, { key: 1, id: "one", sumValue: 1 });
    });
    await t.finishAllScheduledFunctions(() => {});
    const labels = recorder.transactions.map((tx) => tx.label);
    expect(labels).toEqual(["sites:createSite", "custom", "sites:createSite"]);
    const nested = recorder.transactions[1];
    const childWrites = nested.writes.filter((w) => w.component === "hourlyTotals");
    expect(childWrites.length).toBeGreaterThan(0);
    expect(childWrites[0].fn).toMatch(/^hourlyTotals\//);
    expect(recorder.transactions[0].writes.map((w) => [w.table, w.op])).toContainEqual([
      "sites",
      "insert",
    ]);
  });
});

interface Metrics {
  documentsRead: { used: number };
  databaseQueries: { used: number };
}
