// The syscall hooks with the fast copy of convex-test (node ../shared/tools/convex-test-fast.mjs
// writes node_modules/convex-test/dist/index.fast.js), which benchmarks use. Skipped when the
// copy is absent. Its own file: stock and fast instances must not be mixed in one file.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import aggregate from "@convex-dev/aggregate/test";
import type { GenericDataModel, GenericMutationCtx } from "convex/server";
import { describe, expect, test } from "vitest";
import { MAX_DOCUMENT_BYTES, enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { conflicts, recordReadWriteSets } from "./readWriteSets.testlib.js";
import schema from "./schema.js";
import { modules } from "./test.setup.js";

const FAST = "convex-test/dist/index.fast.js";
const present = existsSync(fileURLToPath(new URL(`../../node_modules/${FAST}`, import.meta.url)));

type Ctx = GenericMutationCtx<GenericDataModel>;
interface Instance {
  runInComponent<R>(path: string, fn: (ctx: Ctx) => Promise<R>): Promise<R>;
}

async function initFast(): Promise<Instance> {
  const { convexTest } = (await import(/* @vite-ignore */ FAST)) as typeof import("convex-test");
  const t = convexTest({ schema, modules, transactionLimits: true });
  aggregate.register(t, "hourlyTotals");
  return t as unknown as Instance;
}

enforceConvexDocumentLimits();

describe.skipIf(!present)("with convex-test's fast copy", () => {
  test("over-limit writes throw; the recorder sees reads and writes", async () => {
    const t = await initFast();
    const rec = recordReadWriteSets();
    const node = (k: string) => ({ items: [{ k, v: null, s: 1 }], subtrees: [] });
    await expect(
      t.runInComponent("hourlyTotals", (ctx) =>
        ctx.db.insert("btreeNode", node("x".repeat(MAX_DOCUMENT_BYTES))),
      ),
    ).rejects.toThrow(/Value is too large.*"btreeNode"/);
    const id = await t.runInComponent("hourlyTotals", (ctx) =>
      ctx.db.insert("btreeNode", node("a")),
    );
    await expect(
      t.runInComponent("hourlyTotals", (ctx) =>
        ctx.db.patch("btreeNode", id, { items: node("y".repeat(MAX_DOCUMENT_BYTES)).items }),
      ),
    ).rejects.toThrow(/patch into table "btreeNode"/);
    await t.runInComponent("hourlyTotals", (ctx) => ctx.db.query("btreeNode").collect());
    const [insert, read] = rec.transactions.filter((tx) => tx.committed);
    expect(insert.writes.map((w) => [w.component, w.table, w.op])).toEqual([
      ["hourlyTotals", "btreeNode", "insert"],
    ]);
    expect(conflicts(read, insert, aggregate.schema)).toBe(true);
    rec.stop();
  });
});
