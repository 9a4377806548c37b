// Storage, counted generically: every table of every component the app
// registered (names from the schemas handed to convex-test), a page per
// transaction, each document sized with getConvexSize.
import { getConvexSize } from "convex/values";
import type { GenericDataModel, GenericMutationCtx } from "convex/server";
import { billed, type App, type Components } from "./harness.js";

type Ctx = GenericMutationCtx<GenericDataModel>;
export function inComponent<T>(t: App, path: string, fn: (ctx: Ctx) => Promise<T>): Promise<T> {
  return (
    t as unknown as { runInComponent: (p: string, f: (ctx: Ctx) => Promise<T>) => Promise<T> }
  ).runInComponent(path, fn);
}

export type TableStats = {
  path: string;
  table: string;
  documents: number;
  bytes: number;
  billedBytes: number;
  largest: number;
};

/** Every document of every table of every component (plus _scheduled_functions), a page per transaction. */
export async function scanStorage(t: App, components: Components): Promise<TableStats[]> {
  const out: TableStats[] = [];
  for (const [path, tables] of components) {
    for (const table of [...tables, "_scheduled_functions"]) {
      const stats: TableStats = {
        path: path || "app",
        table,
        documents: 0,
        bytes: 0,
        billedBytes: 0,
        largest: 0,
      };
      let cursor: string | null = null;
      // Pages of up to 2,000 documents, fewer where that would read past Convex's 16 MiB
      // (rollup pages are up to 256 KiB each): a page over the limit is retried at half the size.
      let numItems = 2_000;
      for (;;) {
        const read = () =>
          inComponent(t, path, async (ctx) => {
            const q =
              table === "_scheduled_functions"
                ? ctx.db.system.query("_scheduled_functions")
                : ctx.db.query(table);
            const r = await q.paginate({ cursor, numItems });
            return {
              isDone: r.isDone,
              continueCursor: r.continueCursor,
              sizes: r.page.map((d) => getConvexSize(d)),
            };
          });
        let page: { isDone: boolean; continueCursor: string; sizes: number[] };
        try {
          page = await read();
        } catch (e) {
          if (numItems === 1 || !/Read too much data/.test(String(e))) throw e;
          numItems = Math.ceil(numItems / 2);
          continue;
        }
        for (const s of page.sizes) {
          stats.documents++;
          stats.bytes += s;
          stats.billedBytes += billed(s);
          stats.largest = Math.max(stats.largest, s);
        }
        if (page.isDone) break;
        cursor = page.continueCursor;
      }
      if (stats.documents) out.push(stats);
    }
  }
  return out;
}
