// Every table says who writes it and who reads it; src/component/README.md
// has the read and write sets of the hot-path functions and why they never
// conflict.
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import {
  sessionFields,
  siteFields,
  vDimension,
  vEvent,
  vExportKind,
  vExportReport,
  vExportStatus,
} from "../shared.js";

export default defineSchema({
  // Written by the admin API (createSite, updateSite, rotateWriteKey).
  // Read by ingest (one point read by key hash), the worker, compaction and reports.
  // The write key is stored only as its SHA-256 hash.
  sites: defineTable({ ...siteFields, writeKeyHash: v.string() })
    .index("by_slug", ["slug"])
    .index("by_writeKeyHash", ["writeKeyHash"]),

  // The ingest queue and the raw record in one table: ingest inserts one document
  // per batch, and nothing rewrites it (a batch whose processing throws gets its
  // attempt count patched; a dead-lettered one moves to deadLetters). The site's
  // worker loop reads the batches after its cursor (siteCursors) created at least
  // SETTLE_MS before it started, a range no running ingest can still insert into;
  // everything before the cursor is raw events, deleted by the retention cron.
  // Ingest reads only its own (siteId, batchId) key here, for dedup. Ordered by
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
  sessions: defineTable({ siteId: v.id("sites"), ...sessionFields })
    .index("by_visitor", ["siteId", "visitorId", "lastSeenAt"])
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
  // compaction. `interval` "minute": total rows keyed by minute start, bucketed
  // by the hour, for realtime (never compacted, pruned after 2 hours).
  rollupDeltas: defineTable({
    siteId: v.id("sites"),
    interval: v.union(v.literal("minute"), v.literal("hour")),
    bucketStart: v.number(),
    level: v.number(),
    rows: v.bytes(),
    rowCount: v.number(),
  })
    .index("by_bucket", ["siteId", "interval", "bucketStart", "level"])
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
    bucketStart: v.number(),
    dimension: vDimension,
    rows: v.bytes(),
    rowCount: v.number(),
    folded: v.optional(v.union(v.literal("hour"), v.literal("day"))),
  })
    .index("by_dimension", ["siteId", "dimension", "bucketStart"])
    .index("by_age", ["bucketStart"]),

  // Canonical rollups: the binary-encoded rows of one (site, interval, bucket,
  // dimension), capped by key count and bytes (the tail folds into "(other)"),
  // in rank order, stored twice over (canonical.ts): counter pages (each row's
  // counters and visitor estimate, no sketch) and sketch pages (the full rows).
  // Reports rank on counter pages and read sketch pages only for the keys they
  // show. Written only by compaction (so never contended); read by reports.
  rollups: defineTable({
    siteId: v.id("sites"),
    interval: v.union(v.literal("hour"), v.literal("day"), v.literal("month")),
    bucketStart: v.number(),
    dimension: vDimension,
    part: v.union(v.literal("counters"), v.literal("sketches")),
    /** The rank of the page's first row. */
    firstRank: v.number(),
    rows: v.bytes(),
    rowCount: v.number(),
    /** On the first counter page: the firstRank of every sketch page, so a report finds a rank's page. */
    sketchPageStarts: v.optional(v.array(v.number())),
    /** A small bucket's one page, holding its full rows (sketches included) and no sketch pages. */
    inline: v.optional(v.boolean()),
  }).index("by_part", ["siteId", "interval", "dimension", "part", "bucketStart", "firstRank"]),

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
  }).index("by_status_lease", ["status", "leaseUntil"]),

  // Bots dropped at ingest, counted per site per UTC day in a few shards so
  // concurrent requests rarely conflict. Written by ingest; read by admins.
  botCounts: defineTable({
    siteId: v.id("sites"),
    day: v.string(),
    shard: v.number(),
    count: v.number(),
  }).index("by_site_day", ["siteId", "day", "shard"]),
});
