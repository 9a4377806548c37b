// Shared by the retention catch-up test (retention.test.ts, a reduced size) and
// its benchmark (bench/retention.bench.test.ts, 60 days x 5,000 events): a
// history of days ingested through the component's ingest, drained by the
// worker and compacted; every document of every table before and after; what
// retention must leave (an oracle that reads the settings and the clock, not
// the pruning code); and a scheduler driver that runs the maintenance chain one
// scheduled function at a time, measuring each transaction.
import { expect, vi } from "vitest";
import type { GenericId } from "convex/values";
import { api, internal } from "./_generated/api.js";
import type { Doc, Id, TableNames } from "./_generated/dataModel.js";
import type { MutationCtx } from "./_generated/server.js";
import type { AnalyticsEvent, SiteSettings } from "../shared.js";
import schema from "./schema.js";
import { hasWaitingBatch } from "./cursor.js";
import { SETTLE_MS } from "./ingest.js";
import {
  applyRetentionHandler,
  kickHandler,
  kickSitesHandler,
  pruneMinutesHandler,
  pruneRawHandler,
  pruneRollupsHandler,
  pruneSitesHandler,
} from "./maintenance.js";
import {
  DEFAULT_BOT_COUNT_RETENTION_DAYS,
  DEFAULT_DEAD_LETTER_RETENTION_DAYS,
  DEFAULT_RAW_RETENTION_DAYS,
  rollupRetentionDays,
} from "./retention.js";
import { DAY, HOUR, MINUTE, MINUTE_RETENTION_MS, bucketStart, utcDay } from "./time.js";
import type { initConvexTest } from "./test.setup.js";

type T = ReturnType<typeof initConvexTest>;
type AnyDoc = Record<string, unknown> & { _id: string; _creationTime: number };
export type Snapshot = Record<string, AnyDoc[]>;

export const TABLES = Object.keys(schema.tables) as TableNames[];

export type History = {
  slug: string;
  timezone: string;
  settings: SiteSettings;
  /** The first day's UTC midnight. */
  from: number;
  days: number;
  eventsPerDay: number;
  /** Hours of the day (UTC) the traffic comes in, a burst of batches each. */
  hours: readonly number[];
};

const EVENTS_PER_BATCH = 50;

/** The day's events: a visitor views ten pages, the last one a tracked signup with a prop. */
function dayEvents(h: History, day: number, hourIndex: number, count: number): AnalyticsEvent[] {
  const start = h.from + day * DAY + h.hours[hourIndex]! * HOUR;
  return Array.from({ length: count }, (_, i): AnalyticsEvent => {
    const visitor = Math.floor(i / 10);
    const event = {
      id: `${h.slug}-d${day}-h${hourIndex}-e${i}`,
      occurredAt: start + i * 1_000,
      url: `https://shop.example/p${(i + day) % 20}`,
      visitorId: `${h.slug}-v${day}-${hourIndex}-${visitor}`,
      referrer: i % 3 === 0 ? "https://news.example/a" : undefined,
    };
    return i % 10 === 9
      ? { ...event, type: "track", name: "signup", props: { plan: `p${day % 3}` } }
      : { ...event, type: "pageview" };
  });
}

/** Runs the site's loop until nothing waits (the clock past the settle window). */
async function drain(t: T, siteId: Id<"sites">) {
  vi.setSystemTime(Date.now() + SETTLE_MS + 1);
  while (await t.run(async (ctx) => await hasWaitingBatch(ctx, siteId, Infinity)))
    await t.mutation(internal.worker.drainSite, { siteId });
}

async function compact(t: T) {
  while ((await t.mutation(internal.compaction.compactStep, {})).work !== null);
}

/**
 * Ingests the histories day by day, in time order across sites, at the time
 * their events happen (so batches are created then), drains the worker after
 * each burst, compacts each day once its hours are closed, and adds each day's
 * bot count and, every third day, a dead letter, as ingest and the worker would.
 * Returns each site's id, in order.
 */
export async function ingestHistories(t: T, histories: History[]): Promise<Id<"sites">[]> {
  const first = Math.min(...histories.map((h) => h.from));
  const last = Math.max(...histories.map((h) => h.from + h.days * DAY));
  vi.setSystemTime(first - DAY);
  const ids: Id<"sites">[] = [];
  for (const h of histories) {
    const { siteId } = await t.mutation(api.sites.createSite, {
      slug: h.slug,
      name: h.slug,
      timezone: h.timezone,
      settings: h.settings,
    });
    ids.push(siteId as Id<"sites">);
  }
  for (let dayStart = first; dayStart < last; dayStart += DAY) {
    for (const [n, h] of histories.entries()) {
      const day = Math.round((dayStart - h.from) / DAY);
      if (day < 0 || day >= h.days) continue;
      await ingestDay(t, ids[n]!, h, day);
    }
    vi.setSystemTime(dayStart + DAY + 2 * HOUR);
    await compact(t);
  }
  return ids;
}

