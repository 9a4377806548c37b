/// <reference types="vite/client" />
// The example app (example/convex) with this component registered, as a host
// app would test it: convex-test with transaction limits on. Plus the helpers
// every app-level test file shares.
import { afterEach, beforeEach, vi } from "vitest";
import { convexTest } from "convex-test";
import type { GenericDataModel, GenericMutationCtx } from "convex/server";
import aggregateTest from "@convex-dev/aggregate/test";
import batchWorkerTest from "@convex-dev/batch-worker/test";
import rateLimiterTest from "@convex-dev/rate-limiter/test";
import schema from "../example/convex/schema.js";
import componentSchema from "../src/component/schema.js";
import type { DataModel, Doc } from "../src/component/_generated/dataModel.js";
import { batchesByState } from "../src/component/batches.testlib.js";
import { register } from "../src/test.js";

const modules = import.meta.glob("../example/convex/**/*.ts");

export function initApp() {
  const t = convexTest({ schema, modules, transactionLimits: true });
  register(t);
  return t;
}
export type App = ReturnType<typeof initApp>;

/** Fake timers at `now` and the example's dev-open auth for every test of the file. */
export function useFixedClock(
  now: number,
  env: Record<string, string> = { ANALYTICS_DEV_OPEN: "1" },
): void {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(now);
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.useRealTimers();
  });
}

/**
 * Runs `fn` inside a component ("" is the app, "analytics" ours), where that
 * component's tables live. convex-test 0.0.60 has runInComponent at run time
 * but does not declare it, hence the cast.
 */
export function inComponent<T, Ctx = GenericMutationCtx<GenericDataModel>>(
  t: App,
  path: string,
  fn: (ctx: Ctx) => Promise<T>,
): Promise<T> {
  const runner = t as unknown as {
    runInComponent: (path: string, f: (ctx: Ctx) => Promise<T>) => Promise<T>;
  };
  return runner.runInComponent(path, fn);
}

/** The analytics component's batches: processed (raw events) and queued (past their site's cursor). */
export function batches(
  t: App,
): Promise<{ processed: Doc<"batches">[]; queued: Doc<"batches">[] }> {
  return inComponent(t, "analytics", (ctx: GenericMutationCtx<DataModel>) => batchesByState(ctx));
}

/** Every component of the example app with its tables: the app, analytics and all of analytics' descendants. */
const EVERY_TABLE: [path: string, tables: string[]][] = [
  ["", Object.keys(schema.tables)],
  ["analytics", Object.keys(componentSchema.tables)],
  ["analytics/hourlyTotals", Object.keys(aggregateTest.schema.tables)],
  ["analytics/hourlyTotals/batchWorker", Object.keys(batchWorkerTest.schema.tables)],
  ["analytics/rateLimiter", Object.keys(rateLimiterTest.schema.tables)],
  ["analytics/rateLimiter/batchWorker", Object.keys(batchWorkerTest.schema.tables)],
];

/**
 * Binary fields (encoded rollup rows) as their bytes read as Latin-1, so that a
 * scan for a string still finds it inside them (keys are stored as UTF-8).
 */
function bytesAsText(_key: string, value: unknown): unknown {
  return value instanceof ArrayBuffer ? new TextDecoder("latin1").decode(value) : value;
}

/** Every stored document of every table of every component, system tables included, as "path:table" -> JSON texts. */
export async function everyDocument(t: App): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const [path, tables] of EVERY_TABLE) {
    const docs = await inComponent(t, path, async (ctx) => {
      const byTable: Record<string, string[]> = {};
      for (const table of tables)
        byTable[table] = (await ctx.db.query(table).collect()).map((d) =>
          JSON.stringify(d, bytesAsText),
        );
      byTable._scheduled_functions = (
        await ctx.db.system.query("_scheduled_functions").collect()
      ).map((d) => JSON.stringify(d));
      return byTable;
    });
    for (const [table, texts] of Object.entries(docs)) out.set(`${path || "app"}:${table}`, texts);
  }
  return out;
}
