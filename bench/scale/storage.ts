// Storage, counted generically: every table of every component the app
// registered (names from the schemas handed to convex-test), each document
// sized with getConvexSize.
import { getConvexSize } from "convex/values";
import type { GenericDataModel, GenericMutationCtx } from "convex/server";
import { captureConvexGlobal } from "../../dev/internals.js";
import { tableOfId } from "../../dev/indexedStore.js";
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

/**
 * Every document of every table of every component (plus _scheduled_functions),
 * read straight from convex-test's in-memory databases when nothing is running.
 * Paging through them in transactions took 8 minutes at full scale: a storage
 * count is not a transaction a deployment runs, so it need not be one here.
 */
export async function scanStorage(t: App, components: Components): Promise<TableStats[]> {
  const global = await captureConvexGlobal(t as never);
  const out: TableStats[] = [];
  for (const [path, tables] of components) {
    const db = global.components[path]?.db;
    if (!db) throw new Error(`convex-test has no database for component "${path}"`);
    const byTable = new Map<string, TableStats>(
      [...tables, "_scheduled_functions"].map((table) => [
        table,
        { path: path || "app", table, documents: 0, bytes: 0, billedBytes: 0, largest: 0 },
      ]),
    );
    for (const [id, doc] of Object.entries(db._documents)) {
      const table = tableOfId(id);
      const stats = table === null ? undefined : byTable.get(table);
      if (!stats) throw new Error(`document ${id} of component "${path}" is in no known table`);
      const size = getConvexSize(doc);
      stats.documents++;
      stats.bytes += size;
      stats.billedBytes += billed(size);
      stats.largest = Math.max(stats.largest, size);
    }
    for (const stats of byTable.values()) if (stats.documents) out.push(stats);
  }
  return out;
}
