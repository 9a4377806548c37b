// convexLimits.testlib.ts: Convex's per-document limits re-applied on every write, in the
// component as the root of a convex-test instance, in its child components, and in the
// example app with the component registered.
import type { GenericDataModel, GenericMutationCtx } from "convex/server";
import type { Value } from "convex/values";
import { describe, expect, test } from "vitest";
import { initApp, inComponent } from "../../test/app.setup.js";
import {
  MAX_ARRAY_LENGTH,
  MAX_DOCUMENT_BYTES,
  documentLimitViolation,
  documentWriteStats,
  enforceConvexDocumentLimits,
} from "./convexLimits.testlib.js";
import { api } from "./_generated/api.js";
import { initConvexTest } from "./test.setup.js";

enforceConvexDocumentLimits();
enforceConvexDocumentLimits(); // idempotent: one check per write, not two

type Ctx = GenericMutationCtx<GenericDataModel>;
type T = ReturnType<typeof initConvexTest>;
const inside = <R>(t: T, path: string, fn: (ctx: Ctx) => Promise<R>) =>
  (
    t as unknown as { runInComponent(p: string, f: (ctx: Ctx) => Promise<R>): Promise<R> }
  ).runInComponent(path, fn);

// The aggregate child's btreeNode: `items: [{ k: any, v: any, s: number }]`, a schema this
// project does not own, so the tests do not depend on the component's own tables.
const AGG = "hourlyTotals";
const node = (items: Value[]) => ({ items, subtrees: [] as Value[] });
const item = (k: Value) => ({ k, v: null, s: 1 });
const big = (bytes: number) => "x".repeat(bytes);
const countNodes = (t: T) =>
  inside(t, AGG, async (ctx) => (await ctx.db.query("btreeNode").collect()).length);

