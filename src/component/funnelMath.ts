// Funnels as pure functions: step matching, the per-visitor evaluation and the
// answer's shape. The scan engine (scans.ts) feeds them one visitor partition
// at a time. Definitions (README "Funnels"), over a visitor's counted events
// (pageviews and track events) in the range, ordered by (occurredAt, event id):
// - sequential: the visitor reaches step k when some events e1 < e2 < ... < ek
//   in that order match steps 1..k (other events may come between);
// - strict: the same, with e1..ek consecutive in that order (no other counted
//   event of the visitor between two steps);
// - in both, ek occurred at most windowMs after e1 (the window starts at the
//   first step; no window: the whole range).
import {
  MAX_FUNNEL_STEPS,
  type AnalyticsEvent,
  type Funnel,
  type FunnelArgs,
  type FunnelMode,
  type FunnelStep,
} from "../shared.js";
import { pagePath, storedPropertyName } from "./events.js";
import { isCounted } from "./sessions.js";

const MAX_PATTERN_LENGTH = 500;
export const MAX_EVENT_NAME_LENGTH = 200;

export type FunnelSpec = { steps: FunnelStep[]; mode: FunnelMode; windowMs: number | null };

/** One event of a visitor, as a scan stores it: [occurredAt, event id, matched steps as bits]. */
export type FunnelRecord = [number, string, number];

/** Segments of a path or pattern: "/" is none, "/a/b/" is ["a", "b"]. */
const segmentsOf = (path: string) => path.split("/").filter((s) => s.length > 0);

/** Refuses a path pattern pathMatches cannot mean; `what` names it in the error ("A funnel path"). */
export function checkPattern(path: string, what = "A funnel path"): void {
  if (!path.startsWith("/") || path.length > MAX_PATTERN_LENGTH)
    throw new Error(`${what} must start with "/" and be at most ${MAX_PATTERN_LENGTH} characters`);
  for (const segment of segmentsOf(path))
    if (segment.includes("*") && segment !== "*" && segment !== "**")
      throw new Error(
        `${what} "${path}": "*" matches one whole segment and "**" any number of segments; neither can be part of a segment`,
      );
}

/** Validates a funnel's arguments into its canonical spec (props sorted, so equal funnels share a cache). */
export function funnelSpec(args: Pick<FunnelArgs, "steps" | "mode" | "windowMs">): FunnelSpec {
  if (args.steps.length < 2 || args.steps.length > MAX_FUNNEL_STEPS)
    throw new Error(`A funnel has 2 to ${MAX_FUNNEL_STEPS} steps`);
  const steps = args.steps.map((step): FunnelStep => {
    if ("path" in step) {
      checkPattern(step.path);
      return { path: step.path };
    }
    if (step.event.length === 0 || step.event.length > MAX_EVENT_NAME_LENGTH)
      throw new Error(`A funnel event name has 1 to ${MAX_EVENT_NAME_LENGTH} characters`);
    const props = Object.entries(step.props ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return props.length === 0
      ? { event: step.event }
      : { event: step.event, props: Object.fromEntries(props) };
  });
  const { windowMs } = args;
  if (windowMs !== undefined && !(Number.isFinite(windowMs) && windowMs > 0))
    throw new Error("windowMs must be a positive number of milliseconds");
  return { steps, mode: args.mode ?? "sequential", windowMs: windowMs ?? null };
}

/** Whether `path` (a page path, events.ts pagePath) matches `pattern`. */
export function pathMatches(pattern: string, path: string): boolean {
  const want = segmentsOf(pattern);
  const have = segmentsOf(path);
  // seen[i][j]: want[i..] was tried against have[j..] and failed; keeps "**" linear per pair.
  const failed = new Set<number>();
  const match = (i: number, j: number): boolean => {
    if (i === want.length) return j === have.length;
    const memo = i * (have.length + 1) + j;
    if (failed.has(memo)) return false;
    const ok =
      want[i] === "**"
        ? match(i + 1, j) || (j < have.length && match(i, j + 1))
        : j < have.length && (want[i] === "*" || want[i] === have[j]) && match(i + 1, j + 1);
    if (!ok) failed.add(memo);
    return ok;
  };
  return match(0, 0);
}

/**
 * Whether `event` (whose page path is `path`) matches a funnel step or a goal.
 * Props are named as the client sent them; events store some names escaped
 * (events.ts storedPropertyName), so the step's names are escaped the same way.
 */
export function stepMatches(step: FunnelStep, event: AnalyticsEvent, path: string): boolean {
  if ("path" in step) return event.type === "pageview" && pathMatches(step.path, path);
  if (event.type !== "track" || event.name !== step.event) return false;
  return Object.entries(step.props ?? {}).every(
    ([k, value]) => event.props?.[storedPropertyName(k)] === value,
  );
}

/** The event's record, or null when it cannot matter (identify events; in sequential mode, events matching no step). */
export function funnelRecord(spec: FunnelSpec, event: AnalyticsEvent): FunnelRecord | null {
  if (!isCounted(event)) return null;
  const path = pagePath(event.url);
  let mask = 0;
  for (const [i, step] of spec.steps.entries()) if (stepMatches(step, event, path)) mask |= 1 << i;
  if (mask === 0 && spec.mode === "sequential") return null;
  return [event.occurredAt, event.id, mask];
}

const byTimeThenId = (a: FunnelRecord, b: FunnelRecord) =>
  a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);

