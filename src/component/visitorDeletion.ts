// GDPR deletion of one person's data on one site (deleteVisitorData, run by
// deletions.ts). A person is a visitor id, or a user id: then their events (those
// carrying the userId) and every event and session of the visitor ids those
// events carry, which are the identity links (identify() ties a visitor id to a
// user id only in events). The phases:
//
// - link (userId only): a scan of the site's batches and dead letters for the
//   visitor ids the user's events carry;
// - batches: a scan of the site's batches received before the request, each
//   holding the person's events rewritten without them (deleted once empty).
//   Only batches the worker has counted are rewritten: one after the site's
//   cursor, or waiting for a retry, is what the worker is about to read, so the
//   pass stops there and waits for the worker (every event is counted exactly
//   once, and rollups keep those counts: they hold no personal data). Batches
//   have no index by visitor: this is a bounded, resumable scan of the whole site;
// - deadLetters: the same scan of the site's dead letters (no worker reads
//   them; retryDeadLetter waits while a deletion runs);
// - sessions: each linked visitor id's sessions, by index. After the batches,
//   so that no batch of the person's is left for the worker to start one from;
// - scans: the site's cached raw-event scans, whole (they were read from the
//   batches before they were rewritten).
import { streamQuery } from "convex-helpers/server/pagination";
import type { MutationCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import schema from "./schema.js";
import type { AnalyticsEvent } from "../shared.js";
import { DEDUP_WINDOW_MS } from "./admission.js";
import { PRUNE_READ_BYTES, hasRoom, takePrunable } from "./budget.js";
import { SiteCursor } from "./cursor.js";
import { count, type PassState, type Phase, type PhaseOutcome } from "./deletions.js";
import { DAY } from "./time.js";

/** Visitor ids one user id may be linked to; past it the deletion fails rather than stop short. */
export const MAX_LINKED_VISITORS = 1_000;
/**
 * An emptied batch or dead letter younger than this stays, with no events, as its
 * batch id's dedup record (ingest refuses a batch id it finds in either table):
 * deleting it would let a resent batch store the person's events again.
 * Retention deletes it with the other old batches.
 */
export const DEDUP_RECORD_MS = DEDUP_WINDOW_MS + DAY;

type Subject = NonNullable<Doc<"deletions">["subject"]>;
type Stored = Doc<"batches"> | Doc<"deadLetters">;

export function firstVisitorPhase(subject: Subject): string {
  return "userId" in subject ? "linkBatches" : "batches";
}

/** The person a job deletes: their visitor ids, grown as their user id's events name more. */
class Person {
  private readonly linked: Set<string>;
  constructor(private readonly state: PassState) {
    this.linked = new Set(state.linked);
  }
  private get userId(): string | undefined {
    const { subject } = this.state.job;
    return subject && "userId" in subject ? subject.userId : undefined;
  }
  /** Links the visitor id of an event of the user's; false once there are too many. */
  link(event: AnalyticsEvent): boolean {
    if (this.userId === undefined || event.userId !== this.userId) return true;
    if (!this.linked.has(event.visitorId)) {
      this.linked.add(event.visitorId);
      this.state.linked.push(event.visitorId);
    }
    return this.linked.size <= MAX_LINKED_VISITORS;
  }
  owns(event: AnalyticsEvent): boolean {
    return (
      this.linked.has(event.visitorId) ||
      (this.userId !== undefined && event.userId === this.userId)
    );
  }
}

const tooManyLinks = () => ({
  failed: `The user id is linked to over ${MAX_LINKED_VISITORS} visitor ids; nothing past the link scan was deleted`,
});

/** A site's batches (received before `upTo`) or dead letters, in creation order, after `position`. */
async function* stored(
  ctx: MutationCtx,
  table: "batches" | "deadLetters",
  siteId: Id<"sites">,
  position: string | null,
  upTo: number | null,
): AsyncGenerator<Stored> {
  const after = position === null ? null : (JSON.parse(position) as [number, string]);
  const stream = streamQuery(ctx, {
    table,
    index: "by_site",
    schema,
    order: "asc",
    startIndexKey: after ? [siteId, ...after] : [siteId],
    startInclusive: after === null,
    endIndexKey: upTo === null ? [siteId] : [siteId, upTo],
    endInclusive: upTo === null,
  });
  for await (const [doc] of stream) yield doc as Stored;
}

type Handled = "next" | "wait" | { failed: string };

/**
 * Walks a table's documents from the phase's position, each handled in order,
 * while the pass has room: checked before every document, since a rewrite reads
 * its batch again and writes it (up to 256 KiB each way).
 */
async function scanPhase(
  ctx: MutationCtx,
  state: PassState,
  table: "batches" | "deadLetters",
  upTo: number | null,
  handle: (doc: Stored) => Promise<Handled>,
): Promise<PhaseOutcome> {
  let handled = 0;
  for await (const doc of stored(ctx, table, state.job.siteId, state.position, upTo)) {
    if (handled > 0 && !(await hasRoom(ctx))) return "more";
    const outcome = await handle(doc);
    if (outcome !== "next") return outcome;
    state.position = JSON.stringify([doc._creationTime, doc._id]);
    handled++;
  }
  return "complete";
}

function linkPhase(table: "batches" | "deadLetters"): Phase {
  return {
    name: table === "batches" ? "linkBatches" : "linkDeadLetters",
    run: (ctx, state) => {
      const person = new Person(state);
      const upTo = table === "batches" ? state.job.upTo : null;
      return scanPhase(ctx, state, table, upTo, async (doc) =>
        doc.events.every((event) => person.link(event)) ? "next" : tooManyLinks(),
      );
    },
  };
}

/** Writes `doc` back without the person's events; an emptied one is deleted, unless it is still a dedup record. */
async function rewrite(
  ctx: MutationCtx,
  state: PassState,
  table: "batches" | "deadLetters",
  doc: Stored,
  kept: AnalyticsEvent[],
): Promise<void> {
  count(state, "events", doc.events.length - kept.length);
  if (kept.length === 0 && doc._creationTime < Date.now() - DEDUP_RECORD_MS) {
    await ctx.db.delete(table, doc._id as Id<typeof table>);
    count(state, table);
  } else {
    await ctx.db.patch(table, doc._id as Id<typeof table>, { events: kept });
    count(state, `${table}Rewritten`);
  }
}

const batchesPhase: Phase = {
  name: "batches",
  run: (ctx, state) => {
    const person = new Person(state);
    let cursor: SiteCursor | null = null;
    return scanPhase(ctx, state, "batches", state.job.upTo, async (doc) => {
      if (!doc.events.every((event) => person.link(event))) return tooManyLinks();
      const kept = doc.events.filter((event) => !person.owns(event));
      if (kept.length === doc.events.length) return "next";
      // Read only when a batch of the person's is met: the worker writes it every run.
      cursor ??= await SiteCursor.load(ctx, state.job.siteId);
      if (!cursor.hasCounted(doc as Doc<"batches">)) return "wait";
      await rewrite(ctx, state, "batches", doc, kept);
      return "next";
    });
  },
};

const deadLettersPhase: Phase = {
  name: "deadLetters",
  run: (ctx, state) => {
    const person = new Person(state);
    return scanPhase(ctx, state, "deadLetters", null, async (doc) => {
      if (!doc.events.every((event) => person.link(event))) return tooManyLinks();
      const kept = doc.events.filter((event) => !person.owns(event));
      if (kept.length < doc.events.length) await rewrite(ctx, state, "deadLetters", doc, kept);
      return "next";
    });
  },
};

const sessionsPhase: Phase = {
  name: "sessions",
  run: async (ctx, state) => {
    let i = state.position === null ? 0 : Number(state.position);
    while (i < state.linked.length) {
      const visitorId = state.linked[i]!;
      const page = await takePrunable(
        ctx,
        ctx.db
          .query("sessions")
          .withIndex("by_visitor", (q) =>
            q.eq("siteId", state.job.siteId).eq("visitorId", visitorId),
          ),
        PRUNE_READ_BYTES / 2,
      );
      for (const doc of page) await ctx.db.delete("sessions", doc._id);
      count(state, "sessions", page.length);
      if (page.length === 0) i++;
      if (!(await hasRoom(ctx))) {
        state.position = String(i);
        return "more";
      }
    }
    return "complete";
  },
};

/**
 * The site's raw-event scans (funnels, filters: scans.ts), whole. A scan still
 * collecting holds the person's events as visitor records in its parts, and a
 * finished one counts them in its cached answer; both were read from batches
 * before they were rewritten. Deleted last, so a scan started after this reads
 * only rewritten batches; a dashboard's next view starts its scan again.
 */
const scansPhase: Phase = {
  name: "scans",
  run: async (ctx, state) => {
    for (;;) {
      const scan = await ctx.db
        .query("scans")
        .withIndex("by_key", (q) => q.eq("siteId", state.job.siteId))
        .first();
      if (!scan) return "complete";
      const parts = await takePrunable(
        ctx,
        ctx.db.query("scanParts").withIndex("by_partition", (q) => q.eq("scanId", scan._id)),
        PRUNE_READ_BYTES / 2,
      );
      for (const part of parts) await ctx.db.delete("scanParts", part._id);
      count(state, "scanParts", parts.length);
      if (parts.length === 0) {
        await ctx.db.delete("scans", scan._id);
        count(state, "scans");
      }
      if (!(await hasRoom(ctx))) return "more";
    }
  },
};

export function visitorPhases(job: Doc<"deletions">): Phase[] {
  const common = [batchesPhase, deadLettersPhase, sessionsPhase, scansPhase];
  return job.subject && "userId" in job.subject
    ? [linkPhase("batches"), linkPhase("deadLetters"), ...common]
    : common;
}