async function ingestDay(t: T, siteId: Id<"sites">, h: History, day: number) {
  const perBurst = Math.ceil(h.eventsPerDay / h.hours.length);
  for (let hourIndex = 0; hourIndex < h.hours.length; hourIndex++) {
    const events = dayEvents(h, day, hourIndex, perBurst);
    for (let b = 0; b * EVENTS_PER_BATCH < events.length; b++) {
      const batch = events.slice(b * EVENTS_PER_BATCH, (b + 1) * EVENTS_PER_BATCH);
      vi.setSystemTime(batch[batch.length - 1]!.occurredAt + 1_000);
      await t.mutation(api.ingest.ingestBatch, {
        siteId,
        batchId: `${h.slug}-d${day}-h${hourIndex}-b${b}`,
        events: batch,
      });
    }
    await drain(t, siteId);
  }
  const at = h.from + day * DAY + 20 * HOUR;
  vi.setSystemTime(at);
  await t.run(async (ctx) => {
    await ctx.db.insert("botCounts", { siteId, day: utcDay(at), shard: 0, count: 3 });
    if (day % 3 === 0)
      await ctx.db.insert("deadLetters", {
        siteId,
        batchId: `${h.slug}-dead-${day}`,
        events: dayEvents(h, day, 0, 1),
        attempts: 3,
        error: "poison",
      });
  });
}

/**
 * Every document of every table of the component (the aggregate's own tables are its
 * child's), a page at a time: a big history is more than one transaction may read.
 */
export async function snapshot(t: T): Promise<Snapshot> {
  const out: Snapshot = {};
  for (const table of TABLES) {
    const docs: AnyDoc[] = [];
    let cursor: string | null = null;
    for (;;) {
      const page: { page: AnyDoc[]; isDone: boolean; continueCursor: string } = await t.run(
        async (ctx) =>
          (await ctx.db.query(table).paginate({ cursor, numItems: 500 })) as unknown as {
            page: AnyDoc[];
            isDone: boolean;
            continueCursor: string;
          },
      );
      docs.push(...page.page);
      if (page.isDone) break;
      cursor = page.continueCursor;
    }
    out[table] = docs;
  }
  return out;
}

/**
 * What retention must leave of `before` at `now`: each document is kept or not
 * by its own age against its site's settings (defaults where unset); tables
 * retention does not prune are left as they are. `rollupHorizons` is what
 * retention adds, and `salts` keep only today's and yesterday's.
 */
export function expectedAfterRetention(before: Snapshot, now: number): Snapshot {
  const sites = new Map(
    (before.sites as unknown as Doc<"sites">[]).map((site) => [site._id as string, site]),
  );
  const site = (doc: AnyDoc) => sites.get(doc.siteId as string)!;
  const rawFrom = (doc: AnyDoc) =>
    now - (site(doc).settings.rawRetentionDays ?? DEFAULT_RAW_RETENTION_DAYS) * DAY;
  const keep: Partial<Record<TableNames, (doc: AnyDoc) => boolean>> = {
    batches: (doc) => doc._creationTime >= rawFrom(doc),
    sessions: (doc) => (doc.lastSeenAt as number) >= rawFrom(doc),
    botCounts: (doc) =>
      (doc.day as string) >=
      utcDay(
        now - (site(doc).settings.botCountRetentionDays ?? DEFAULT_BOT_COUNT_RETENTION_DAYS) * DAY,
      ),
    deadLetters: (doc) =>
      doc._creationTime >=
      now -
        (site(doc).settings.deadLetterRetentionDays ?? DEFAULT_DEAD_LETTER_RETENTION_DAYS) * DAY,
    rollups: (doc) => {
      const interval = doc.interval as "hour" | "day" | "month";
      const days = rollupRetentionDays(site(doc).settings)[interval];
      if (days === undefined) return true;
      const cutoff = bucketStart(interval, now - days * DAY, site(doc).timezone);
      return (doc.bucketStart as number) >= cutoff;
    },
    rollupDeltas: (doc) =>
      doc.interval !== "minute" || (doc.bucketStart as number) >= now - MINUTE_RETENTION_MS - HOUR,
    salts: (doc) => (doc.day as string) >= utcDay(now - DAY),
  };
  const out: Snapshot = {};
  for (const table of TABLES) {
    const rule = keep[table];
    out[table] = rule ? before[table]!.filter(rule) : before[table]!;
  }
  delete out.rollupHorizons;
  return out;
}

