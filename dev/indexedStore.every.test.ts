// indexEveryDatabase, as the bench uses it: every convex-test instance created
// afterwards, and every component registered on it, answers indexed queries from
// the store. Its own file: it changes convex-test's class for the whole file.
import { expect, test } from "vitest";
import { convexTest } from "convex-test";
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { indexEveryDatabase, indexedStoreStats } from "./indexedStore.js";
import { captureConvexGlobal } from "./internals.js";

const schema = defineSchema({
  rows: defineTable({ k: v.string(), b: v.number() }).index("by_k_b", ["k", "b"]),
});
const modules = { "./convex/_generated/api.js": async () => ({}) };

test("after indexEveryDatabase, 500 indexed lookups over 20,000 documents of a component are answered from the store, each with its 10 rows", async () => {
  await indexEveryDatabase(convexTest);
  const t = convexTest({ schema, modules, transactionLimits: true });
  t.registerComponent("child", schema, modules);
  const inChild = <T>(fn: (ctx: any) => Promise<T>) =>
    (t as unknown as { runInComponent(p: string, f: typeof fn): Promise<T> }).runInComponent(
      "child",
      fn,
    );
  // In transactions of 4,000 (the limit is 16,000 documents written per transaction).
  for (let from = 0; from < 20_000; from += 4_000) {
    await inChild(async (ctx) => {
      for (let i = from; i < from + 4_000; i++)
        await ctx.db.insert("rows", { k: `k${i % 2_000}`, b: i });
    });
  }
  const started = performance.now();
  for (let i = 0; i < 500; i++) {
    const rows = await inChild(
      async (ctx) =>
        await ctx.db
          .query("rows")
          .withIndex("by_k_b", (q: any) => q.eq("k", `k${i}`).gte("b", 0))
          .collect(),
    );
    expect(rows.map((r: { b: number }) => r.b)).toEqual(
      [...Array(10).keys()].map((j) => i + 2_000 * j),
    );
  }
  const ms = performance.now() - started;
  console.log(`indexed store: 500 lookups over 20,000 documents in ${ms.toFixed(0)} ms`);
  const { components } = await captureConvexGlobal(t as never);
  expect(indexedStoreStats(components.child!.db)).toMatchObject({
    indexedQueries: 500,
    scannedQueries: 0,
    indexes: 1,
  });
  expect(indexedStoreStats(components[""]!.db)).not.toBeNull();
});