/** How many steps one visitor reached (0 to steps.length), from its records in any order. */
export function stepsReached(spec: FunnelSpec, records: FunnelRecord[]): number {
  const events = [...records].sort(byTimeThenId);
  const n = spec.steps.length;
  const window = spec.windowMs ?? Infinity;
  if (spec.mode === "strict") {
    let best = 0;
    for (let i = 0; i < events.length && best < n; i++) {
      let k = 0;
      while (
        k < n &&
        i + k < events.length &&
        (events[i + k]![2] & (1 << k)) !== 0 &&
        events[i + k]![0] - events[i]![0] <= window
      )
        k++;
      best = Math.max(best, k);
    }
    return best;
  }
  // latestStart[k]: the latest first-step time of a chain through steps 0..k so far. A later
  // start leaves the most window, so it is the only one worth keeping. Steps go high to low so
  // one event never serves two steps of one chain.
  const latestStart: (number | undefined)[] = new Array(n).fill(undefined);
  let best = 0;
  for (const [at, , mask] of events) {
    for (let k = n - 1; k >= 1; k--) {
      const start = latestStart[k - 1];
      if ((mask & (1 << k)) === 0 || start === undefined || at - start > window) continue;
      latestStart[k] = Math.max(latestStart[k] ?? -Infinity, start);
      best = Math.max(best, k + 1);
    }
    if ((mask & 1) !== 0) {
      latestStart[0] = at;
      best = Math.max(best, 1);
    }
  }
  return best;
}

/** Visitors per step, for one partition's visitors, added to `visitors`. */
export function addVisitors(
  spec: FunnelSpec,
  visitors: number[],
  byVisitor: Iterable<FunnelRecord[]>,
): number[] {
  const out = [...visitors];
  for (const records of byVisitor) {
    const reached = stepsReached(spec, records);
    for (let k = 0; k < reached; k++) out[k]!++;
  }
  return out;
}

const rate = (a: number, b: number) => (b === 0 ? null : a / b);

/** The answer's steps: visitors, conversion from the first step, drop-off from the step before. */
export function funnelSteps(visitors: number[]): Funnel["steps"] {
  return visitors.map((count, k) => {
    const before = k === 0 ? count : visitors[k - 1]!;
    return {
      visitors: count,
      conversionRate: rate(count, visitors[0]!),
      dropOff: before - count,
      dropOffRate: k === 0 ? (count === 0 ? null : 0) : rate(before - count, before),
    };
  });
}
