// Funnels (funnelMath.ts has the definitions): getFunnel, a query, answers from
// the cached scan of (site, range, steps, data version) and says how far it is;
// startFunnel, a mutation, starts that scan or resumes it. A dashboard calls
// startFunnel when the arguments change (or the answer says `stale`) and shows
// getFunnel through useQuery: partial while the scan runs, then complete.
import { v } from "convex/values";
import { mutation, query, type QueryCtx } from "./_generated/server.js";
import { vFunnel, vFunnelArgs, type Funnel, type FunnelArgs } from "../shared.js";
import { funnelSpec, funnelSteps } from "./funnelMath.js";
import { latestScan, scanKey, startScan } from "./scans.js";
import { siteOrThrow } from "./sites.js";
import { HOUR, alignRange, hourPhase } from "./time.js";

/** The scan a funnel's arguments name: ranges align to the site's hours, as every report's do. */
async function funnelScanOf(ctx: QueryCtx, args: FunnelArgs) {
  const site = await siteOrThrow(ctx, args.siteId);
  const { from, to } = alignRange(args.from, args.to, HOUR, hourPhase(site.timezone));
  const spec = funnelSpec(args);
  const specJson = JSON.stringify(spec);
  return { site, from, to, spec, specJson, key: await scanKey("funnel", specJson, from, to) };
}

export async function getFunnelHandler(ctx: QueryCtx, args: FunnelArgs): Promise<Funnel> {
  const { site, to, spec, key } = await funnelScanOf(ctx, args);
  const { scan, stale } = await latestScan(ctx, site._id, key, to);
  const visitors = scan ? (JSON.parse(scan.result) as number[]) : spec.steps.map(() => 0);
  return {
    steps: funnelSteps(visitors),
    complete: scan?.phase === "done" && scan.error === undefined,
    scannedEvents: scan?.scannedEvents ?? 0,
    stale,
    error: scan?.error ?? null,
  };
}

export const getFunnel = query({ args: vFunnelArgs, returns: vFunnel, handler: getFunnelHandler });

export const startFunnel = mutation({
  args: vFunnelArgs,
  returns: v.object({ scanId: v.string() }),
  handler: async (ctx, args) => {
    const { site, from, to, spec, specJson } = await funnelScanOf(ctx, args);
    const scanId = await startScan(ctx, {
      siteId: site._id,
      kind: "funnel",
      spec: specJson,
      from,
      to,
      emptyResult: JSON.stringify(spec.steps.map(() => 0)),
    });
    return { scanId };
  },
});
