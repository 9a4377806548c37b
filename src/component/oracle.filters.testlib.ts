// The brute-force model of filtered reports, for filters.test.ts: the oracle's
// model (oracle.testlib.ts buildModel, every processed event and session) cut
// down to what the filters select, then answered by the unfiltered oracle. It
// shares only the pure key functions with the product, never filterMath.ts.
// Definitions (README "Filters"): session dimensions, entryPage and exitPage
// select sessions (all their events); page (pageviews only), hostname and event
// select events; a counted session is one started in the range that matches the
// session filters and whose entry (entry page, hostname; never an event name)
// matches the event filters. A goal filter selects the events that convert for
// the goal (its entry event, for a session), judged by the worker's own matcher
// (goalMath.ts conversionsOf): the goals' matching is goals.test.ts's to check.
import type { AnalyticsEvent, Filter } from "../shared.js";
import { SESSION_DIMENSIONS } from "../shared.js";
import { hostnameOf, pagePath } from "./events.js";
import { conversionsOf, type CountedGoal } from "./goalMath.js";
import {
  exitPageOf,
  type OracleEvent,
  type OracleModel,
  type OracleSession,
} from "./oracle.testlib.js";

const isSessionFilter = (f: Filter) =>
  (SESSION_DIMENSIONS as readonly string[]).includes(f.dimension) ||
  f.dimension === "entryPage" ||
  f.dimension === "exitPage";

function passes(f: Filter, key: string | null): boolean {
  if (key === null) return false;
  if (f.op === "is") return key === f.value;
  if (f.op === "isNot") return key !== f.value;
  return key.includes(f.value);
}

function sessionKeyOf(s: OracleSession, f: Filter): string {
  if (f.dimension === "entryPage") return s.entryPage;
  if (f.dimension === "exitPage") return exitPageOf(s);
  return s.attribution[f.dimension as (typeof SESSION_DIMENSIONS)[number]];
}

/** For a goal filter: "yes" when the event converts for the filter's goal, else "no". */
function goalKeyOf(event: AnalyticsEvent, f: Filter, goals: readonly CountedGoal[]): string {
  const goal = goals.filter((g) => g.id === f.value);
  if (goal.length !== 1) throw new Error(`The oracle was not given goal ${f.value}`);
  return conversionsOf(goal, event, pagePath(event.url)).length > 0 ? "yes" : "no";
}

/** The test on an event's key: a goal filter's `is` / `isNot` compares goalKeyOf's answer to "yes". */
const eventTest = (f: Filter): Filter => (f.dimension === "goal" ? { ...f, value: "yes" } : f);

function eventKeyOf(
  { event }: OracleEvent,
  f: Filter,
  goals: readonly CountedGoal[],
): string | null {
  if (f.dimension === "goal") return goalKeyOf(event, f, goals);
  if (f.dimension === "page") return event.type === "pageview" ? pagePath(event.url) : null;
  if (f.dimension === "hostname") return hostnameOf(event.url);
  return event.type === "pageview" ? "pageview" : event.name!; // event
}

function entryKeyOf(s: OracleSession, f: Filter, goals: readonly CountedGoal[]): string | null {
  if (f.dimension === "goal") return goalKeyOf(s.entry, f, goals);
  if (f.dimension === "page") return s.entryPage;
  if (f.dimension === "hostname") return s.hostname;
  return null; // an event filter matches no session's entry
}

/**
 * The model with only what `filters` (all of them) select: reports over it are the
 * filtered reports. `goals`: the site's goals, for goal filters.
 */
export function filterModel(
  model: OracleModel,
  filters: readonly Filter[],
  goals: readonly CountedGoal[] = [],
): OracleModel {
  const sessionFilters = filters.filter(isSessionFilter);
  const eventFilters = filters.filter((f) => !isSessionFilter(f));
  const sessionOk = (s: OracleSession) =>
    sessionFilters.every((f) => passes(f, sessionKeyOf(s, f)));
  return {
    events: model.events.filter(
      (e) =>
        sessionOk(e.session) &&
        eventFilters.every((f) => passes(eventTest(f), eventKeyOf(e, f, goals))),
    ),
    sessions: model.sessions.filter(
      (s) =>
        sessionOk(s) && eventFilters.every((f) => passes(eventTest(f), entryKeyOf(s, f, goals))),
    ),
  };
}

/** Every key a filter on `dimension` could be tested on in this model, for picking filter values. */
export function filterKeys(model: OracleModel, dimension: Filter["dimension"]): string[] {
  if (dimension === "goal") throw new Error("A goal filter's values are goal ids: pick one");
  const keys = new Set<string>();
  const probe = { dimension, op: "is", value: "" } as Filter;
  for (const s of model.sessions) {
    if (isSessionFilter(probe)) keys.add(sessionKeyOf(s, probe));
    else {
      const k = entryKeyOf(s, probe, []);
      if (k !== null) keys.add(k);
    }
  }
  if (!isSessionFilter(probe))
    for (const e of model.events) {
      const k = eventKeyOf(e, probe, []);
      if (k !== null) keys.add(k);
    }
  return [...keys].sort();
}
