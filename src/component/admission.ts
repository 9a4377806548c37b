// Admission: the one component call of an ingest request. Write key -> site,
// origin, rate limits (per client, bots included, then per site), bots
// (counted per site per day, never stored), the cookieless visitor id, and the
// queue. The client's address and user agent come from Convex itself
// (ctx.meta.getRequestMetadata()), so neither they nor the day's salt ever cross
// a function boundary, and the IP is only ever an input to a one-way hash.
import { v } from "convex/values";
import { RateLimiter } from "@convex-dev/rate-limiter";
import {
  sha256Hex,
  vForwardedAddresses,
  vIngestResult,
  type AnalyticsEvent,
  type Rejection,
} from "../shared.js";
import { mutation } from "./_generated/server.js";
import { components } from "./_generated/api.js";
import { countBot } from "./bots.js";
import { clientAddress } from "./clientAddress.js";
import { normalizeEvent } from "./events.js";
import { checkBatchShape, queueBatch } from "./ingest.js";
import { originAllowed } from "./origins.js";
import { liveSite } from "./sites.js";
import { stripPrivateUrlParts } from "./urlPrivacy.js";
import { cookielessId, saltOf, todaysSalt } from "./salts.js";
import { MINUTE, localDay, utcDay } from "./time.js";
import { countryOfTimezone, describeUserAgent, isoCountry } from "./userAgent.js";

export const DEFAULT_SITE_BATCHES_PER_MINUTE = 6_000;
export const DEFAULT_CLIENT_BATCHES_PER_MINUTE = 120;
const SITE_RATE_SHARDS = 8;
/**
 * How long a batch id is a duplicate for sure: raw batches, the dedup record, are kept at least
 * 8 days (rawRetentionDays), a day more than this, for clocks that move.
 */
export const DEDUP_WINDOW_MS = 7 * 24 * 60 * MINUTE;
const STALE_EVENT_REASON =
  "the event occurred more than 7 days before its batch was sent: batches are deduplicated for 7 days, so it is refused rather than risk counting it twice";

const rateLimiter = new RateLimiter(components.rateLimiter);

export const vIngestOutcome = v.union(
  v.object({ status: v.literal("unknown_key") }),
  v.object({ status: v.literal("origin_not_allowed") }),
  v.object({ status: v.literal("site_disabled") }),
  v.object({ status: v.literal("bot") }),
  v.object({ status: v.literal("rate_limited"), retryAfterMs: v.number() }),
  v.object({ status: v.literal("accepted"), result: vIngestResult }),
);

/**
 * Admits and queues one browser batch. `country` is what the route read from
 * the edge's headers, if anything. Events are validated here, once; the
 * invalid ones are rejected one by one and their valid neighbours kept.
 */
