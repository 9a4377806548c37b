// The stats HTTP API's one component call per request: an action that admits
// the read key (one small mutation: key by hash, site, rate limit) and then
// runs the facade's own report query, so reports stay queries (cached, never
// retried against the worker's writes) and the route never sees a key hash.
import { v } from "convex/values";
import { action, type ActionCtx } from "./_generated/server.js";
import { api, internal } from "./_generated/api.js";
import { RETENTION_ERRORS } from "./retention.js";
import { FILTER_ERRORS } from "./filters.js";
import { vStatsOutcome, vStatsRequest, type StatsOutcome, type StatsRequest } from "../shared.js";

/**
 * The reports' own argument errors (time.ts alignRange, reports.ts, retention.ts): the
 * caller's fault, so a 400 with the report's message. Anything else is ours.
 */
const ARGUMENT_ERRORS = [
  "from and to must be finite epoch milliseconds",
  "Invalid range:",
  "Minute granularity covers only",
  "Hour granularity covers at most",
  "limit must be an integer",
  ...FILTER_ERRORS,
  ...RETENTION_ERRORS,
];

/**
 * Starts (or resumes, or finds cached) the scan a filtered report needs, as a
 * dashboard does with startFilterScan; a filter a rollup answers starts none.
 * The report then says `complete` and `scannedEvents`: repeat the request
 * until `complete` is true.
 */
async function startScanFor(ctx: Pick<ActionCtx, "runMutation">, request: StatsRequest) {
  if (
    request.report !== "overview" &&
    request.report !== "timeseries" &&
    request.report !== "breakdown"
  )
    return;
  if (!request.args.filters?.length) return;
  await ctx.runMutation(api.filters.startFilterScan, { report: request.report, ...request.args });
}

async function runReport(ctx: Pick<ActionCtx, "runQuery">, request: StatsRequest) {
  switch (request.report) {
    case "overview":
      return await ctx.runQuery(api.reports.getOverview, request.args);
    case "timeseries":
      return await ctx.runQuery(api.reports.getTimeseries, request.args);
    case "breakdown":
      return await ctx.runQuery(api.reports.getBreakdown, request.args);
    case "realtime":
      return await ctx.runQuery(api.reports.getRealtime, request.args);
    case "propertyBreakdown":
      return await ctx.runQuery(api.reports.getPropertyBreakdown, request.args);
    case "goals":
      return await ctx.runQuery(api.goals.getGoals, request.args);
  }
}

export const serveStats = action({
  args: { readKey: v.string(), request: vStatsRequest },
  returns: vStatsOutcome,
  handler: async (ctx, { readKey, request }): Promise<StatsOutcome> => {
    const admission = await ctx.runMutation(internal.readKeys.admitRead, {
      readKey,
      siteId: request.args.siteId,
    });
    if (admission.status !== "ok") return admission;
    try {
      await startScanFor(ctx, request);
      return { status: "ok", body: await runReport(ctx, request) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const argumentError = ARGUMENT_ERRORS.find((prefix) => message.includes(prefix));
      if (argumentError !== undefined)
        // The report's own sentence, without the runtime's "Uncaught Error:" wrapping or a stack.
        return { status: "invalid_parameter", message: firstSentence(message, argumentError) };
      return { status: "unavailable", message: "The report could not be computed, retry later" };
    }
  },
});

function firstSentence(message: string, from: string): string {
  const start = message.indexOf(from);
  const end = message.indexOf("\n", start);
  return message.slice(start, end === -1 ? undefined : end);
}
