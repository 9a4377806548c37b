import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { vEvent, vInterval, vDimension, vSiteSettings } from "../shared.js";
import { vDeltaRow, vRow } from "./rows.js";

export default defineSchema({
  // Written by the admin API (createSite, updateSite, rotateWriteKey).
  // Read by ingest (one point read), the worker, compaction and reports.
  // The write key is stored only as its SHA-256 hash.
  sites: defineTable({
    slug: v.string(),
    name: v.string(),
    timezone: v.string(),
    allowedOrigins: v.array(v.string()),
    enabled: v.boolean(),
    writeKeyHash: v.string(),
    settings: vSiteSettings,
  })
    .index("by_slug", ["slug"])
    .index("by_writeKeyHash", ["writeKeyHash"]),

  // The ingest queue. Written by ingestBatch (one insert per batch, nothing else);
  // read and deleted by the worker of the batch's shard. Workers of different
  // shards never touch each other's rows. Ingest reads only its own
  // (siteId, batchId) key here, for dedup.
  pendingBatches: defineTable({
    siteId: v.id("sites"),
    batchId: v.string(),
    shard: v.number(),
    receivedAt: v.number(),
    events: v.array(vEvent),
    attempts: v.number(),
    lastError: v.optional(v.string()),
  })
    .index("by_batch", ["siteId", "batchId"])
    .index("by_shard", ["shard"]),

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

  // Batches the worker gave up on after MAX_ATTEMPTS, with the error. Written by the
  // worker; read by admins (listDeadLetters) and by ingest for dedup.
  deadLetters: defineTable({
    siteId: v.id("sites"),
    batchId: v.string(),
    events: v.array(vEvent),
    attempts: v.number(),
    error: v.string(),
  }).index("by_batch", ["siteId", "batchId"]),

  // One row per session. Written and read only by the worker of the shard that
  // owns the visitor (batches are sharded by visitor), so never contended.
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

  // Packed rollup deltas: one document per (site, interval, bucket, shard) holding
  // the rows of every dimension. Written only by the worker of that shard (it
  // patches its own open document until compaction folds it); read by reports
  // for buckets not yet compacted; folded and deleted by compaction.
  rollupShards: defineTable({
    siteId: v.id("sites"),
    interval: vInterval,
    bucketStart: v.number(),
    shard: v.number(),
    rows: v.array(vDeltaRow),
    bytes: v.number(),
  }).index("by_bucket", ["siteId", "interval", "bucketStart", "shard"]),

  // Canonical rollups: the rows of one (site, interval, bucket, dimension), split
  // into pages by size and capped per DESIGN §4. Written only by compaction (so
  // never contended); read by reports.
  rollups: defineTable({
    siteId: v.id("sites"),
    interval: vInterval,
    bucketStart: v.number(),
    dimension: vDimension,
    page: v.number(),
    rows: v.array(vRow),
  }).index("by_bucket", ["siteId", "interval", "bucketStart", "dimension", "page"]),


  // Today's and yesterday's cookieless salts (older ones are deleted, so old
  // visitor ids can never be recomputed). Written by admission on the first
  // request of a UTC day and pruned by retention; read by admission.
  salts: defineTable({ day: v.string(), salt: v.string() }).index("by_day", ["day"]),

  // Bots dropped at ingest, counted per site per UTC day in a few shards so
  // concurrent requests rarely conflict. Written by admission; read by admins.
  botCounts: defineTable({
    siteId: v.id("sites"),
    day: v.string(),
    shard: v.number(),
    count: v.number(),
  }).index("by_site_day", ["siteId", "day", "shard"]),
});
