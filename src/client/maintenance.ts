// The host's maintenance: internal mutations its crons call, and the crons themselves.
import { internalMutationGeneric, type Crons, type FunctionReference } from "convex/server";
import { v } from "convex/values";
import type { ComponentApi } from "../component/_generated/component.js";

/**
 * Internal mutations for the host's crons to call (Convex crons can only name the
 * app's own functions). Export them from one module and pass that module's
 * `internal` references to {@link registerMaintenanceCrons}. They are internal:
 * no browser can call them.
 *
 * @example
 * ```ts
 * // convex/analytics.ts
 * export const { kick, applyRetention } = exposeMaintenanceApi(components.analytics);
 * ```
 */
export function exposeMaintenanceApi(component: ComponentApi) {
  return {
    /**
     * Restarts worker loops a failed run stopped, export steps and deletion passes that died,
     * and starts compaction when a closed hour waits.
     */
    kick: internalMutationGeneric({
      args: {},
      returns: v.null(),
      handler: async (ctx) => {
        await ctx.runMutation(component.maintenance.kick, {});
        return null;
      },
    }),
    /** Deletes minute rollups past realtime's window, old raw batches and sessions, and old salts. */
    applyRetention: internalMutationGeneric({
      args: {},
      returns: v.null(),
      handler: async (ctx) => {
        await ctx.runMutation(component.maintenance.applyRetention, {});
        return null;
      },
    }),
  };
}

type MaintenanceRef = FunctionReference<"mutation", "internal", Record<string, never>, null>;

/**
 * Schedules the component's maintenance. Every minute, a kick: it restarts the
 * worker loop of any site whose batches waited over 2 minutes (a failed run),
 * and starts compaction when an hour closed over an hour ago waits (a few reads
 * when there is nothing to do); it also restarts export steps and deletion
 * passes that died. Every hour, retention: minute rollups, raw
 * events, sessions, bot counts and dead letters past each site's retention, old salts and rate-limit
 * buckets, a page at a time.
 *
 * @example
 * ```ts
 * // convex/crons.ts
 * const crons = cronJobs();
 * registerMaintenanceCrons(crons, internal.analytics);
 * export default crons;
 * ```
 */
export function registerMaintenanceCrons(
  crons: Crons,
  maintenance: { kick: MaintenanceRef; applyRetention: MaintenanceRef },
): void {
  crons.interval("analytics: restart loops and compact", { minutes: 1 }, maintenance.kick, {});
  crons.interval("analytics: retention", { hours: 1 }, maintenance.applyRetention, {});
}
