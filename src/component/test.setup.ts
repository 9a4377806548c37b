/// <reference types="vite/client" />
// Shared by the component's own tests: the component as the root of a
// convex-test instance, its aggregate child registered, transaction limits on.
import { convexTest } from "convex-test";
import aggregate from "@convex-dev/aggregate/test";
import batchWorker from "@convex-dev/batch-worker/test";
import rateLimiter from "@convex-dev/rate-limiter/test";
import schema from "./schema.js";

export const modules = import.meta.glob("./**/*.ts");

export function initConvexTest() {
  const t = convexTest({ schema, modules, transactionLimits: true });
  aggregate.register(t, "hourlyTotals");
  batchWorker.register(t, "hourlyTotals/batchWorker");
  rateLimiter.register(t, "rateLimiter");
  return t;
}
