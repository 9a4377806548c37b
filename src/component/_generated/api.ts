/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED.
 *
 * To regenerate, run `npx convex dev`.
 * @module
 */

import type * as admission from "../admission.js";
import type * as binary from "../binary.js";
import type * as bots from "../bots.js";
import type * as budget from "../budget.js";
import type * as canonical from "../canonical.js";
import type * as channels from "../channels.js";
import type * as clientAddress from "../clientAddress.js";
import type * as compaction from "../compaction.js";
import type * as cursor from "../cursor.js";
import type * as deadLetters from "../deadLetters.js";
import type * as deletions from "../deletions.js";
import type * as deltas from "../deltas.js";
import type * as events from "../events.js";
import type * as exportPages from "../exportPages.js";
import type * as exports from "../exports.js";
import type * as filterMath from "../filterMath.js";
import type * as filterReduce from "../filterReduce.js";
import type * as filters from "../filters.js";
import type * as folding from "../folding.js";
import type * as funnelMath from "../funnelMath.js";
import type * as funnels from "../funnels.js";
import type * as generationCleanup from "../generationCleanup.js";
import type * as generations from "../generations.js";
import type * as goalBackfills from "../goalBackfills.js";
import type * as goalMath from "../goalMath.js";
import type * as goals from "../goals.js";
import type * as health from "../health.js";
import type * as hourGroups from "../hourGroups.js";
import type * as ingest from "../ingest.js";
import type * as listings from "../listings.js";
import type * as maintenance from "../maintenance.js";
import type * as origins from "../origins.js";
import type * as partialRebuilds from "../partialRebuilds.js";
import type * as rangeRows from "../rangeRows.js";
import type * as readKeys from "../readKeys.js";
import type * as realtime from "../realtime.js";
import type * as rebuilds from "../rebuilds.js";
import type * as reports from "../reports.js";
import type * as retention from "../retention.js";
import type * as rowCodec from "../rowCodec.js";
import type * as rows from "../rows.js";
import type * as salts from "../salts.js";
import type * as scans from "../scans.js";
import type * as sessions from "../sessions.js";
import type * as siteDeletion from "../siteDeletion.js";
import type * as sites from "../sites.js";
import type * as sketch from "../sketch.js";
import type * as sketchCodec from "../sketchCodec.js";
import type * as statsApi from "../statsApi.js";
import type * as time from "../time.js";
import type * as totals from "../totals.js";
import type * as urlPrivacy from "../urlPrivacy.js";
import type * as userAgent from "../userAgent.js";
import type * as visitorDeletion from "../visitorDeletion.js";
import type * as worker from "../worker.js";

import type {
  ApiFromModules,
  FilterApi,
  FunctionReference,
} from "convex/server";
import { anyApi, componentsGeneric } from "convex/server";

const fullApi: ApiFromModules<{
  admission: typeof admission;
  binary: typeof binary;
  bots: typeof bots;
  budget: typeof budget;
  canonical: typeof canonical;
  channels: typeof channels;
  clientAddress: typeof clientAddress;
  compaction: typeof compaction;
  cursor: typeof cursor;
  deadLetters: typeof deadLetters;
  deletions: typeof deletions;
  deltas: typeof deltas;
  events: typeof events;
  exportPages: typeof exportPages;
  exports: typeof exports;
  filterMath: typeof filterMath;
  filterReduce: typeof filterReduce;
  filters: typeof filters;
  folding: typeof folding;
  funnelMath: typeof funnelMath;
  funnels: typeof funnels;
  generationCleanup: typeof generationCleanup;
  generations: typeof generations;
  goalBackfills: typeof goalBackfills;
  goalMath: typeof goalMath;
  goals: typeof goals;
  health: typeof health;
  hourGroups: typeof hourGroups;
  ingest: typeof ingest;
  listings: typeof listings;
  maintenance: typeof maintenance;
  origins: typeof origins;
  partialRebuilds: typeof partialRebuilds;
  rangeRows: typeof rangeRows;
  readKeys: typeof readKeys;
  realtime: typeof realtime;
  rebuilds: typeof rebuilds;
  reports: typeof reports;
  retention: typeof retention;
  rowCodec: typeof rowCodec;
  rows: typeof rows;
  salts: typeof salts;
  scans: typeof scans;
  sessions: typeof sessions;
  siteDeletion: typeof siteDeletion;
  sites: typeof sites;
  sketch: typeof sketch;
  sketchCodec: typeof sketchCodec;
  statsApi: typeof statsApi;
  time: typeof time;
  totals: typeof totals;
  urlPrivacy: typeof urlPrivacy;
  userAgent: typeof userAgent;
  visitorDeletion: typeof visitorDeletion;
  worker: typeof worker;
}> = anyApi as any;

/**
 * A utility for referencing Convex functions in your app's public API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = api.myModule.myFunction;
 * ```
 */
export const api: FilterApi<
  typeof fullApi,
  FunctionReference<any, "public">
> = anyApi as any;

/**
 * A utility for referencing Convex functions in your app's internal API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = internal.myModule.myFunction;
 * ```
 */
export const internal: FilterApi<
  typeof fullApi,
  FunctionReference<any, "internal">
> = anyApi as any;

export const components = componentsGeneric() as unknown as {
  hourlyTotals: import("@convex-dev/aggregate/_generated/component.js").ComponentApi<"hourlyTotals">;
  rateLimiter: import("@convex-dev/rate-limiter/_generated/component.js").ComponentApi<"rateLimiter">;
};
