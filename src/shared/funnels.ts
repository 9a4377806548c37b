// Raw-event scans: funnels (src/component/scans.ts, funnels.ts).
import { v, type Infer, type ObjectType } from "convex/values";
import { vGoalMatch } from "./goals.js";
import { vRange } from "./reports.js";

/** A scan's answer so far: `complete` once every raw event of the range is in it. */
export const vScanProgress = { complete: v.boolean(), scannedEvents: v.number() };

export const MAX_FUNNEL_STEPS = 8;
/**
 * A funnel step: a pageview whose path matches `path` (`*` one segment, `**`
 * any number of segments, e.g. `/blog/**`), or a track event named `event`
 * whose props include every entry of `props`: what a goal matches (vGoalMatch).
 */
export const vFunnelStep = vGoalMatch;
export type FunnelStep = Infer<typeof vFunnelStep>;
export const vFunnelMode = v.union(v.literal("sequential"), v.literal("strict"));
export type FunnelMode = Infer<typeof vFunnelMode>;
export const vFunnelArgs = {
  ...vRange,
  steps: v.array(vFunnelStep),
  /** The longest time from a visitor's first step to its last; the whole range when omitted. */
  windowMs: v.optional(v.number()),
  mode: v.optional(vFunnelMode),
};
export type FunnelArgs = ObjectType<typeof vFunnelArgs>;
export const vFunnel = v.object({
  steps: v.array(
    v.object({
      visitors: v.number(),
      /** Of the first step's visitors (1 for the first step; null while it has none). */
      conversionRate: v.union(v.number(), v.null()),
      /** Visitors of the step before who did not reach this one (0 for the first step). */
      dropOff: v.number(),
      /** dropOff over the step before's visitors (null while it has none). */
      dropOffRate: v.union(v.number(), v.null()),
    }),
  ),
  ...vScanProgress,
  /** The site has processed events since this answer's scan began: startFunnel brings it up to date. */
  stale: v.boolean(),
  /** Why the scan stopped short (a range too large for one scan), or null. */
  error: v.union(v.string(), v.null()),
});
export type Funnel = Infer<typeof vFunnel>;
