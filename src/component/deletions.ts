// Deletion jobs: GDPR deletion of one person's data on a site (deleteVisitorData,
// visitorDeletion.ts) and deletion of a whole site (deleteSite, siteDeletion.ts).
// A job is a list of phases, each deleting or rewriting one table's documents.
// Each pass is one mutation that works through the phases until its byte budget
// is used (budget.ts), saves where it got to in the job document and schedules
// the next pass, all in one transaction: a pass that fails commits nothing, and
// the job resumes where the last committed pass left it. Only one chain of passes
// is live (`chain`); the kick cron, or asking for the same deletion again,
// starts a new chain when a pass has not run in time, and the old chain stops.
import { v } from "convex/values";
import { internalMutation, mutation, query, type MutationCtx } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import {
  vDeleteVisitorDataArgs,
  vDeletionIdArgs,
  vDeletionProgress,
  vSiteIdArgs,
  type DeletionProgress,
} from "../shared.js";
import { hasRoom } from "./budget.js";
import { siteOrThrow } from "./sites.js";
import { SITE_PHASES } from "./siteDeletion.js";
import { firstVisitorPhase, visitorPhases } from "./visitorDeletion.js";
import { MINUTE } from "./time.js";

/** How long a pass waits for the site's worker to count a batch that holds the person's events. */
export const WORKER_WAIT_MS = 10_000;
/** A running job whose scheduled pass has not run this long after its time has stopped. */
export const DELETION_LEASE_MS = 2 * MINUTE;
/** Restarts without a pass that commits before the job fails (its passes keep throwing). */
export const MAX_DELETION_RESTARTS = 5;

/** What the passes of a job carry from one to the next, beyond the job document. */
export type PassState = {
  job: Doc<"deletions">;
  /** Where the current phase resumes; phases set it as they go. */
  position: string | null;
  linked: string[];
  deleted: Record<string, number>;
};
/** "more": the pass is out of room; "wait": for the worker; `failed`: the job cannot go on. */
export type PhaseOutcome = "complete" | "more" | "wait" | { failed: string };
export type Phase = {
  name: string;
  run: (ctx: MutationCtx, state: PassState) => Promise<PhaseOutcome>;
};

export function count(state: PassState, what: string, n = 1): void {
  if (n > 0) state.deleted[what] = (state.deleted[what] ?? 0) + n;
}

function phasesOf(job: Doc<"deletions">): Phase[] {
  return job.kind === "site" ? SITE_PHASES : visitorPhases(job);
}

function toProgress(job: Doc<"deletions">): DeletionProgress {
  return {
    deletionId: job._id,
    siteId: job.siteId,
    kind: job.kind,
    status: job.status,
    phase: job.phase,
    waiting: job.waiting ?? false,
    deleted: job.deleted,
    passes: job.passes,
    startedAt: job._creationTime,
    finishedAt: job.finishedAt ?? null,
    error: job.error ?? null,
  };
}

