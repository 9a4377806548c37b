// The brute-force model of filtered reports, for filters.test.ts: the oracle's
// model (oracle.testlib.ts buildModel, every processed event and session) cut
// down to what the filters select, then answered by the unfiltered oracle. It
// shares only the pure key functions with the product, never filterMath.ts.
// Definitions (README "Filters"): session dimensions, entryPage and exitPage
// select sessions (all their events); page (pageviews only), hostname and event
// select events; a counted session is one started in the range that matches the
// session filters and whose entry (entry page, hostname; never an event name)
// matches the event filters.
import type { Filter } from "../shared.js";
import { SESSION_DIMENSIONS } from "../shared.js";
import { hostnameOf, pagePath } from "./events.js";
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

function eventKeyOf({ event }: OracleEvent, f: Filter): string | null {
  if (f.dimension === "page") return event.type === "pageview" ? pagePath(event.url) : null;
  if (f.dimension === "hostname") return hostnameOf(event.url);
  return event.type === "pageview" ? "pageview" : event.name!; // event
}

function entryKeyOf(s: OracleSession, f: Filter): string | null {
  if (f.dimension === "page") return s.entryPage;
  if (f.dimension === "hostname") return s.hostname;
  return null; // an event filter matches no session's entry
}

/** The model with only what `filters` (all of them) select: reports over it are the filtered reports. */
export function filterModel(model: OracleModel, filters: readonly Filter[]): OracleModel {
  const sessionFilters = filters.filter(isSessionFilter);
  const eventFilters = filters.filter((f) => !isSessionFilter(f));
  const sessionOk = (s: OracleSession) =>
    sessionFilters.every((f) => passes(f, sessionKeyOf(s, f)));
  return {
    events: model.events.filter(
      (e) => sessionOk(e.session) && eventFilters.every((f) => passes(f, eventKeyOf(e, f))),
    ),
    sessions: model.sessions.filter(
      (s) => sessionOk(s) && eventFilters.every((f) => passes(f, entryKeyOf(s, f))),
    ),
  };
}

/** Every key a filter on `dimension` could be tested on in this model, for picking filter values. */
export function filterKeys(model: OracleModel, dimension: Filter["dimension"]): string[] {
  const keys = new Set<string>();
  const probe = { dimension, op: "is", value: "" } as Filter;
  for (const s of model.sessions) {
    if (isSessionFilter(probe)) keys.add(sessionKeyOf(s, probe));
    else {
      const k = entryKeyOf(s, probe);
      if (k !== null) keys.add(k);
    }
  }
  if (!isSessionFilter(probe))
    for (const e of model.events) {
      const k = eventKeyOf(e, probe);
      if (k !== null) keys.add(k);
    }
  return [...keys].sort();
}
