// Every table says who writes it and who reads it; src/component/README.md
// has the read and write sets of the hot-path functions and why they never
// conflict.
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import {
  sessionFields,
  vBucketSpan,
  siteFields,
  vDeletionKind,
  vDeletionStatus,
  vDimension,
  vEvent,
  vExportKind,
  vExportReport,
  vExportStatus,
  vGoalMatch,
  vGoalRevenue,
  vRebuildStatus,
} from "../shared.js";

export default defineSchema({
  // Written by the admin API (createSite, updateSite, rotateWriteKey).
  // Read by ingest (one point read by key hash), the worker, compaction and reports.
  // The write key is stored only as its SHA-256 hash. `deletingSince` is set by
  // deleteSite's first pass: from then on ingest, the worker, compaction and every
  // reader treat the site as gone while the passes remove its documents.
  // `rollupGeneration` (absent: 0) names the site's live rollups (generations.ts); only
  // a rebuild's switch (rebuilds.ts) changes it, together with the timezone.
  sites: defineTable({
    ...siteFields,
    writeKeyHash: v.string(),
    deletingSince: v.optional(v.number()),
    rollupGeneration: v.optional(v.number()),
  })
    .index("by_slug", ["slug"])
    .index("by_writeKeyHash", ["writeKeyHash"]),

  // The ingest queue and the raw record in one table: ingest inserts one document
  // per batch, and nothing rewrites it (a batch whose processing throws gets its
  // attempt count patched; a dead-lettered one moves to deadLetters). The site's
  // worker loop reads the batches after its cursor (siteCursors) created at least
  // SETTLE_MS before it started, a range no running ingest can still insert into;
  // everything before the cursor is raw events, deleted by the retention cron.
  // GDPR deletion rewrites a counted batch without a person's events (never one
  // the worker has still to read); deleteSite deletes a site's. Ingest reads only its own (siteId, batchId) key here, for dedup. Ordered by
  // creation time, which Convex keeps increasing however the wall clock moves.
  batches: defineTable({
    siteId: v.id("sites"),
    batchId: v.string(),
    events: v.array(vEvent),
    /** Absent until a run's processing of the batch throws. */
    attempts: v.optional(v.number()),
    lastError: v.optional(v.string()),
  })
    .index("by_batch", ["siteId", "batchId"])
    // The worker's queue order: a site's batches by creation time, which by_batch does not give.
    // eslint-disable-next-line @convex-dev/no-duplicate-indexes
    .index("by_site", ["siteId"]),

  // One per site with a worker loop: whether a drain is scheduled. Ingest reads
  // it and schedules the loop only when it is idle; the loop writes it only when
  // it goes idle. So under load nothing writes it and ingests never conflict on it.
  siteLoops: defineTable({
    siteId: v.id("sites"),
    scheduled: v.boolean(),
  }).index("by_site", ["siteId"]),

  // How far a site's worker loop has got through `batches` (cursor.ts): every
  // batch created before `creationTime` is processed, and so are `ids`, those
  // created exactly at it; `retry` holds batches past it whose processing threw
  // fewer than MAX_ATTEMPTS times. A document of its own, not a field of
  // siteLoops, because the loop writes it every run and ingest must read nothing
  // the worker writes. Written by the loop (once per run); read by the loop, the
  // kick cron (stalled loops) and retention (never past the cursor).
  siteCursors: defineTable({
    siteId: v.id("sites"),
    creationTime: v.number(),
    ids: v.array(v.id("batches")),
    retry: v.array(v.object({ id: v.id("batches"), creationTime: v.number() })),
  }).index("by_site", ["siteId"]),

  // Batches the worker gave up on (it threw MAX_ATTEMPTS times, or its rollup
  // deltas are over the per-batch byte budget), with the reason, moved out of
  // `batches` so that they are not raw events. Written by the worker and by
  // admins (retryDeadLetter moves one back to `batches`, discardDeadLetter
  // deletes it); read by admins (listDeadLetters) and by ingest for dedup;
  // pruned by retention after deadLetterRetentionDays.
  deadLetters: defineTable({
    siteId: v.id("sites"),
    batchId: v.string(),
    events: v.array(vEvent),
    attempts: v.number(),
    error: v.string(),
  })
    .index("by_batch", ["siteId", "batchId"])
    // Retention's order: a site's dead letters by age, which by_batch does not give.
    // eslint-disable-next-line @convex-dev/no-duplicate-indexes
    .index("by_site", ["siteId"]),

  // One row per session. Written only by the site's worker loop, so never
  // contended; read by it, by retention and by listSessions (a query). `attribution` holds only the values that are not "(none)".
  // `generation` is the rollup generation the session's deltas went to: the live
  // worker reads its site's live generation's sessions, a rebuild writes its own.
  sessions: defineTable({ siteId: v.id("sites"), generation: v.number(), ...sessionFields })
    .index("by_visitor", ["siteId", "visitorId", "lastSeenAt"])
    .index("by_generation_visitor", ["siteId", "generation", "visitorId", "lastSeenAt"])
    .index("by_site_lastSeen", ["siteId", "lastSeenAt"])
    // listSessions, newest first: startedAt never moves once a session exists
    // (an earlier event joins without moving the start), so pages stay put.
    .index("by_site_started", ["siteId", "startedAt"])
    .index("by_visitor_started", ["siteId", "visitorId", "startedAt"]),

  // Rollup deltas not yet compacted, binary-encoded rows (rowCodec.ts) of every
  // dimension for one (site, interval, bucket). Level 0 is one worker run's
  // output (append-only: a run never rewrites what came before, so its bytes
  // written are its own deltas); the worker merges FAN_IN documents of a level
  // into one of the next, so a bucket holds a bounded number of documents.
  // Written by the site's worker loop; read by reports; exploded and deleted by
  // compaction. `interval` "minute": total, page and referrer rows keyed by
  // minute start (deltas.ts minuteKey), bucketed by the hour, for realtime
  // (never compacted, capped per minute when merged, pruned after 2 hours).
  rollupDeltas: defineTable({
    siteId: v.id("sites"),
    generation: v.number(),
    interval: v.union(v.literal("minute"), v.literal("hour")),
    bucketStart: v.number(),
    level: v.number(),
    rows: v.bytes(),
    rowCount: v.number(),
  })
    .index("by_bucket", ["siteId", "generation", "interval", "bucketStart", "level"])
    .index("by_age", ["interval", "bucketStart"]),

  // Compaction's intermediate step: the deltas of one (site, hour) split by
  // dimension, so each fold into canonical rows reads and writes one dimension's
  // rows only. `folded` says which canonical levels already hold the rows (the
  // hour's pages and the BTree, then also the day's): a fold step writes one
  // level's pages at a time while it has room, so a big site's hour, day and
  // month page sets are never all rewritten in one transaction. Reports count a
  // document only for the levels that do not hold it yet. Written and deleted
  // only by compaction; read by reports.
  rollupStaging: defineTable({
    siteId: v.id("sites"),
    generation: v.number(),
    bucketStart: v.number(),
    dimension: vDimension,
    rows: v.bytes(),
    rowCount: v.number(),
    folded: v.optional(v.union(v.literal("hour"), v.literal("day"))),
  })
    .index("by_dimension", ["siteId", "generation", "dimension", "bucketStart"])
    .index("by_age", ["bucketStart"]),

  // Canonical rollups: the binary-encoded rows of one (site, interval, bucket,
  // dimension), capped by key count and bytes (the tail folds into "(other)"),
  // in rank order, stored twice over (canonical.ts): counter pages (each row's
  // counters and visitor estimate, no sketch) and sketch pages (the full rows).
  // Reports rank on counter pages and read sketch pages only for the keys they
  // show. Part "hours" is a third copy of a closed day's small hour counter
  // pages in one document (hourGroups.ts), so a report cutting that day reads
  // one document, not one per hour. Written only by compaction (so never
  // contended); read by reports.
  rollups: defineTable({
    siteId: v.id("sites"),
    generation: v.number(),
    interval: v.union(v.literal("hour"), v.literal("day"), v.literal("month")),
    bucketStart: v.number(),
    dimension: vDimension,
    part: v.union(v.literal("counters"), v.literal("sketches"), v.literal("hours")),
    /** The rank of the page's first row. */
    firstRank: v.number(),
    rows: v.bytes(),
    rowCount: v.number(),
    /** On the first counter page: the firstRank of every sketch page, so a report finds a rank's page. */
    sketchPageStarts: v.optional(v.array(v.number())),
    /** A small bucket's one page, holding its full rows (sketches included) and no sketch pages. */
    inline: v.optional(v.boolean()),
    /** Part "hours" (hourGroups.ts): a closed local day's hour counter pages, copied as they are. */
    hours: v.optional(
      v.array(
        v.object({
          bucketStart: v.number(),
          rows: v.bytes(),
          rowCount: v.number(),
          sketchPageStarts: v.optional(v.array(v.number())),
          inline: v.optional(v.boolean()),
        }),
      ),
    ),
  }).index("by_part", [
    "siteId",
    "generation",
    "interval",
    "dimension",
    "part",
    "bucketStart",
    "firstRank",
  ]),

  // Rollup rebuilds (rebuilds.ts): one per rebuildRollups run, building
  // `generation` beside the site's live `fromGeneration` from the raw batches,
  // in creation order behind the live worker's cursor. `cursor` is the rebuild's
  // own place in `batches` (cursor.ts's shape; `retry` holds batches the live
  // worker is still retrying, counted once it has). Written by its own step
  // chain (one scheduled action at a time, so never contended) and by
  // rebuildRollups (start, resume) and the kick cron (restarting a chain that
  // died); read by getRebuild, and by compaction for the timezone of a
  // generation that is not live yet.
  rebuilds: defineTable({
    siteId: v.id("sites"),
    generation: v.number(),
    fromGeneration: v.number(),
    timezone: v.string(),
    status: vRebuildStatus,
    cursor: v.object({
      creationTime: v.number(),
      ids: v.array(v.id("batches")),
      retry: v.array(v.object({ id: v.id("batches"), creationTime: v.number() })),
    }),
    batches: v.number(),
    events: v.number(),
    steps: v.number(),
    /** Documents deleted after the switch (of the old generation) or after a cancel (of its own). */
    deleted: v.number(),
    /** Steps that threw in a row; past MAX_REBUILD_ATTEMPTS the rebuild stops as failed. */
    attempts: v.number(),
    error: v.optional(v.string()),
    /** The live step chain: a step of any other (one presumed dead, then restarted) stops. */
    chainId: v.string(),
    /** A step chain not heard from past this has died: rebuildRollups starts it again. */
    leaseUntil: v.number(),
    switchedAt: v.optional(v.number()),
    finishedAt: v.optional(v.number()),
    /**
     * A partial rebuild (partialRebuilds.ts): the range asked for, widened to whole
     * local months, and the months `kept` from the live generation. Its first
     * steps copy the kept months' canonical pages (and hourly totals) from
     * `fromGeneration`, in index order after `copyAfter` (the last page's index key
     * past the generation), until `copied`; the catch-up steps then write only
     * the deltas of the other buckets.
     */
    partial: v.optional(
      v.object({
        from: v.number(),
        to: v.optional(v.number()),
        kept: v.array(vBucketSpan),
        copyAfter: v.optional(v.array(v.union(v.string(), v.number()))),
        copied: v.boolean(),
        pages: v.number(),
      }),
    ),
  })
    .index("by_site", ["siteId", "generation"])
    // The kick cron's look-up of rebuilds whose step chain died.
    .index("by_status_lease", ["status", "leaseUntil"]),

  // Per site, where each canonical rollup level's kept buckets start: retention
  // (maintenance.pruneRollups) moves a level's horizon to its cutoff in the same
  // transaction as its first deletes, so a report, which refuses a range needing
  // a bucket before its level's horizon (retention.ts), never counts a bucket
  // half deleted or gone. Written by retention (at most once per pruning run);
  // read by reports.
  rollupHorizons: defineTable({
    siteId: v.id("sites"),
    hour: v.optional(v.number()),
    day: v.optional(v.number()),
    month: v.optional(v.number()),
  }).index("by_site", ["siteId"]),

  // A local day whose hour pages compaction groups (hourGroups.ts) once it has
  // closed (compaction folds hours an hour past their end, so it takes the work
  // once `dayEnd` is that far back), queued when one of its hours is folded. `dimension`:
  // where a step that ran out of room stopped. Written and read only by
  // compaction, which is single-flight, so never contended.
  hourGroupWork: defineTable({
    siteId: v.id("sites"),
    generation: v.number(),
    dayStart: v.number(),
    dayEnd: v.number(),
    dimension: v.optional(vDimension),
  })
    .index("by_day", ["siteId", "generation", "dayStart"])
    .index("by_end", ["dayEnd"]),

  // Single-flight compaction: one document, claimed by the compaction action for
  // its run. Written by compaction and by the kick cron (to restart a run that
  // died); read by both. Nothing on the ingest path reads it.
  compactionLock: defineTable({
    runId: v.string(),
    heartbeatAt: v.number(),
  }),

  // Today's and yesterday's cookieless salts (older ones are deleted, so old
  // visitor ids can never be recomputed). Written by ingest on the first request
  // of a UTC day and pruned by retention; read by ingest.
  salts: defineTable({ day: v.string(), salt: v.string() }).index("by_day", ["day"]),

  // Read API keys for the stats HTTP API, one site each, kept only as the
  // key's SHA-256 hash. Written by the admin API (create, revoke); read by the
  // stats route (one point read by hash) and the admin API.
  readKeys: defineTable({
    siteId: v.id("sites"),
    name: v.string(),
    prefix: v.string(),
    keyHash: v.string(),
  })
    .index("by_keyHash", ["keyHash"])
    .index("by_site", ["siteId"]),

  // CSV export jobs (exports.ts). Written by startExport and by the job's own
  // steps (one scheduled action chain per export, so never contended), by the
  // kick cron (resuming a step that died) and by expiry; read by getExport.
  // `chunks` are the CSV parts written so far, in order; `fileId` the whole file.
  exports: defineTable({
    siteId: v.id("sites"),
    kind: vExportKind,
    from: v.number(),
    to: v.number(),
    report: v.optional(vExportReport),
    expiresInMs: v.number(),
    status: vExportStatus,
    /** Where the next step starts (null: the beginning); "done" once every row is written. */
    cursor: v.union(v.string(), v.null()),
    chunks: v.array(v.id("_storage")),
    rowsWritten: v.number(),
    bytesWritten: v.number(),
    /** A step running past this has died: the kick cron starts it again. */
    leaseUntil: v.number(),
    /** Steps started again after dying or throwing; past MAX_EXPORT_ATTEMPTS the export fails. */
    attempts: v.number(),
    error: v.optional(v.string()),
    fileId: v.optional(v.id("_storage")),
    expiresAt: v.optional(v.number()),
  })
    .index("by_status_lease", ["status", "leaseUntil"])
    // deleteSite's order: a site's exports.
    .index("by_site", ["siteId"]),

  // Every file an export keeps (its recorded parts and its whole file), so the
  // retention cron's sweep (exports.ts sweepOrphanFiles) can tell a file a step
  // stored but died before recording from one still wanted. Written with the
  // export's own fields, in the same mutations; never contended.
  exportFiles: defineTable({
    exportId: v.id("exports"),
    fileId: v.id("_storage"),
  }).index("by_file", ["fileId"]),

  // Raw-event scans (scans.ts): one per (site, range, spec hash, data version),
  // holding the scan's progress and its answer so far. Written only by the
  // scan's own step chain (one mutation at a time; a second chain started by a
  // resume only repeats steps that each re-read this document, so nothing is
  // counted twice), by startFunnel, startFilterScan and the kick cron (insert;
  // resume a chain that died); read by getFunnel and scanned filtered reports;
  // deleted by a newer version's scan and by retention once expired.
  scans: defineTable({
    siteId: v.id("sites"),
    key: v.string(),
    /** Batches created up to this (and processed) are the raw events the scan reads (scans.ts dataVersion). */
    version: v.number(),
    kind: v.union(v.literal("funnel"), v.literal("filter")),
    /** The canonical JSON of what is computed (funnel steps, mode, window; filterMath.ts FilterSpec). */
    spec: v.string(),
    from: v.number(),
    to: v.number(),
    phase: v.union(v.literal("collect"), v.literal("reduce"), v.literal("done")),
    /** The last batch collected (its index key), or absent before the first. */
    cursor: v.optional(v.object({ creationTime: v.number(), id: v.id("batches") })),
    /** The next visitor partition to reduce. */
    partition: v.number(),
    scannedEvents: v.number(),
    /** The answer so far, as the kind's JSON (funnels: visitors per step). */
    result: v.string(),
    leaseUntil: v.number(),
    /** Restarts since a step last went through (scans.ts MAX_SCAN_RESTARTS). */
    restarts: v.optional(v.number()),
    expiresAt: v.number(),
    error: v.optional(v.string()),
    /**
     * The earliest batch creation time the collect phase reads: while the scan
     * collects, retention keeps the site's raw batches from here (scans.ts
     * rawHeldFrom). Absent on scans started before it was recorded.
     */
    batchesFrom: v.optional(v.number()),
  })
    .index("by_key", ["siteId", "key", "version"])
    // Retention's look-up of the earliest batch a collecting scan of a site still needs.
    .index("by_site_collecting", ["siteId", "phase", "batchesFrom"])
    // The kick cron's look-up of scans whose step chain died.
    .index("by_phase_lease", ["phase", "leaseUntil"])
    .index("by_expiry", ["expiresAt"]),

  // A scan's collected records, one document per (collect step, visitor
  // partition), so a reduce step reads one partition's visitors whole. Written
  // by collect steps, read and deleted by reduce steps (and by retention with
  // their scan).
  scanParts: defineTable({
    scanId: v.id("scans"),
    partition: v.number(),
    /** JSON: [visitorId, record][] in the kind's record format. */
    records: v.string(),
  }).index("by_partition", ["scanId", "partition"]),

  // Bots dropped at ingest, counted per site per UTC day in a few shards so
  // concurrent requests rarely conflict. Written by ingest; read by admins.
  botCounts: defineTable({
    siteId: v.id("sites"),
    day: v.string(),
    shard: v.number(),
    count: v.number(),
  }).index("by_site_day", ["siteId", "day", "shard"]),

  // Deletion jobs (deletions.ts): GDPR deletion of one person's data
  // (deleteVisitorData) and deletion of a whole site (deleteSite), each a chain of
  // bounded passes, one scheduled mutation at a time. Written only by the job's
  // own passes (and by the kick cron, which restarts a chain whose pass failed);
  // read by them and by getDeletion / getSiteDeletion. `subject` and `linked`
  // (whom to delete) are erased once the job is done: the record keeps counts only.
  deletions: defineTable({
    siteId: v.id("sites"),
    kind: vDeletionKind,
    status: vDeletionStatus,
    subject: v.optional(
      v.union(v.object({ visitorId: v.string() }), v.object({ userId: v.string() })),
    ),
    /** Visitor ids whose events and sessions go: the subject's own, or those a userId's events carry. */
    linked: v.array(v.string()),
    /** Visitor deletions cover the batches and dead letters received before this. */
    upTo: v.number(),
    phase: v.string(),
    /** Where the phase's scan resumes (its last index key, JSON), or null at its start. */
    position: v.union(v.string(), v.null()),
    deleted: v.record(v.string(), v.number()),
    passes: v.number(),
    /** Which chain of passes is the live one: a restart starts a new chain and the old one stops. */
    chain: v.number(),
    /** A running job whose next pass has not run by this has stopped: the kick cron restarts it. */
    leaseUntil: v.number(),
    /** Restarts since the last pass that ran; past MAX_DELETION_RESTARTS the job fails. */
    restarts: v.number(),
    /** The last pass stopped at a batch of the person's that the worker has not counted yet. */
    waiting: v.optional(v.boolean()),
    finishedAt: v.optional(v.number()),
    error: v.optional(v.string()),
  })
    .index("by_site", ["siteId", "kind", "status"])
    .index("by_status_lease", ["status", "leaseUntil"]),

  // Goals (goals.ts): written only by the admin API (createGoal, deleteGoal) and
  // deleteSite. Read by every worker run and rebuild step of the site (all of its
  // goals, at most MAX_GOALS_PER_SITE): that read orders each run with createGoal,
  // so a goal is counted live from the first run after it. Also read by getGoals,
  // the backfill steps and goal filters (filters.ts: each named goal, by id). Nothing else writes it, so the worker never conflicts
  // with the backfill (whose state is in goalBackfills).
  goals: defineTable({
    siteId: v.id("sites"),
    name: v.string(),
    match: vGoalMatch,
    revenue: v.optional(vGoalRevenue),
  }).index("by_site", ["siteId"]),

  // A goal's backfill of the batches the worker had counted before the goal
  // existed (goalBackfills.ts): one per goal, written by createGoal (insert), its
  // own chain of steps (one live chain: `chainId`), the kick cron (restart a
  // chain whose lease ran out), deleteGoal and deleteSite (delete). Read by the
  // steps, getGoals and listGoals (is it done?), rebuildRollups (none may run).
  goalBackfills: defineTable({
    siteId: v.id("sites"),
    goalId: v.id("goals"),
    /** The rollup generation it writes: the live one when the goal was created. */
    generation: v.number(),
    status: v.union(v.literal("running"), v.literal("done"), v.literal("failed")),
    /** The site's cursor when the goal was created: the batches it had counted are this backfill's. */
    boundary: v.object({
      creationTime: v.number(),
      ids: v.array(v.id("batches")),
      retry: v.array(v.object({ id: v.id("batches"), creationTime: v.number() })),
    }),
    /** The last batch counted (creation order), absent before the first. */
    position: v.optional(v.object({ creationTime: v.number(), id: v.id("batches") })),
    batches: v.number(),
    events: v.number(),
    chainId: v.string(),
    leaseUntil: v.number(),
    /** Restarts since a step last went through; past MAX_BACKFILL_RESTARTS it fails. */
    restarts: v.number(),
    error: v.optional(v.string()),
  })
    .index("by_goal", ["goalId"])
    .index("by_site", ["siteId", "status"])
    .index("by_status_lease", ["status", "leaseUntil"]),
});