describe("inside a child component (initConvexTest)", () => {
  test("a 1 MiB+ insert throws, naming the limit and the table, and leaves nothing", async () => {
    const t = initConvexTest();
    const insert = inside(t, AGG, (ctx) =>
      ctx.db.insert("btreeNode", node([item(big(MAX_DOCUMENT_BYTES))])),
    );
    await expect(insert).rejects.toThrow(
      /Value is too large \(1\.00 MiB > maximum size 1 MiB\).*"btreeNode"/,
    );
    expect(await countNodes(t)).toBe(0);
  });

  test("a caught violation is not staged: the transaction commits without it", async () => {
    const t = initConvexTest();
    const error = await inside(t, AGG, async (ctx) => {
      await ctx.db.insert("btreeNode", node([item("kept")]));
      try {
        await ctx.db.insert("btreeNode", node([item(big(2 * MAX_DOCUMENT_BYTES))]));
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    });
    expect(error).toMatch(/Value is too large/);
    const docs = await inside(t, AGG, (ctx) => ctx.db.query("btreeNode").collect());
    expect(docs.map((d) => (d.items as { k: unknown }[])[0].k)).toEqual(["kept"]);
  });

  test("an 8,193-element array throws; 8,192 elements pass", async () => {
    const t = initConvexTest();
    const items = (n: number) => Array.from({ length: n }, (_, i) => item(i));
    await expect(
      inside(t, AGG, (ctx) => ctx.db.insert("btreeNode", node(items(MAX_ARRAY_LENGTH + 1)))),
    ).rejects.toThrow(
      /Array length is too long \(8193 > maximum length 8192\) at items.*"btreeNode"/,
    );
    await inside(t, AGG, (ctx) => ctx.db.insert("btreeNode", node(items(MAX_ARRAY_LENGTH))));
    // Nested arrays count too.
    await expect(
      inside(t, AGG, (ctx) =>
        ctx.db.insert("btreeNode", node([item(items(MAX_ARRAY_LENGTH + 1))])),
      ),
    ).rejects.toThrow(/at items\[0\]\.k/);
    expect(await countNodes(t)).toBe(1);
  });

  test("a patch is measured merged: growing a document past 1 MiB throws, keeps it", async () => {
    const t = initConvexTest();
    const half = big(MAX_DOCUMENT_BYTES / 2);
    const id = await inside(t, AGG, (ctx) => ctx.db.insert("btreeNode", node([item(half)])));
    // The patch value alone is ~0.5 MiB; the document it makes is ~1 MiB + overhead.
    const grow = inside(t, AGG, (ctx) =>
      ctx.db.patch("btreeNode", id, { items: [item(half), item(half)] }),
    );
    await expect(grow).rejects.toThrow(/Value is too large.*patch into table "btreeNode"/);
    const stored = await inside(t, AGG, (ctx) => ctx.db.get("btreeNode", id));
    expect((stored!.items as unknown[]).length).toBe(1);
    // Within the limit, and a replace, pass.
    await inside(t, AGG, (ctx) =>
      ctx.db.patch("btreeNode", id, { items: [item(half), item("small")] }),
    );
    await inside(t, AGG, (ctx) => ctx.db.replace("btreeNode", id, node([item("replaced")])));
    await expect(
      inside(t, AGG, (ctx) =>
        ctx.db.replace("btreeNode", id, node([item(big(MAX_DOCUMENT_BYTES))])),
      ),
    ).rejects.toThrow(/replace into table "btreeNode"/);
  });

  test("reading the stored document for a patch adds nothing to the metrics", async () => {
    const t = initConvexTest();
    const id = await inside(t, AGG, (ctx) => ctx.db.insert("btreeNode", node([item("a")])));
    const metrics = await inside(t, AGG, async (ctx) => {
      await ctx.db.patch("btreeNode", id, { items: [item("b")] });
      return (
        ctx as unknown as { meta: { getTransactionMetrics(): Promise<Metrics> } }
      ).meta.getTransactionMetrics();
    });
    // convex-test's own patch reads the document once, with no index range.
    expect(metrics.documentsRead.used).toBe(1);
    expect(metrics.databaseQueries.used).toBe(0);
    expect(metrics.documentsWritten.used).toBe(1);
  });

  test("writes within the limits pass, in the root component too", async () => {
    const t = initConvexTest();
    await inside(t, AGG, (ctx) =>
      ctx.db.insert("btreeNode", node([item(big(MAX_DOCUMENT_BYTES - 100))])),
    );
    expect(await countNodes(t)).toBe(1);
    const { siteId } = await t.mutation(api.sites.createSite, {
      slug: "s",
      name: "S",
      timezone: "UTC",
    });
    expect(siteId).toBeTruthy();
  });
});

describe("in an app-level instance (initApp)", () => {
  test("app tables and the component's descendants are checked", async () => {
    const t = initApp();
    const users = () =>
      inComponent(t, "", async (ctx) => (await ctx.db.query("users").collect()).length);
    await expect(
      inComponent(t, "", (ctx) =>
        ctx.db.insert("users", { email: big(MAX_DOCUMENT_BYTES), plan: "free" }),
      ),
    ).rejects.toThrow(/insert into table "users"/);
    expect(await users()).toBe(0);
    // Two ~0.6 MiB fields: each write alone is fine, the patched document is not.
    const id = await inComponent(t, "", (ctx) =>
      ctx.db.insert("users", { email: big(600_000), plan: "free" }),
    );
    await expect(
      inComponent(t, "", (ctx) => ctx.db.patch("users", id, { plan: big(600_000) })),
    ).rejects.toThrow(/patch into table "users"/);
    await inComponent(t, "", (ctx) => ctx.db.patch("users", id, { plan: "pro" }));
    await expect(
      inComponent(t, "analytics/hourlyTotals", (ctx) =>
        ctx.db.insert("btreeNode", node([item(big(MAX_DOCUMENT_BYTES))])),
      ),
    ).rejects.toThrow(/"btreeNode"/);
  });
});

describe("documentLimitViolation", () => {
  test("nesting, field counts and field names", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 15; i++) deep = { d: deep };
    expect(documentLimitViolation("t", "insert", { a: deep as never })).toBeNull(); // 16 levels
    expect(documentLimitViolation("t", "insert", { a: { d: deep } as never })).toMatch(
      /Document is too nested \(nested 17 levels deep > maximum nesting 16\)/,
    );
    const wide = Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`f${i}`, i]));
    expect(documentLimitViolation("t", "insert", { wide })).toMatch(/too many fields \(1025/);
    expect(documentLimitViolation("t", "insert", { _secret: 1 })).toMatch(/underscore/);
    expect(documentLimitViolation("t", "insert", { a: { _b: 1 } })).toMatch(/nested fields at a/);
    expect(documentLimitViolation("t", "patch", { _id: "x", _creationTime: 1, a: 1 })).toBeNull();
    expect(documentLimitViolation("t", "insert", { a: { $b: 1 } })).toMatch(/'\$'/);
  });
});

test("documentWriteStats: the largest document and array per table, attempts included", () => {
  const node = documentWriteStats().find((s) => s.table === "btreeNode")!;
  expect(node.largestBytes).toBeGreaterThan(2 * MAX_DOCUMENT_BYTES);
  expect(node.longestArray).toBe(MAX_ARRAY_LENGTH + 1);
  expect(documentWriteStats().map((s) => s.table)).toContain("users");
});

interface Metrics {
  documentsRead: { used: number };
  databaseQueries: { used: number };
  documentsWritten: { used: number };
}