/** The after-snapshot equals the oracle's, table by table, document by document. */
export function expectRetained(after: Snapshot, expected: Snapshot): void {
  for (const table of TABLES) {
    if (table === "rollupHorizons") continue;
    const byId = (docs: AnyDoc[]) => [...docs].sort((a, b) => (a._id < b._id ? -1 : 1));
    const got = byId(after[table]!);
    const want = byId(expected[table]!);
    expect(got.length, `${table}: documents left`).toBe(want.length);
    expect(got, `${table}: the documents left, untouched`).toEqual(want);
  }
}

export type TransactionCost = {
  bytesRead: number;
  bytesWritten: number;
  documentsRead: number;
  documentsWritten: number;
};
export type MaintenanceRun = {
  /** Runs of each maintenance function, and the biggest of each metric over its runs. */
  functions: Record<string, { runs: number; worst: TransactionCost; deleted: number }>;
  runs: number;
};

type Handler = (ctx: MutationCtx, args: never) => Promise<unknown>;
const HANDLERS: Record<string, Handler> = {
  "maintenance:kick": kickHandler as Handler,
  "maintenance:kickSites": kickSitesHandler as Handler,
  "maintenance:applyRetention": applyRetentionHandler as Handler,
  "maintenance:pruneSites": pruneSitesHandler as Handler,
  "maintenance:pruneMinutes": pruneMinutesHandler as Handler,
  "maintenance:pruneRaw": pruneRawHandler as Handler,
  "maintenance:pruneRollups": pruneRollupsHandler as Handler,
};

/** `ctx` whose db counts the documents its handler deletes (reads and metrics are unchanged). */
function countingDeletes(ctx: MutationCtx, counter: { deleted: number }): MutationCtx {
  const db = new Proxy(ctx.db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function") return value;
      if (prop !== "delete") return value.bind(target);
      return (table: TableNames, id: Id<TableNames>) => {
        counter.deleted++;
        return target.delete(table, id);
      };
    },
  });
  return { ...ctx, db };
}

/**
 * Runs a maintenance cron's function (applyRetention unless told) and every
 * maintenance function it schedules, and theirs, until none is pending: each as
 * one transaction of its own (the pending job is cancelled and its handler run
 * in its place, as the scheduler would), with that transaction's metrics and
 * the documents it deleted.
 */
export async function runMaintenance(
  t: T,
  cron: "maintenance:applyRetention" | "maintenance:kick" = "maintenance:applyRetention",
): Promise<MaintenanceRun> {
  const result: MaintenanceRun = { functions: {}, runs: 0 };
  const run = async (
    name: string,
    jobId: GenericId<"_scheduled_functions"> | null,
    args: never,
  ) => {
    const handler = HANDLERS[name];
    if (!handler) throw new Error(`retention scheduled ${name}, which this driver does not know`);
    const { cost, deleted } = await t.run(async (ctx) => {
      const counter = { deleted: 0 };
      if (jobId) await ctx.scheduler.cancel(jobId);
      await handler(countingDeletes(ctx as unknown as MutationCtx, counter), args);
      const m = await ctx.meta.getTransactionMetrics();
      const cost: TransactionCost = {
        bytesRead: m.bytesRead.used,
        bytesWritten: m.bytesWritten.used,
        documentsRead: m.documentsRead.used,
        documentsWritten: m.documentsWritten.used,
      };
      return { cost, deleted: counter.deleted };
    });
    const f = (result.functions[name] ??= {
      runs: 0,
      deleted: 0,
      worst: { bytesRead: 0, bytesWritten: 0, documentsRead: 0, documentsWritten: 0 },
    });
    f.runs++;
    f.deleted += deleted;
    for (const k of Object.keys(cost) as (keyof TransactionCost)[])
      f.worst[k] = Math.max(f.worst[k], cost[k]);
    result.runs++;
  };
  await run(cron, null, {} as never);
  for (;;) {
    const pending = await t.run(async (ctx) =>
      (await ctx.db.system.query("_scheduled_functions").collect()).filter(
        (job) => job.state.kind === "pending",
      ),
    );
    // The worker's own scheduled runs (a site's loop) are not maintenance: left to the scheduler.
    const maintenance = pending.filter((job) => job.name.startsWith("maintenance"));
    if (maintenance.length === 0) break;
    for (const job of maintenance) await run(job.name, job._id, job.args[0] as never);
  }
  return result;
}

/** A few events in the last half hour, so that some minute rollups are young enough to stay. */
export async function ingestLive(t: T, siteId: Id<"sites">, slug: string) {
  const events: AnalyticsEvent[] = Array.from({ length: 5 }, (_, i) => ({
    id: `${slug}-live-${i}`,
    type: "pageview",
    occurredAt: Date.now() - 30 * MINUTE + i * MINUTE,
    url: "https://shop.example/live",
    visitorId: `${slug}-live`,
  }));
  await t.mutation(api.ingest.ingestBatch, { siteId, batchId: `${slug}-live`, events });
  await drain(t, siteId);
}