export const ingestRequest = mutation({
  args: {
    writeKey: v.string(),
    origin: v.union(v.string(), v.null()),
    country: v.optional(v.string()),
    /** The request's forwarding headers: believed only through the site's trustedProxy. */
    forwarded: v.optional(vForwardedAddresses),
    batchId: v.string(),
    /** When the client says it sent the batch, by its own clock (the envelope's `sentAt`). */
    sentAt: v.optional(v.number()),
    /** The batch's `events` array as JSON text, exactly as the client sent it. */
    eventsJson: v.string(),
  },
  returns: vIngestOutcome,
  handler: async (ctx, args) => {
    const events: unknown = JSON.parse(args.eventsJson);
    if (!Array.isArray(events)) throw new Error("eventsJson must be a JSON array");
    checkBatchShape(args.batchId, events);
    const writeKeyHash = await sha256Hex(args.writeKey);
    // A site being deleted stops taking events at deleteSite's first pass.
    const site = liveSite(
      await ctx.db
        .query("sites")
        .withIndex("by_writeKeyHash", (q) => q.eq("writeKeyHash", writeKeyHash))
        .unique(),
    );
    if (!site) return { status: "unknown_key" as const };
    if (!originAllowed(args.origin, site.allowedOrigins))
      return { status: "origin_not_allowed" as const };
    if (!site.enabled) return { status: "site_disabled" as const };

    const metadata = await ctx.meta.getRequestMetadata();
    const ip = clientAddress(metadata.ip, args.forwarded, site.settings.trustedProxy);
    const userAgent = metadata.userAgent;
    const client = describeUserAgent(userAgent ?? "");
    const now = Date.now();
    const day = utcDay(now);
    const salt = await todaysSalt(ctx, day);
    // The address alone: a user agent (or a forwarding header nobody vouched for) is the
    // client's to rotate. Salted with today's salt, since an unsalted hash of an address
    // could be reversed by trying every IPv4 address. Buckets are keyed by day so that
    // pruneSalts can delete every older one.
    const clientKey = (await sha256Hex(`${salt}|${ip ?? ""}`)).slice(0, 32);
    const perSite = site.settings.siteBatchesPerMinute ?? DEFAULT_SITE_BATCHES_PER_MINUTE;
    const perClient = site.settings.clientBatchesPerMinute ?? DEFAULT_CLIENT_BATCHES_PER_MINUTE;
    // The client's limit applies to bots too, so a crawler cannot inflate the bot counter for free.
    // Two buckets cost two writes a request (one for bots and refused clients): the rate limiter
    // writes the bucket, or shard, that a `limit` consumes from, and nothing it offers writes less
    // and keeps both limits exact. `check` consumes nothing; taking a site's tokens in blocks
    // (`count`) over-charges light clients or, sampled, lets the site past its limit; reserving
    // still writes per call; asynchronous updates write a queued update per call and apply it
    // later, so a burst gets past the limit. Charging the site's bucket from the worker, once per
    // run, would make ingest read what the worker writes.
    const limits = [
      ["client", `${site._id}|${day}|${clientKey}`, perClient, 1],
      // The rate-limiter needs at least one whole token per shard: small site limits get fewer shards.
      [
        "site",
        `${site._id}|${day}`,
        perSite,
        Math.min(SITE_RATE_SHARDS, Math.max(1, Math.floor(perSite / 10))),
      ],
    ] as const;
    for (const [name, key, rate, shards] of client.isBot ? limits.slice(0, 1) : limits) {
      const status = await rateLimiter.limit(ctx, name, {
        key,
        config: { kind: "token bucket", rate, period: MINUTE, capacity: rate, shards },
      });
      if (!status.ok)
        return {
          status: "rate_limited" as const,
          retryAfterMs: Math.max(status.retryAfter ?? 1_000, 1_000),
        };
    }
    if (client.isBot) {
      await countBot(ctx, site._id, day);
      return { status: "bot" as const };
    }

    // Each cookieless id is salted for the local day its event occurred on (salts.ts).
    const cookieless = new Map<string, Promise<string>>();
    const cookielessFor = (occurredAt: number) => {
      const localDate = localDay(occurredAt, site.timezone);
      let id = cookieless.get(localDate);
      if (!id) {
        id = saltOf(ctx, localDate).then((daySalt) =>
          daySalt === null
            ? cookielessId("l_", salt, site._id, ip, userAgent)
            : cookielessId("c_", daySalt, site._id, ip, userAgent),
        );
        cookieless.set(localDate, id);
      }
      return id;
    };
    const edgeCountry = isoCountry(args.country);
    const trustClientCountry = site.settings.trustClientCountry ?? false;
    const candidates: { index: number; event: AnalyticsEvent }[] = [];
    const rejected: Rejection[] = [];
    for (const [index, raw] of events.entries()) {
      const sent = (typeof raw === "object" && raw !== null ? raw : {}) as {
        visitorId?: unknown;
        tz?: unknown;
        country?: unknown;
      };
      // A client's own claim must already be an upper-case ISO code: nothing is guessed from it.
      const claimed =
        trustClientCountry && typeof sent.country === "string" && /^[A-Z]{2}$/.test(sent.country)
          ? sent.country
          : undefined;
      const country = edgeCountry ?? claimed ?? countryOfTimezone(sent.tz);
      const clientId =
        typeof sent.visitorId === "string" && sent.visitorId ? sent.visitorId.slice(0, 128) : null;
      // Measured on the client's own clock, so its skew does not matter: a batch resent after its
      // raw batch was pruned (at least 8 days on) has only events older than this, and is refused.
      const occurredAt = (sent as { occurredAt?: unknown }).occurredAt;
      if (typeof occurredAt === "number" && occurredAt < (args.sentAt ?? now) - DEDUP_WINDOW_MS) {
        rejected.push({ index, reason: STALE_EVENT_REASON });
        continue;
      }
      const result = normalizeEvent(raw, now, {
        // Without a client id, a stand-in until the event's (clamped) time is known.
        visitorId: clientId ?? "cookieless",
        device: client.device,
        browser: client.browser,
        os: client.os,
        ...(country ? { country } : {}),
      });
      if (!result.ok) {
        rejected.push({ index, reason: result.reason });
        continue;
      }
      if (clientId === null) result.event.visitorId = await cookielessFor(result.event.occurredAt);
      stripPrivateUrlParts(result.event, site.settings.keptQueryParams);
      candidates.push({ index, event: result.event });
    }
    return {
      status: "accepted" as const,
      result: await queueBatch(ctx, site, args.batchId, candidates, rejected),
    };
  },
});
