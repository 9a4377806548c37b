/* eslint-disable */
/**
 * Generated `ComponentApi` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED.
 *
 * To regenerate, run `npx convex dev`.
 * @module
 */

import type { FunctionReference } from "convex/server";

/**
 * A utility for referencing a Convex component's exposed API.
 *
 * Useful when expecting a parameter like `components.myComponent`.
 * Usage:
 * ```ts
 * async function myFunction(ctx: QueryCtx, component: ComponentApi) {
 *   return ctx.runQuery(component.someFile.someQuery, { ...args });
 * }
 * ```
 */
export type ComponentApi<Name extends string | undefined = string | undefined> =
  {
    admission: {
      ingestRequest: FunctionReference<
        "mutation",
        "internal",
        {
          batchId: string;
          country?: string;
          eventsJson: string;
          forwarded?: Array<{
            header:
              | "x-forwarded-for"
              | "cf-connecting-ip"
              | "true-client-ip"
              | "x-real-ip"
              | "fly-client-ip";
            value: string;
          }>;
          origin: string | null;
          sentAt?: number;
          writeKey: string;
        },
        | { status: "unknown_key" }
        | { status: "origin_not_allowed" }
        | { status: "site_disabled" }
        | { status: "bot" }
        | { retryAfterMs: number; status: "rate_limited" }
        | {
            result: {
              accepted: number;
              duplicate: boolean;
              rejected: Array<{ index: number; reason: string }>;
            };
            status: "accepted";
          },
        Name
      >;
    };
    bots: {
      getBotCounts: FunctionReference<
        "query",
        "internal",
        { days: number; siteId: string },
        Array<{ bots: number; day: string }>,
        Name
      >;
    };
    deadLetters: {
      discardDeadLetter: FunctionReference<
        "mutation",
        "internal",
        { deadLetterId: string; siteId: string },
        { batchId: string; events: number } | null,
        Name
      >;
      retryDeadLetter: FunctionReference<
        "mutation",
        "internal",
        { deadLetterId: string; siteId: string },
        { batchId: string; events: number } | null,
        Name
      >;
    };
    deletions: {
      deleteSite: FunctionReference<
        "mutation",
        "internal",
        { siteId: string },
        {
          deleted: Record<string, number>;
          deletionId: string;
          error: string | null;
          finishedAt: number | null;
          kind: "visitor" | "site";
          passes: number;
          phase: string;
          siteId: string;
          startedAt: number;
          status: "running" | "done" | "failed";
          waiting: boolean;
        },
        Name
      >;
      deleteVisitorData: FunctionReference<
        "mutation",
        "internal",
        { siteId: string; userId?: string; visitorId?: string },
        {
          deleted: Record<string, number>;
          deletionId: string;
          error: string | null;
          finishedAt: number | null;
          kind: "visitor" | "site";
          passes: number;
          phase: string;
          siteId: string;
          startedAt: number;
          status: "running" | "done" | "failed";
          waiting: boolean;
        },
        Name
      >;
      getDeletion: FunctionReference<
        "query",
        "internal",
        { deletionId: string; siteId: string },
        {
          deleted: Record<string, number>;
          deletionId: string;
          error: string | null;
          finishedAt: number | null;
          kind: "visitor" | "site";
          passes: number;
          phase: string;
          siteId: string;
          startedAt: number;
          status: "running" | "done" | "failed";
          waiting: boolean;
        },
        Name
      >;
    };
    exports: {
      getExport: FunctionReference<
        "query",
        "internal",
        { exportId: string; siteId: string },
        {
          done: boolean;
          error: string | null;
          expiresAt: number | null;
          exportId: string;
          from: number;
          kind: "events" | "sessions" | "report";
          rowsWritten: number;
          siteId: string;
          startedAt: number;
          status: "running" | "done" | "failed" | "expired";
          to: number;
          url: string | null;
        },
        Name
      >;
      startExport: FunctionReference<
        "mutation",
        "internal",
        {
          expiresInMs?: number;
          from: number;
          kind: "events" | "sessions" | "report";
          report?:
            | {
                dimension:
                  | "total"
                  | "page"
                  | "entryPage"
                  | "exitPage"
                  | "hostname"
                  | "referrer"
                  | "channel"
                  | "utmSource"
                  | "utmMedium"
                  | "utmCampaign"
                  | "utmContent"
                  | "utmTerm"
                  | "country"
                  | "device"
                  | "browser"
                  | "os"
                  | "screen"
                  | "event"
                  | "prop"
                  | "goal";
                limit?: number;
                type: "breakdown";
              }
            | {
                granularity?: "minute" | "hour" | "day" | "week" | "month";
                type: "timeseries";
              };
          siteId: string;
          to: number;
        },
        { exportId: string },
        Name
      >;
    };
    filters: {
      startFilterScan: FunctionReference<
        "mutation",
        "internal",
        {
          compare?: "previous" | "yearOverYear" | { from: number; to: number };
          dimension?:
            | "total"
            | "page"
            | "entryPage"
            | "exitPage"
            | "hostname"
            | "referrer"
            | "channel"
            | "utmSource"
            | "utmMedium"
            | "utmCampaign"
            | "utmContent"
            | "utmTerm"
            | "country"
            | "device"
            | "browser"
            | "os"
            | "screen"
            | "event"
            | "prop"
            | "goal";
          filters?: Array<{
            dimension:
              | "page"
              | "entryPage"
              | "exitPage"
              | "hostname"
              | "referrer"
              | "channel"
              | "utmSource"
              | "utmMedium"
              | "utmCampaign"
              | "utmContent"
              | "utmTerm"
              | "country"
              | "device"
              | "browser"
              | "os"
              | "screen"
              | "event"
              | "goal";
            op: "is" | "isNot" | "contains";
            value: string;
          }>;
          from: number;
          granularity?: "minute" | "hour" | "day" | "week" | "month";
          limit?: number;
          report: "overview" | "timeseries" | "breakdown";
          siteId: string;
          to: number;
        },
        { scanId: string | null },
        Name
      >;
    };
    funnels: {
      getFunnel: FunctionReference<
        "query",
        "internal",
        {
          from: number;
          mode?: "sequential" | "strict";
          siteId: string;
          steps: Array<
            | { path: string }
            | {
                event: string;
                props?: Record<string, string | number | boolean>;
              }
          >;
          to: number;
          windowMs?: number;
        },
        {
          complete: boolean;
          error: string | null;
          scannedEvents: number;
          stale: boolean;
          steps: Array<{
            conversionRate: number | null;
            dropOff: number;
            dropOffRate: number | null;
            visitors: number;
          }>;
        },
        Name
      >;
      startFunnel: FunctionReference<
        "mutation",
        "internal",
        {
          from: number;
          mode?: "sequential" | "strict";
          siteId: string;
          steps: Array<
            | { path: string }
            | {
                event: string;
                props?: Record<string, string | number | boolean>;
              }
          >;
          to: number;
          windowMs?: number;
        },
        { scanId: string },
        Name
      >;
    };
    goals: {
      createGoal: FunctionReference<
        "mutation",
        "internal",
        {
          match:
            | { path: string }
            | {
                event: string;
                props?: Record<string, string | number | boolean>;
              };
          name: string;
          revenue?: { currency: string; property: string };
          siteId: string;
        },
        { goalId: string },
        Name
      >;
      deleteGoal: FunctionReference<
        "mutation",
        "internal",
        { goalId: string; siteId: string },
        boolean,
        Name
      >;
      getGoals: FunctionReference<
        "query",
        "internal",
        {
          compare?: "previous" | "yearOverYear" | { from: number; to: number };
          from: number;
          siteId: string;
          to: number;
        },
        {
          comparison?: {
            from: number;
            goals: Array<{
              conversionRate: number | null;
              conversions: number;
              converters: number;
              goalId: string;
              revenue: number | null;
            }>;
            to: number;
            visitors: number;
          };
          goals: Array<{
            backfilling: boolean;
            conversionRate: number | null;
            conversions: number;
            converters: number;
            currency: string | null;
            goalId: string;
            name: string;
            revenue: number | null;
          }>;
          visitors: number;
        },
        Name
      >;
      listGoals: FunctionReference<
        "query",
        "internal",
        { siteId: string },
        Array<{
          backfillError: string | null;
          backfilling: boolean;
          createdAt: number;
          goalId: string;
          match:
            | { path: string }
            | {
                event: string;
                props?: Record<string, string | number | boolean>;
              };
          name: string;
          revenue: { currency: string; property: string } | null;
          siteId: string;
        }>,
        Name
      >;
    };
    health: {
      getHealth: FunctionReference<
        "query",
        "internal",
        {
          maxCompactionLagMs?: number;
          maxDeadLetters?: number;
          maxPendingAgeMs?: number;
          now: number;
        },
        {
          deadLetters: number;
          lastCompactionAt: number | null;
          oldestPendingAgeMs: number;
          partial: boolean;
          pendingBatches: number;
          reasons: Array<string>;
          site?: {
            deadLetters: number;
            oldestPendingAgeMs: number;
            partial: boolean;
            pendingBatches: number;
            siteId: string;
            uncompactedShards: number;
          };
          status: "ok" | "behind";
          uncompactedShards: number;
        },
        Name
      >;
      getHealthWithReadKey: FunctionReference<
        "action",
        "internal",
        {
          maxCompactionLagMs?: number;
          maxDeadLetters?: number;
          maxPendingAgeMs?: number;
          now: number;
          readKey: string;
          siteId?: string;
        },
        | { status: "unknown_key" }
        | { status: "wrong_site" }
        | { retryAfterMs: number; status: "rate_limited" }
        | {
            health: {
              deadLetters: number;
              lastCompactionAt: number | null;
              oldestPendingAgeMs: number;
              partial: boolean;
              pendingBatches: number;
              reasons: Array<string>;
              site?: {
                deadLetters: number;
                oldestPendingAgeMs: number;
                partial: boolean;
                pendingBatches: number;
                siteId: string;
                uncompactedShards: number;
              };
              status: "ok" | "behind";
              uncompactedShards: number;
            };
            status: "ok";
          },
        Name
      >;
    };
    ingest: {
      ingestBatch: FunctionReference<
        "mutation",
        "internal",
        { batchId: string; events: Array<any>; siteId: string },
        {
          accepted: number;
          duplicate: boolean;
          rejected: Array<{ index: number; reason: string }>;
        },
        Name
      >;
      trackServer: FunctionReference<
        "mutation",
        "internal",
        { event: any; site: string },
        {
          accepted: number;
          duplicate: boolean;
          rejected: Array<{ index: number; reason: string }>;
        },
        Name
      >;
    };
    listings: {
      listEvents: FunctionReference<
        "query",
        "internal",
        {
          eventName?: string;
          paginationOpts: {
            cursor: string | null;
            endCursor?: string | null;
            id?: number;
            maximumBytesRead?: number;
            maximumRowsRead?: number;
            numItems: number;
          };
          pathPrefix?: string;
          siteId: string;
          userId?: string;
          visitorId?: string;
        },
        {
          continueCursor: string;
          isDone: boolean;
          page: Array<{
            browser?: string;
            clickId?:
              | "google"
              | "microsoft"
              | "meta"
              | "tiktok"
              | "linkedin"
              | "x"
              | "pinterest"
              | "snapchat"
              | "reddit"
              | "yandex";
            country?: string;
            device?: string;
            id: string;
            name?: string;
            occurredAt: number;
            os?: string;
            props?: Record<string, string | number | boolean>;
            receivedAt: number;
            referrer?: string;
            screen?: string;
            title?: string;
            traits?: Record<string, string | number | boolean>;
            type: "pageview" | "track" | "identify";
            tz?: string;
            url: string;
            userId?: string;
            visitorId: string;
          }>;
          pageStatus?: "SplitRecommended" | "SplitRequired" | null;
          splitCursor?: string | null;
        },
        Name
      >;
      listSessions: FunctionReference<
        "query",
        "internal",
        {
          paginationOpts: {
            cursor: string | null;
            endCursor?: string | null;
            id?: number;
            maximumBytesRead?: number;
            maximumRowsRead?: number;
            numItems: number;
          };
          pathPrefix?: string;
          siteId: string;
          visitorId?: string;
        },
        {
          continueCursor: string;
          isDone: boolean;
          page: Array<{
            _id: string;
            attribution: Record<string, string>;
            entryPage: string;
            events: number;
            exitAt: number;
            exitPage: string;
            hostname: string;
            lastSeenAt: number;
            pageviews: number;
            startedAt: number;
            visitorId: string;
          }>;
          pageStatus?: "SplitRecommended" | "SplitRequired" | null;
          splitCursor?: string | null;
        },
        Name
      >;
    };
    maintenance: {
      applyRetention: FunctionReference<"mutation", "internal", {}, null, Name>;
      kick: FunctionReference<
        "mutation",
        "internal",
        {},
        { compaction: boolean; sites: number },
        Name
      >;
    };
    readKeys: {
      createReadKey: FunctionReference<
        "mutation",
        "internal",
        { name: string; siteId: string },
        { keyId: string; readKey: string },
        Name
      >;
      listReadKeys: FunctionReference<
        "query",
        "internal",
        { siteId: string },
        Array<{
          _creationTime: number;
          _id: string;
          name: string;
          prefix: string;
          siteId: string;
        }>,
        Name
      >;
      revokeReadKey: FunctionReference<
        "mutation",
        "internal",
        { keyId: string; siteId: string },
        boolean,
        Name
      >;
    };
    rebuilds: {
      cancelRebuild: FunctionReference<
        "mutation",
        "internal",
        { rebuildId: string; siteId: string },
        {
          batches: number;
          copied: number;
          deleted: number;
          error: string | null;
          events: number;
          finishedAt: number | null;
          from: number | null;
          kept: Array<{ from: number; to: number }>;
          rebuildId: string;
          siteId: string;
          startedAt: number;
          status:
            | "running"
            | "cleaning"
            | "done"
            | "failed"
            | "cancelling"
            | "cancelled";
          steps: number;
          switchedAt: number | null;
          timezone: string;
          to: number | null;
        },
        Name
      >;
      getRebuild: FunctionReference<
        "query",
        "internal",
        { rebuildId: string; siteId: string },
        {
          batches: number;
          copied: number;
          deleted: number;
          error: string | null;
          events: number;
          finishedAt: number | null;
          from: number | null;
          kept: Array<{ from: number; to: number }>;
          rebuildId: string;
          siteId: string;
          startedAt: number;
          status:
            | "running"
            | "cleaning"
            | "done"
            | "failed"
            | "cancelling"
            | "cancelled";
          steps: number;
          switchedAt: number | null;
          timezone: string;
          to: number | null;
        } | null,
        Name
      >;
      rebuildRollups: FunctionReference<
        "mutation",
        "internal",
        { from?: number; siteId: string; timezone?: string; to?: number },
        {
          batches: number;
          copied: number;
          deleted: number;
          error: string | null;
          events: number;
          finishedAt: number | null;
          from: number | null;
          kept: Array<{ from: number; to: number }>;
          rebuildId: string;
          siteId: string;
          startedAt: number;
          status:
            | "running"
            | "cleaning"
            | "done"
            | "failed"
            | "cancelling"
            | "cancelled";
          steps: number;
          switchedAt: number | null;
          timezone: string;
          to: number | null;
        },
        Name
      >;
    };
    reports: {
      getBreakdown: FunctionReference<
        "query",
        "internal",
        {
          compare?: "previous" | "yearOverYear" | { from: number; to: number };
          dimension:
            | "total"
            | "page"
            | "entryPage"
            | "exitPage"
            | "hostname"
            | "referrer"
            | "channel"
            | "utmSource"
            | "utmMedium"
            | "utmCampaign"
            | "utmContent"
            | "utmTerm"
            | "country"
            | "device"
            | "browser"
            | "os"
            | "screen"
            | "event"
            | "prop"
            | "goal";
          filters?: Array<{
            dimension:
              | "page"
              | "entryPage"
              | "exitPage"
              | "hostname"
              | "referrer"
              | "channel"
              | "utmSource"
              | "utmMedium"
              | "utmCampaign"
              | "utmContent"
              | "utmTerm"
              | "country"
              | "device"
              | "browser"
              | "os"
              | "screen"
              | "event"
              | "goal";
            op: "is" | "isNot" | "contains";
            value: string;
          }>;
          from: number;
          limit?: number;
          siteId: string;
          to: number;
        },
        {
          comparison?: {
            from: number;
            rows: Array<{
              bounceRate: number | null;
              entries: number;
              events: number;
              key: string;
              pageviews: number;
              visitors: number;
            }>;
            to: number;
          };
          complete?: boolean;
          error?: string | null;
          rows: Array<{
            bounceRate: number | null;
            entries: number;
            events: number;
            key: string;
            pageviews: number;
            visitors: number;
          }>;
          scannedEvents?: number;
          stale?: boolean;
        },
        Name
      >;
      getOverview: FunctionReference<
        "query",
        "internal",
        {
          compare?: "previous" | "yearOverYear" | { from: number; to: number };
          filters?: Array<{
            dimension:
              | "page"
              | "entryPage"
              | "exitPage"
              | "hostname"
              | "referrer"
              | "channel"
              | "utmSource"
              | "utmMedium"
              | "utmCampaign"
              | "utmContent"
              | "utmTerm"
              | "country"
              | "device"
              | "browser"
              | "os"
              | "screen"
              | "event"
              | "goal";
            op: "is" | "isNot" | "contains";
            value: string;
          }>;
          from: number;
          siteId: string;
          to: number;
        },
        {
          avgSessionDurationMs: number | null;
          bounceRate: number | null;
          comparison?: {
            avgSessionDurationMs: number | null;
            bounceRate: number | null;
            events: number;
            from: number;
            pageviews: number;
            sessions: number;
            to: number;
            viewsPerSession: number | null;
            visitors: number;
          };
          complete?: boolean;
          error?: string | null;
          events: number;
          pageviews: number;
          scannedEvents?: number;
          sessions: number;
          stale?: boolean;
          viewsPerSession: number | null;
          visitors: number;
        },
        Name
      >;
      getPropertyBreakdown: FunctionReference<
        "query",
        "internal",
        {
          compare?: "previous" | "yearOverYear" | { from: number; to: number };
          event: string;
          from: number;
          limit?: number;
          property: string;
          siteId: string;
          to: number;
        },
        {
          comparison?: {
            from: number;
            rows: Array<{
              bounceRate: number | null;
              entries: number;
              events: number;
              key: string;
              pageviews: number;
              visitors: number;
            }>;
            to: number;
          };
          complete?: boolean;
          error?: string | null;
          rows: Array<{
            bounceRate: number | null;
            entries: number;
            events: number;
            key: string;
            pageviews: number;
            visitors: number;
          }>;
          scannedEvents?: number;
          stale?: boolean;
        },
        Name
      >;
      getRealtime: FunctionReference<
        "query",
        "internal",
        { now: number; siteId: string },
        {
          events: number;
          minutes: Array<{
            minuteStart: number;
            pageviews: number;
            visitors: number;
          }>;
          pageviews: number;
          topPages: Array<{ key: string; pageviews: number; visitors: number }>;
          topSources: Array<{
            key: string;
            pageviews: number;
            visitors: number;
          }>;
          visitors: number;
        },
        Name
      >;
      getTimeseries: FunctionReference<
        "query",
        "internal",
        {
          compare?: "previous" | "yearOverYear" | { from: number; to: number };
          filters?: Array<{
            dimension:
              | "page"
              | "entryPage"
              | "exitPage"
              | "hostname"
              | "referrer"
              | "channel"
              | "utmSource"
              | "utmMedium"
              | "utmCampaign"
              | "utmContent"
              | "utmTerm"
              | "country"
              | "device"
              | "browser"
              | "os"
              | "screen"
              | "event"
              | "goal";
            op: "is" | "isNot" | "contains";
            value: string;
          }>;
          from: number;
          granularity?: "minute" | "hour" | "day" | "week" | "month";
          siteId: string;
          to: number;
        },
        {
          comparison?: {
            from: number;
            points: Array<{
              avgSessionDurationMs: number | null;
              bounceRate: number | null;
              bucketStart: number;
              events: number;
              pageviews: number;
              sessions: number;
              visitors: number;
            }>;
            to: number;
          };
          complete?: boolean;
          error?: string | null;
          granularity: "minute" | "hour" | "day" | "week" | "month";
          points: Array<{
            avgSessionDurationMs: number | null;
            bounceRate: number | null;
            bucketStart: number;
            events: number;
            pageviews: number;
            sessions: number;
            visitors: number;
          }>;
          scannedEvents?: number;
          stale?: boolean;
        },
        Name
      >;
    };
    sites: {
      createSite: FunctionReference<
        "mutation",
        "internal",
        {
          allowedOrigins?: Array<string>;
          name: string;
          settings?: {
            botCountRetentionDays?: number;
            cardinalityCap?: number;
            clientBatchesPerMinute?: number;
            dailyRollupRetentionDays?: number;
            deadLetterRetentionDays?: number;
            hourlyRollupRetentionDays?: number;
            keptQueryParams?: Array<string>;
            monthlyRollupRetentionDays?: number;
            rawRetentionDays?: number;
            sessionTimeoutMs?: number;
            siteBatchesPerMinute?: number;
            trustClientCountry?: boolean;
            trustedProxy?: {
              header:
                | "x-forwarded-for"
                | "cf-connecting-ip"
                | "true-client-ip"
                | "x-real-ip"
                | "fly-client-ip";
              proxies: Array<string>;
            };
          };
          slug: string;
          timezone?: string;
        },
        { siteId: string; writeKey: string },
        Name
      >;
      getSite: FunctionReference<
        "query",
        "internal",
        { siteId: string },
        {
          _creationTime: number;
          _id: string;
          allowedOrigins: Array<string>;
          enabled: boolean;
          name: string;
          settings: {
            botCountRetentionDays?: number;
            cardinalityCap?: number;
            clientBatchesPerMinute?: number;
            dailyRollupRetentionDays?: number;
            deadLetterRetentionDays?: number;
            hourlyRollupRetentionDays?: number;
            keptQueryParams?: Array<string>;
            monthlyRollupRetentionDays?: number;
            rawRetentionDays?: number;
            sessionTimeoutMs?: number;
            siteBatchesPerMinute?: number;
            trustClientCountry?: boolean;
            trustedProxy?: {
              header:
                | "x-forwarded-for"
                | "cf-connecting-ip"
                | "true-client-ip"
                | "x-real-ip"
                | "fly-client-ip";
              proxies: Array<string>;
            };
          };
          slug: string;
          timezone: string;
        } | null,
        Name
      >;
      getSiteBySlug: FunctionReference<
        "query",
        "internal",
        { slug: string },
        {
          _creationTime: number;
          _id: string;
          allowedOrigins: Array<string>;
          enabled: boolean;
          name: string;
          settings: {
            botCountRetentionDays?: number;
            cardinalityCap?: number;
            clientBatchesPerMinute?: number;
            dailyRollupRetentionDays?: number;
            deadLetterRetentionDays?: number;
            hourlyRollupRetentionDays?: number;
            keptQueryParams?: Array<string>;
            monthlyRollupRetentionDays?: number;
            rawRetentionDays?: number;
            sessionTimeoutMs?: number;
            siteBatchesPerMinute?: number;
            trustClientCountry?: boolean;
            trustedProxy?: {
              header:
                | "x-forwarded-for"
                | "cf-connecting-ip"
                | "true-client-ip"
                | "x-real-ip"
                | "fly-client-ip";
              proxies: Array<string>;
            };
          };
          slug: string;
          timezone: string;
        } | null,
        Name
      >;
      listDeadLetters: FunctionReference<
        "query",
        "internal",
        { limit?: number; siteId: string },
        Array<{
          _creationTime: number;
          _id: string;
          attempts: number;
          batchId: string;
          error: string;
          events: number;
          siteId: string;
        }>,
        Name
      >;
      listSites: FunctionReference<
        "query",
        "internal",
        {},
        Array<{
          _creationTime: number;
          _id: string;
          allowedOrigins: Array<string>;
          enabled: boolean;
          name: string;
          settings: {
            botCountRetentionDays?: number;
            cardinalityCap?: number;
            clientBatchesPerMinute?: number;
            dailyRollupRetentionDays?: number;
            deadLetterRetentionDays?: number;
            hourlyRollupRetentionDays?: number;
            keptQueryParams?: Array<string>;
            monthlyRollupRetentionDays?: number;
            rawRetentionDays?: number;
            sessionTimeoutMs?: number;
            siteBatchesPerMinute?: number;
            trustClientCountry?: boolean;
            trustedProxy?: {
              header:
                | "x-forwarded-for"
                | "cf-connecting-ip"
                | "true-client-ip"
                | "x-real-ip"
                | "fly-client-ip";
              proxies: Array<string>;
            };
          };
          slug: string;
          timezone: string;
        }>,
        Name
      >;
      rotateWriteKey: FunctionReference<
        "mutation",
        "internal",
        { siteId: string },
        { writeKey: string },
        Name
      >;
      updateSite: FunctionReference<
        "mutation",
        "internal",
        {
          allowedOrigins?: Array<string>;
          enabled?: boolean;
          name?: string;
          settings?: {
            botCountRetentionDays?: number;
            cardinalityCap?: number;
            clientBatchesPerMinute?: number;
            dailyRollupRetentionDays?: number;
            deadLetterRetentionDays?: number;
            hourlyRollupRetentionDays?: number;
            keptQueryParams?: Array<string>;
            monthlyRollupRetentionDays?: number;
            rawRetentionDays?: number;
            sessionTimeoutMs?: number;
            siteBatchesPerMinute?: number;
            trustClientCountry?: boolean;
            trustedProxy?: {
              header:
                | "x-forwarded-for"
                | "cf-connecting-ip"
                | "true-client-ip"
                | "x-real-ip"
                | "fly-client-ip";
              proxies: Array<string>;
            };
          };
          siteId: string;
        },
        {
          _creationTime: number;
          _id: string;
          allowedOrigins: Array<string>;
          enabled: boolean;
          name: string;
          settings: {
            botCountRetentionDays?: number;
            cardinalityCap?: number;
            clientBatchesPerMinute?: number;
            dailyRollupRetentionDays?: number;
            deadLetterRetentionDays?: number;
            hourlyRollupRetentionDays?: number;
            keptQueryParams?: Array<string>;
            monthlyRollupRetentionDays?: number;
            rawRetentionDays?: number;
            sessionTimeoutMs?: number;
            siteBatchesPerMinute?: number;
            trustClientCountry?: boolean;
            trustedProxy?: {
              header:
                | "x-forwarded-for"
                | "cf-connecting-ip"
                | "true-client-ip"
                | "x-real-ip"
                | "fly-client-ip";
              proxies: Array<string>;
            };
          };
          slug: string;
          timezone: string;
        },
        Name
      >;
    };
    statsApi: {
      serveStats: FunctionReference<
        "action",
        "internal",
        {
          readKey: string;
          request:
            | {
                args: {
                  compare?:
                    "previous" | "yearOverYear" | { from: number; to: number };
                  filters?: Array<{
                    dimension:
                      | "page"
                      | "entryPage"
                      | "exitPage"
                      | "hostname"
                      | "referrer"
                      | "channel"
                      | "utmSource"
                      | "utmMedium"
                      | "utmCampaign"
                      | "utmContent"
                      | "utmTerm"
                      | "country"
                      | "device"
                      | "browser"
                      | "os"
                      | "screen"
                      | "event"
                      | "goal";
                    op: "is" | "isNot" | "contains";
                    value: string;
                  }>;
                  from: number;
                  siteId: string;
                  to: number;
                };
                report: "overview";
              }
            | {
                args: {
                  compare?:
                    "previous" | "yearOverYear" | { from: number; to: number };
                  filters?: Array<{
                    dimension:
                      | "page"
                      | "entryPage"
                      | "exitPage"
                      | "hostname"
                      | "referrer"
                      | "channel"
                      | "utmSource"
                      | "utmMedium"
                      | "utmCampaign"
                      | "utmContent"
                      | "utmTerm"
                      | "country"
                      | "device"
                      | "browser"
                      | "os"
                      | "screen"
                      | "event"
                      | "goal";
                    op: "is" | "isNot" | "contains";
                    value: string;
                  }>;
                  from: number;
                  granularity?: "minute" | "hour" | "day" | "week" | "month";
                  siteId: string;
                  to: number;
                };
                report: "timeseries";
              }
            | {
                args: {
                  compare?:
                    "previous" | "yearOverYear" | { from: number; to: number };
                  dimension:
                    | "total"
                    | "page"
                    | "entryPage"
                    | "exitPage"
                    | "hostname"
                    | "referrer"
                    | "channel"
                    | "utmSource"
                    | "utmMedium"
                    | "utmCampaign"
                    | "utmContent"
                    | "utmTerm"
                    | "country"
                    | "device"
                    | "browser"
                    | "os"
                    | "screen"
                    | "event"
                    | "prop"
                    | "goal";
                  filters?: Array<{
                    dimension:
                      | "page"
                      | "entryPage"
                      | "exitPage"
                      | "hostname"
                      | "referrer"
                      | "channel"
                      | "utmSource"
                      | "utmMedium"
                      | "utmCampaign"
                      | "utmContent"
                      | "utmTerm"
                      | "country"
                      | "device"
                      | "browser"
                      | "os"
                      | "screen"
                      | "event"
                      | "goal";
                    op: "is" | "isNot" | "contains";
                    value: string;
                  }>;
                  from: number;
                  limit?: number;
                  siteId: string;
                  to: number;
                };
                report: "breakdown";
              }
            | { args: { now: number; siteId: string }; report: "realtime" }
            | {
                args: {
                  compare?:
                    "previous" | "yearOverYear" | { from: number; to: number };
                  event: string;
                  from: number;
                  limit?: number;
                  property: string;
                  siteId: string;
                  to: number;
                };
                report: "propertyBreakdown";
              }
            | {
                args: {
                  compare?:
                    "previous" | "yearOverYear" | { from: number; to: number };
                  from: number;
                  siteId: string;
                  to: number;
                };
                report: "goals";
              };
        },
        | { status: "unknown_key" }
        | { status: "wrong_site" }
        | { retryAfterMs: number; status: "rate_limited" }
        | { message: string; status: "invalid_parameter" }
        | { message: string; status: "unavailable" }
        | {
            body:
              | {
                  avgSessionDurationMs: number | null;
                  bounceRate: number | null;
                  comparison?: {
                    avgSessionDurationMs: number | null;
                    bounceRate: number | null;
                    events: number;
                    from: number;
                    pageviews: number;
                    sessions: number;
                    to: number;
                    viewsPerSession: number | null;
                    visitors: number;
                  };
                  complete?: boolean;
                  error?: string | null;
                  events: number;
                  pageviews: number;
                  scannedEvents?: number;
                  sessions: number;
                  stale?: boolean;
                  viewsPerSession: number | null;
                  visitors: number;
                }
              | {
                  comparison?: {
                    from: number;
                    points: Array<{
                      avgSessionDurationMs: number | null;
                      bounceRate: number | null;
                      bucketStart: number;
                      events: number;
                      pageviews: number;
                      sessions: number;
                      visitors: number;
                    }>;
                    to: number;
                  };
                  complete?: boolean;
                  error?: string | null;
                  granularity: "minute" | "hour" | "day" | "week" | "month";
                  points: Array<{
                    avgSessionDurationMs: number | null;
                    bounceRate: number | null;
                    bucketStart: number;
                    events: number;
                    pageviews: number;
                    sessions: number;
                    visitors: number;
                  }>;
                  scannedEvents?: number;
                  stale?: boolean;
                }
              | {
                  comparison?: {
                    from: number;
                    rows: Array<{
                      bounceRate: number | null;
                      entries: number;
                      events: number;
                      key: string;
                      pageviews: number;
                      visitors: number;
                    }>;
                    to: number;
                  };
                  complete?: boolean;
                  error?: string | null;
                  rows: Array<{
                    bounceRate: number | null;
                    entries: number;
                    events: number;
                    key: string;
                    pageviews: number;
                    visitors: number;
                  }>;
                  scannedEvents?: number;
                  stale?: boolean;
                }
              | {
                  events: number;
                  minutes: Array<{
                    minuteStart: number;
                    pageviews: number;
                    visitors: number;
                  }>;
                  pageviews: number;
                  topPages: Array<{
                    key: string;
                    pageviews: number;
                    visitors: number;
                  }>;
                  topSources: Array<{
                    key: string;
                    pageviews: number;
                    visitors: number;
                  }>;
                  visitors: number;
                }
              | {
                  comparison?: {
                    from: number;
                    goals: Array<{
                      conversionRate: number | null;
                      conversions: number;
                      converters: number;
                      goalId: string;
                      revenue: number | null;
                    }>;
                    to: number;
                    visitors: number;
                  };
                  goals: Array<{
                    backfilling: boolean;
                    conversionRate: number | null;
                    conversions: number;
                    converters: number;
                    currency: string | null;
                    goalId: string;
                    name: string;
                    revenue: number | null;
                  }>;
                  visitors: number;
                };
            status: "ok";
          },
        Name
      >;
    };
  };
