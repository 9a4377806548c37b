// Every table says who writes it and who reads it; src/component/README.md
// has the read and write sets of the hot-path functions and why they never
// conflict.
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { siteFields, vDimension, vEvent } from "../shared.js";

export default defineSchema({
  // Written by the admin API (createSite, updateSite, rotateWriteKey).
  // Read by ingest (one point read by key hash), the worker, compaction and reports.
  // The write key is stored only as its SHA-256 hash.
  sites: defineTable({ ...siteFields, writeKeyHash: v.string() })
    .index("by_slug", ["slug"])
    .index("by_writeKeyHash", ["writeKeyHash"]),

  // The ingest queue. Written by ingest (one insert per batch); read and deleted
  // by the site's worker loop, which only reads batches received more than
  // SETTLE_MS before it started, a range no running ingest can still write into.
  // Ingest reads only its own (siteId, batchId) key here, for dedup.
  pendingBatches: defineTable({
    siteId: v.id("sites"),
    batchId: v.string(),
    receivedAt: v.number(),
    events: v.array(vEvent),
    attempts: v.number(),
    lastError: v.optional(v.string()),
  })
    .index("by_batch", ["siteId", "batchId"])
    .index("by_site_received", ["siteId", "receivedAt"]),

  // One per site with a worker loop: whether a drain is scheduled. Ingest reads
  // it and schedules the loop only when it is idle; the loop writes it only when
  // it goes idle. So under load nothing writes it and ingests never conflict on it.
  siteLoops: defineTable({
    siteId: v.id("sites"),
    scheduled: v.boolean(),
  }).index("by_site", ["siteId"]),

  // Raw events, one document per processed batch (packing keeps writes per event
  // low). Written by the worker; read by ingest for dedup of its own batchId only,
  // by raw listings, and deleted by the retention cron.
  rawBatches: defineTable({
    siteId: v.id("sites"),
    batchId: v.string(),
    receivedAt: v.number(),
    events: v.array(vEvent),
  })
    .index("by_batch", ["siteId", "batchId"])
    .index("by_site_received", ["siteId", "receivedAt"]),

  // Batches the worker gave up on (it threw MAX_ATTEMPTS times, or its rollup
  // deltas are over the per-batch byte budget), with the reason. Written by the
  // worker; read by admins (listDeadLetters) and by ingest for dedup.
  deadLetters: defineTable({
    siteId: v.id("sites"),
    batchId: v.string(),
    events: v.array(vEvent),
    attempts: v.number(),
    error: v.string(),
  }).index("by_batch", ["siteId", "batchId"]),

  // One row per session. Written and read only by the site's worker loop, so
  // never contended.
  sessions: defineTable({
    siteId: v.id("sites"),
    visitorId: v.string(),
    startedAt: v.number(),
    lastSeenAt: v.number(),
    events: v.number(),
    pageviews: v.number(),
    entryPage: v.string(),
    hostname: v.string(),
    exitPage: v.string(),
    exitAt: v.number(),
    attribution: v.record(v.string(), v.string()),
  })
    .index("by_visitor", ["siteId", "visitorId", "lastSeenAt"])
    .index("by_site_lastSeen", ["siteId", "lastSeenAt"]),

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
  // rows only. Written and deleted only by compaction; read by reports.
  rollupStaging: defineTable({
    siteId: v.id("sites"),
    bucketStart: v.number(),
    dimension: vDimension,
    rows: v.bytes(),
    rowCount: v.number(),
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

  // Bots dropped at ingest, counted per site per UTC day in a few shards so
  // concurrent requests rarely conflict. Written by ingest; read by admins.
  botCounts: defineTable({
    siteId: v.id("sites"),
    day: v.string(),
    shard: v.number(),
    count: v.number(),
  }).index("by_site_day", ["siteId", "day", "shard"]),
});