/** One pass: phases in order while the transaction has room; then the job is saved and the next pass scheduled. */
async function runPass(ctx: MutationCtx, job: Doc<"deletions">): Promise<Doc<"deletions">> {
  const phases = phasesOf(job);
  const state: PassState = {
    job,
    position: job.position,
    linked: [...job.linked],
    deleted: { ...job.deleted },
  };
  let index = phases.findIndex((p) => p.name === job.phase);
  if (index === -1) throw new Error(`Deletion ${job._id} is at an unknown phase "${job.phase}"`);
  let outcome: PhaseOutcome = "more";
  while (index < phases.length) {
    outcome = await phases[index]!.run(ctx, state);
    if (outcome !== "complete") break;
    index++;
    state.position = null;
    if (index < phases.length && !(await hasRoom(ctx))) {
      outcome = "more";
      break;
    }
  }
  const now = Date.now();
  const saved = { deleted: state.deleted, passes: job.passes + 1, restarts: 0 };
  if (index >= phases.length || typeof outcome === "object") {
    // The record keeps counts only: whom it was about goes with their data.
    await ctx.db.patch("deletions", job._id, {
      ...saved,
      status: index >= phases.length ? "done" : "failed",
      ...(typeof outcome === "object" ? { error: outcome.failed } : {}),
      phase: index >= phases.length ? "done" : phases[index]!.name,
      position: null,
      subject: undefined,
      linked: [],
      waiting: false,
      finishedAt: now,
    });
  } else {
    const delay = outcome === "wait" ? WORKER_WAIT_MS : 0;
    await ctx.db.patch("deletions", job._id, {
      ...saved,
      phase: phases[index]!.name,
      position: state.position,
      linked: state.linked,
      waiting: outcome === "wait",
      leaseUntil: now + delay + DELETION_LEASE_MS,
    });
    await ctx.scheduler.runAfter(delay, internal.deletions.deletionPass, {
      deletionId: job._id,
      chain: job.chain,
    });
  }
  return (await ctx.db.get("deletions", job._id))!;
}

export async function deletionPassHandler(
  ctx: MutationCtx,
  { deletionId, chain }: { deletionId: Id<"deletions">; chain: number },
): Promise<null> {
  const job = await ctx.db.get("deletions", deletionId);
  // Gone (its site was deleted), finished, or superseded by a restarted chain.
  if (!job || job.status !== "running" || job.chain !== chain) return null;
  await runPass(ctx, job);
  return null;
}

export const deletionPass = internalMutation({
  args: { deletionId: v.id("deletions"), chain: v.number() },
  returns: v.null(),
  handler: deletionPassHandler,
});

/** Starts a new chain of passes for a job whose pass stopped, or fails it once restarts run out. */
async function restart(ctx: MutationCtx, job: Doc<"deletions">, now: number): Promise<void> {
  if (job.restarts >= MAX_DELETION_RESTARTS) {
    await ctx.db.patch("deletions", job._id, {
      status: "failed",
      error: `Its passes stopped ${job.restarts} times in a row without progress: see the deployment's logs, then ask again`,
      subject: undefined,
      linked: [],
      finishedAt: now,
    });
    return;
  }
  const chain = job.chain + 1;
  await ctx.db.patch("deletions", job._id, {
    chain,
    restarts: job.restarts + 1,
    leaseUntil: now + DELETION_LEASE_MS,
  });
  await ctx.scheduler.runAfter(0, internal.deletions.deletionPass, { deletionId: job._id, chain });
}

/** For the kick cron: restarts running jobs whose pass has not run in time. A page of 20 per kick. */
export async function resumeStalledDeletions(ctx: MutationCtx, now: number): Promise<number> {
  const stalled = await ctx.db
    .query("deletions")
    .withIndex("by_status_lease", (q) => q.eq("status", "running").lt("leaseUntil", now))
    .take(20);
  for (const job of stalled) await restart(ctx, job, now);
  return stalled.length;
}

/** Asked again for a deletion that is under way: its progress, and a restart if its passes stopped. */
async function progressOfExisting(
  ctx: MutationCtx,
  job: Doc<"deletions">,
): Promise<DeletionProgress> {
  const now = Date.now();
  if (job.status === "running" && job.leaseUntil < now) await restart(ctx, job, now);
  return toProgress((await ctx.db.get("deletions", job._id))!);
}

/** Creates a job and runs its first pass at once: a small deletion is done when this returns. */
async function startJob(
  ctx: MutationCtx,
  fields: Pick<Doc<"deletions">, "siteId" | "kind" | "subject" | "linked" | "phase">,
): Promise<DeletionProgress> {
  const now = Date.now();
  const id = await ctx.db.insert("deletions", {
    ...fields,
    status: "running",
    upTo: now,
    position: null,
    deleted: {},
    passes: 0,
    chain: 0,
    restarts: 0,
    leaseUntil: now + DELETION_LEASE_MS,
  });
  return toProgress(await runPass(ctx, (await ctx.db.get("deletions", id))!));
}

