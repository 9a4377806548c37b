/// <reference types="vite/client" />
// Shared by the component's own tests: the component as the root of a
// convex-test instance, its aggregate child registered, transaction limits on.
import { vi } from "vitest";
import { convexTest } from "convex-test";
import aggregate from "@convex-dev/aggregate/test";
import batchWorker from "@convex-dev/batch-worker/test";
import rateLimiter from "@convex-dev/rate-limiter/test";
import schema from "./schema.js";
import { internal } from "./_generated/api.js";

export const modules = import.meta.glob("./**/*.ts");

export function initConvexTest() {
  const t = convexTest({ schema, modules, transactionLimits: true });
  aggregate.register(t, "hourlyTotals");
  batchWorker.register(t, "hourlyTotals/batchWorker");
  rateLimiter.register(t, "rateLimiter");
  return t;
}

type T = ReturnType<typeof initConvexTest>;

/** Runs every site's worker loop until it is idle (fake timers advance through its waits). */
export async function runWorkers(t: T): Promise<void> {
  await t.finishAllScheduledFunctions(vi.runAllTimers);
}

/** Compacts every closed hour, step by step, as the compaction action would. */
export async function compactAll(t: T): Promise<void> {
  while ((await t.mutation(internal.compaction.compactStep, {})).work !== null);
}
