/// <reference types="vite/client" />
// Lets host apps test with convex-test: register(t) installs this component and
// its child components under the name the host gave it.
import type { TestConvex } from "convex-test";
import type { GenericSchema, SchemaDefinition } from "convex/server";
import aggregate from "@convex-dev/aggregate/test";
import batchWorker from "@convex-dev/batch-worker/test";
import rateLimiter from "@convex-dev/rate-limiter/test";
import schema from "./component/schema.js";

const modules = import.meta.glob("./component/**/*.ts");

/**
 * Register the component (and its @convex-dev/aggregate and rate-limiter children) with a convex-test instance.
 * @param t - the instance from `convexTest(schema, modules)`.
 * @param name - the name used in `app.use(analytics, { name })`; "analytics" by default.
 */
export function register(
  t: TestConvex<SchemaDefinition<GenericSchema, boolean>>,
  name: string = "analytics",
): void {
  t.registerComponent(name, schema, modules);
  aggregate.register(t, `${name}/hourlyTotals`);
  // aggregate's own child, the batch worker of its queued mode.
  batchWorker.register(t, `${name}/hourlyTotals/batchWorker`);
  rateLimiter.register(t, `${name}/rateLimiter`);
}
export default { register, schema, modules };