const MAX_SUBJECT_LENGTH = 256;
type Subject = NonNullable<Doc<"deletions">["subject"]>;

/**
 * Deletes one person's raw events (in batches and dead letters), sessions and
 * identity links on a site, received before now, in bounded passes. Asking again
 * while it runs returns the same job.
 */
export const deleteVisitorData = mutation({
  args: vDeleteVisitorDataArgs,
  returns: vDeletionProgress,
  handler: async (ctx, args) => {
    const site = await siteOrThrow(ctx, args.siteId);
    if ((args.visitorId === undefined) === (args.userId === undefined))
      throw new Error("Give exactly one of visitorId and userId");
    const subject: Subject =
      args.visitorId !== undefined ? { visitorId: args.visitorId } : { userId: args.userId! };
    const value = args.visitorId ?? args.userId!;
    if (value.length === 0 || value.length > MAX_SUBJECT_LENGTH)
      throw new Error(`visitorId or userId must be 1-${MAX_SUBJECT_LENGTH} characters`);
    const running = await ctx.db
      .query("deletions")
      .withIndex("by_site", (q) =>
        q.eq("siteId", site._id).eq("kind", "visitor").eq("status", "running"),
      )
      .take(100);
    const same = running.find((job) => JSON.stringify(job.subject) === JSON.stringify(subject));
    if (same) return await progressOfExisting(ctx, same);
    return await startJob(ctx, {
      siteId: site._id,
      kind: "visitor",
      subject,
      linked: "visitorId" in subject ? [subject.visitorId] : [],
      phase: firstVisitorPhase(subject),
    });
  },
});

/**
 * Deletes a site and everything of it, in bounded passes. The first pass (this
 * call) marks the site as being deleted, so it takes no more events and no report
 * serves it, and removes its read keys. Idempotent: asking again returns the
 * job's progress, and restarts its passes if they stopped.
 */
export const deleteSite = mutation({
  args: vSiteIdArgs,
  returns: vDeletionProgress,
  handler: async (ctx, { siteId }) => {
    const id = ctx.db.normalizeId("sites", siteId);
    if (!id) throw new Error(`Unknown site "${siteId}"`);
    const existing = await ctx.db
      .query("deletions")
      .withIndex("by_site", (q) => q.eq("siteId", id).eq("kind", "site"))
      .order("desc")
      .first();
    if (existing && existing.status !== "failed") return await progressOfExisting(ctx, existing);
    const site = await ctx.db.get("sites", id);
    if (!site) throw new Error(`Unknown site "${siteId}"`);
    if (site.deletingSince === undefined)
      await ctx.db.patch("sites", id, { deletingSince: Date.now(), enabled: false });
    return await startJob(ctx, {
      siteId: id,
      kind: "site",
      linked: [],
      phase: SITE_PHASES[0]!.name,
    });
  },
});

/** A deletion job's progress. Readable after its site is gone. */
export const getDeletion = query({
  args: vDeletionIdArgs,
  returns: vDeletionProgress,
  handler: async (ctx, { siteId, deletionId }) => {
    const id = ctx.db.normalizeId("deletions", deletionId);
    const job = id && (await ctx.db.get("deletions", id));
    // Another site's job is as unknown as a missing one.
    if (!job || job.siteId !== siteId) throw new Error(`Unknown deletion "${deletionId}"`);
    return toProgress(job);
  },
});

/** Whether a GDPR deletion is under way on the site (retryDeadLetter waits for it to finish). */
export async function visitorDeletionRunning(
  ctx: Pick<MutationCtx, "db">,
  siteId: Id<"sites">,
): Promise<boolean> {
  const running = await ctx.db
    .query("deletions")
    .withIndex("by_site", (q) =>
      q.eq("siteId", siteId).eq("kind", "visitor").eq("status", "running"),
    )
    .first();
  return running !== null;
}
