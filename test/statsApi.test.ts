// The stats HTTP API and the health check as a client sees them (t.fetch on the
// example app's http.ts): every status of every endpoint, the facades' JSON,
// Cache-Control by range, CORS as configured, and fuzzed query strings and
// Authorization headers that never produce a 5xx.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import fc from "fast-check";
import type { FunctionReference, GenericMutationCtx } from "convex/server";
import { inComponent, initApp, type App } from "./app.setup.js";
import { components } from "../example/convex/_generated/api.js";
import type { DataModel } from "../src/component/_generated/dataModel.js";
import { MAX_READ_KEYS_PER_SITE, READ_KEY_REQUESTS_PER_MINUTE } from "../src/component/readKeys.js";
import { sha256Hex } from "../src/shared.js";
import { DEFAULT_HEALTH_THRESHOLDS, HEALTH_COUNT_CAP } from "../src/component/health.js";
import { STATS_REPORTS } from "../src/client/statsRoutes.js";

type ComponentCtx = GenericMutationCtx<DataModel>;
const NOW = Date.parse("2026-03-20T12:00:00Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ALLOWED_ORIGIN = "https://status.example.com";

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(NOW);
});
afterEach(() => vi.useRealTimers());

function inAnalytics<T>(t: App, fn: (ctx: ComponentCtx) => Promise<T>): Promise<T> {
  return inComponent<T, ComponentCtx>(t, "analytics", fn);
}

async function setup() {
  const t = initApp();
  const site = await t.mutation(components.analytics.sites.createSite, { slug: "a", name: "A" });
  const other = await t.mutation(components.analytics.sites.createSite, { slug: "b", name: "B" });
  const key = await t.mutation(components.analytics.readKeys.createReadKey, {
    siteId: site.siteId,
    name: "status page",
  });
  const otherKey = await t.mutation(components.analytics.readKeys.createReadKey, {
    siteId: other.siteId,
    name: "b's key",
  });
  // A goal on the custom event, counted live from the start.
  await t.mutation(components.analytics.goals.createGoal, {
    siteId: site.siteId,
    name: "Signup",
    match: { event: "signup" },
  });
  // Two pageviews an hour ago and one custom event, counted by the worker.
  await t.mutation(components.analytics.ingest.ingestBatch, {
    siteId: site.siteId,
    batchId: "b1",
    events: [
      {
        id: "e1",
        type: "pageview",
        occurredAt: NOW - HOUR,
        url: "https://a.com/",
        visitorId: "v1",
      },
      {
        id: "e2",
        type: "pageview",
        occurredAt: NOW - HOUR + 1000,
        url: "https://a.com/x",
        visitorId: "v1",
      },
      {
        id: "e3",
        type: "track",
        name: "signup",
        occurredAt: NOW - 60_000,
        url: "https://a.com/x",
        visitorId: "v2",
      },
    ],
  });
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  vi.setSystemTime(NOW);
  return {
    t,
    siteId: site.siteId,
    otherSiteId: other.siteId,
    readKey: key.readKey,
    keyId: key.keyId,
    otherKey: otherKey.readKey,
  };
}

function get(t: App, path: string, headers: Record<string, string> = {}) {
  return t.fetch(`/analytics${path}`, { method: "GET", headers });
}
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const qs = (params: Record<string, string | number>) =>
  new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error.message;
}

describe("GET /api/v1/*: 200 with the facades' JSON", () => {
  test("each report answers what the facade answers, with Cache-Control suited to its range", async () => {
    const { t, siteId, readKey } = await setup();
    const range = { siteId, from: NOW - DAY, to: NOW };
    const cases = [
      [
        "overview",
        qs({ site: siteId, from: range.from, to: range.to }),
        components.analytics.reports.getOverview,
        range,
      ],
      [
        "timeseries",
        qs({ site: siteId, from: range.from, to: range.to, granularity: "hour" }),
        components.analytics.reports.getTimeseries,
        { ...range, granularity: "hour" },
      ],
      [
        "breakdown",
        qs({ site: siteId, from: range.from, to: range.to, dimension: "page", limit: 5 }),
        components.analytics.reports.getBreakdown,
        { ...range, dimension: "page", limit: 5 },
      ],
      [
        "realtime",
        qs({ site: siteId, now: NOW }),
        components.analytics.reports.getRealtime,
        { siteId, now: NOW },
      ],
      [
        "propertyBreakdown",
        qs({ site: siteId, from: range.from, to: range.to, event: "signup", property: "plan" }),
        components.analytics.reports.getPropertyBreakdown,
        { ...range, event: "signup", property: "plan" },
      ],
      [
        "goals",
        qs({ site: siteId, from: range.from, to: range.to, compare: "previous" }),
        components.analytics.goals.getGoals,
        { ...range, compare: "previous" },
      ],
      [
        "overview",
        qs({ site: siteId, from: range.from, to: range.to, compare: "yearOverYear" }),
        components.analytics.reports.getOverview,
        { ...range, compare: "yearOverYear" },
      ],
      [
        "breakdown",
        qs({
          ...{ site: siteId, from: range.from, to: range.to, dimension: "page" },
          ...{ compareFrom: NOW - 3 * DAY, compareTo: NOW - 2 * DAY },
        }),
        components.analytics.reports.getBreakdown,
        { ...range, dimension: "page", compare: { from: NOW - 3 * DAY, to: NOW - 2 * DAY } },
      ],
    ] as const;
    for (const [report, query, ref, args] of cases) {
      const response = await get(t, `/api/v1/${report}?${query}`, bearer(readKey));
      expect(response.status, report).toBe(200);
      const facade = ref as FunctionReference<"query", "internal", Record<string, unknown>>;
      expect(await response.json(), report).toEqual(await t.query(facade, args));
      expect(response.headers.get("Cache-Control"), report).toBe(
        report === "realtime" ? "no-store" : "private, no-cache",
      );
    }
    const overview = (await (
      await get(
        t,
        `/api/v1/overview?${qs({ site: siteId, from: range.from, to: range.to })}`,
        bearer(readKey),
      )
    ).json()) as { pageviews: number; events: number };
    expect(overview).toMatchObject({ pageviews: 2, events: 3 });
    const goals = (await (
      await get(
        t,
        `/api/v1/goals?${qs({ site: siteId, from: range.from, to: range.to })}`,
        bearer(readKey),
      )
    ).json()) as { visitors: number; goals: { name: string; conversions: number }[] };
    expect(goals).toMatchObject({
      visitors: 2,
      goals: [{ name: "Signup", conversions: 1, converters: 1, conversionRate: 0.5 }],
    });
  });

  test("ISO 8601 dates work like epoch milliseconds, and realtime's now defaults to the current minute", async () => {
    const { t, siteId, readKey } = await setup();
    const iso = await get(
      t,
      `/api/v1/overview?site=${siteId}&from=2026-03-19T12:00:00Z&to=2026-03-20T12:00:00Z`,
      bearer(readKey),
    );
    const epoch = await get(
      t,
      `/api/v1/overview?${qs({ site: siteId, from: NOW - DAY, to: NOW })}`,
      bearer(readKey),
    );
    expect(await iso.json()).toEqual(await epoch.json());
    const realtime = await get(t, `/api/v1/realtime?site=${siteId}`, bearer(readKey));
    expect(await realtime.json()).toEqual(
      await t.query(components.analytics.reports.getRealtime, { siteId, now: NOW }),
    );
  });

  test("a range that ended over 7 days ago is cacheable for a day, one that ended recently for 5 minutes", async () => {
    const { t, siteId, readKey } = await setup();
    const old = await get(
      t,
      `/api/v1/overview?${qs({ site: siteId, from: NOW - 30 * DAY, to: NOW - 10 * DAY })}`,
      bearer(readKey),
    );
    expect(old.headers.get("Cache-Control")).toBe("private, max-age=86400");
    // "private": a shared cache must not serve one key's answer to another request.
    const recent = await get(
      t,
      `/api/v1/overview?${qs({ site: siteId, from: NOW - 2 * DAY, to: NOW - 3 * HOUR })}`,
      bearer(readKey),
    );
    expect(recent.headers.get("Cache-Control")).toBe("private, max-age=300");
  });
});

/** Parameters every report accepts or ignores: the breakdown's dimension, the property breakdown's event and property. */
const EVERY_REPORT_PARAMS = { dimension: "page", event: "signup", property: "plan" };

describe("GET /api/v1/*: 400, 401, 403, 429", () => {
  test("401 without a key, with a malformed key, an unknown key or a revoked key, on every report", async () => {
    const { t, siteId, readKey, keyId } = await setup();
    for (const report of STATS_REPORTS) {
      const path = `/api/v1/${report}?${qs({ site: siteId, from: NOW - DAY, to: NOW, ...EVERY_REPORT_PARAMS })}`;
      await expectError(await get(t, path), 401, "missing_key");
      await expectError(await get(t, path, { Authorization: "Basic abc" }), 401, "unknown_key");
      await expectError(await get(t, path, bearer("pk_writekey")), 401, "unknown_key");
      await expectError(await get(t, path, bearer("rk_notakey")), 401, "unknown_key");
      expect((await get(t, path, bearer(readKey))).status).toBe(200);
    }
    expect(await t.mutation(components.analytics.readKeys.revokeReadKey, { siteId, keyId })).toBe(
      true,
    );
    await expectError(
      await get(
        t,
        `/api/v1/overview?${qs({ site: siteId, from: NOW - DAY, to: NOW })}`,
        bearer(readKey),
      ),
      401,
      "unknown_key",
    );
  });

  test("403 for another site's key, on every report", async () => {
    const { t, siteId, otherKey } = await setup();
    for (const report of STATS_REPORTS)
      await expectError(
        await get(
          t,
          `/api/v1/${report}?${qs({ site: siteId, from: NOW - DAY, to: NOW, ...EVERY_REPORT_PARAMS })}`,
          bearer(otherKey),
        ),
        403,
        "wrong_site",
      );
  });

  test("400 with a clear message for every kind of bad parameter", async () => {
    const { t, siteId, readKey } = await setup();
    const range = { site: siteId, from: NOW - DAY, to: NOW };
    const bad: [string, Record<string, string | number>, RegExp][] = [
      ["overview", { from: range.from, to: range.to }, /site is required/],
      [
        "overview",
        { ...range, from: "yesterday" },
        /from must be epoch milliseconds or an ISO 8601 date/,
      ],
      ["overview", { site: siteId, to: NOW }, /from is required/],
      ["overview", { ...range, to: range.from }, /to must be after from/],
      ["overview", { ...range, from: NOW - 500 * DAY }, /at most 400 days/],
      ["timeseries", { ...range, granularity: "fortnight" }, /granularity must be one of/],
      [
        "timeseries",
        { ...range, granularity: "minute" },
        /Minute granularity covers only the last 2 hours/,
      ],
      [
        "timeseries",
        { ...range, from: NOW - 60 * DAY, granularity: "hour" },
        /Hour granularity covers at most 31 days/,
      ],
      ["breakdown", range, /dimension is required/],
      ["overview", { ...range, compare: "lastWeek" }, /compare must be previous or yearOverYear/],
      [
        "overview",
        { ...range, compare: "previous", compareFrom: NOW - 2 * DAY },
        /either compare or compareFrom and compareTo/,
      ],
      [
        "overview",
        { ...range, compareFrom: NOW - 2 * DAY, compareTo: NOW - 3 * DAY },
        /compareTo must be after compareFrom/,
      ],
      ["overview", { ...range, compareFrom: NOW - 2 * DAY }, /compareTo is required/],
      ["propertyBreakdown", { ...range, property: "plan" }, /event is required/],
      ["propertyBreakdown", { ...range, event: "signup" }, /property is required/],
      ["breakdown", { ...range, dimension: "colour" }, /dimension is required/],
      [
        "breakdown",
        { ...range, dimension: "page", limit: "ten" },
        /limit must be an integer from 1 to 1000/,
      ],
      [
        "breakdown",
        { ...range, dimension: "page", limit: 0 },
        /limit must be an integer from 1 to 1000/,
      ],
      [
        "breakdown",
        { ...range, dimension: "page", limit: 5000 },
        /limit must be an integer from 1 to 1000/,
      ],
      ["realtime", { site: siteId, now: "soon" }, /now must be epoch milliseconds/],
      ["overview", { ...range, site: "x".repeat(300) }, /site is over 200 characters/],
    ];
    for (const [report, params, message] of bad) {
      const text = await expectError(
        await get(t, `/api/v1/${report}?${qs(params)}`, bearer(readKey)),
        400,
        "invalid_parameter",
      );
      expect(text, `${report} ${JSON.stringify(params)}`).toMatch(message);
    }
  });

  test("429 with Retry-After once a key has made its requests for the minute, and served again after", async () => {
    const { t, siteId, readKey, otherKey, otherSiteId } = await setup();
    const path = `/api/v1/overview?${qs({ site: siteId, from: NOW - DAY, to: NOW })}`;
    for (let i = 0; i < READ_KEY_REQUESTS_PER_MINUTE; i++)
      expect((await get(t, path, bearer(readKey))).status).toBe(200);
    const limited = await get(t, path, bearer(readKey));
    await expectError(limited, 429, "rate_limited");
    const retryAfter = Number(limited.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    // Another key is not affected.
    expect(
      (
        await get(
          t,
          `/api/v1/overview?${qs({ site: otherSiteId, from: NOW - DAY, to: NOW })}`,
          bearer(otherKey),
        )
      ).status,
    ).toBe(200);
    vi.setSystemTime(NOW + retryAfter * 1000);
    expect((await get(t, path, bearer(readKey))).status).toBe(200);
  });
});

describe("GET /api/v1/*: 503", () => {
  test("a report the deployment cannot compute is a 503 with Retry-After, not a 500 or a 400", async () => {
    const { t, siteId, readKey } = await setup();
    // Over a thousand uncompacted staging documents in range: reports refuse to read on.
    await inAnalytics(t, async (ctx) => {
      const site = ctx.db.normalizeId("sites", siteId)!;
      for (let i = 0; i <= 1_000; i++)
        await ctx.db.insert("rollupStaging", {
          siteId: site,
          generation: 0,
          bucketStart: NOW - 2 * HOUR,
          dimension: "total",
          rows: new ArrayBuffer(0),
          rowCount: 0,
        });
    });
    const response = await get(
      t,
      `/api/v1/overview?${qs({ site: siteId, from: NOW - DAY, to: NOW })}`,
      bearer(readKey),
    );
    await expectError(response, 503, "unavailable");
    expect(response.headers.get("Retry-After")).toBe("5");
  });
});

describe("read keys", () => {
  test("are stored only as a SHA-256 hash, listed without it, shown once, and revoked only by their own site", async () => {
    const { t, siteId, otherSiteId, readKey, keyId } = await setup();
    expect(readKey).toMatch(/^rk_[A-Za-z0-9_-]{32}$/);
    const stored = JSON.stringify(
      await inAnalytics(t, async (ctx) => await ctx.db.query("readKeys").collect()),
    );
    expect(stored).not.toContain(readKey);
    expect(stored).toContain(await sha256Hex(readKey));
    const listed = await t.query(components.analytics.readKeys.listReadKeys, { siteId });
    expect(listed).toEqual([
      {
        _id: keyId,
        _creationTime: expect.any(Number),
        siteId,
        name: "status page",
        prefix: readKey.slice(0, 7),
      },
    ]);
    // Another site's admin cannot revoke it: nothing happens, and it keeps working.
    expect(
      await t.mutation(components.analytics.readKeys.revokeReadKey, { siteId: otherSiteId, keyId }),
    ).toBe(false);
    const path = `/api/v1/overview?${qs({ site: siteId, from: NOW - DAY, to: NOW })}`;
    expect((await get(t, path, bearer(readKey))).status).toBe(200);
  });

  test("a site holds at most 50, and a name must be 1-100 characters", async () => {
    const { t, siteId } = await setup();
    for (let i = 1; i < MAX_READ_KEYS_PER_SITE; i++)
      await t.mutation(components.analytics.readKeys.createReadKey, { siteId, name: `k${i}` });
    await expect(
      t.mutation(components.analytics.readKeys.createReadKey, { siteId, name: "one more" }),
    ).rejects.toThrow(/at most 50 read keys/);
    await expect(
      t.mutation(components.analytics.readKeys.createReadKey, { siteId, name: "" }),
    ).rejects.toThrow(/name must be 1-100 characters/);
  });
});

describe("CORS", () => {
  test("an allowed origin gets CORS headers and a preflight, any other origin none", async () => {
    const { t, siteId, readKey } = await setup();
    const path = `/api/v1/overview?${qs({ site: siteId, from: NOW - DAY, to: NOW })}`;
    const allowed = await get(t, path, { ...bearer(readKey), Origin: ALLOWED_ORIGIN });
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED_ORIGIN);
    const refused = await get(t, path, { ...bearer(readKey), Origin: "https://evil.example" });
    expect(refused.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const preflight = await t.fetch(`/analytics/api/v1/overview`, {
      method: "OPTIONS",
      headers: {
        Origin: ALLOWED_ORIGIN,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Headers")).toMatch(/Authorization/);
    // Error responses carry them too, so a browser can read the error.
    const unauthorised = await get(t, path, { Origin: ALLOWED_ORIGIN });
    expect(unauthorised.status).toBe(401);
    expect(unauthorised.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED_ORIGIN);
  });
});

describe("fuzzed requests", () => {
  test("no query string or Authorization header produces a 5xx, and every error has the error shape", async () => {
    const { t, siteId, readKey, otherKey } = await setup();
    const value = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.integer().map(String),
      fc.double().map(String),
      fc.constantFrom(
        siteId,
        String(NOW),
        String(NOW - DAY),
        "2026-03-01",
        "page",
        "day",
        "minute",
        "",
        "-1",
        "1e400",
      ),
    );
    const name = fc.constantFrom(
      "site",
      "from",
      "to",
      "granularity",
      "dimension",
      "limit",
      "now",
      "x",
      "site[]",
    );
    let minute = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...STATS_REPORTS),
        fc.array(fc.tuple(name, value), { maxLength: 7 }),
        fc.option(
          fc.oneof(
            fc.constantFrom(
              `Bearer ${readKey}`,
              `Bearer ${otherKey}`,
              "Bearer rk_",
              "bearer  " + readKey,
            ),
            fc.string({ maxLength: 40 }),
          ),
          { nil: undefined },
        ),
        async (report, params, authorization) => {
          // A fresh minute each run, so the key's rate limit is not what is being tested.
          vi.setSystemTime(NOW + ++minute * 60_000);
          const query = new URLSearchParams(params).toString();
          let response: Response;
          try {
            response = await get(
              t,
              `/api/v1/${report}?${query}`,
              authorization === undefined ? {} : { Authorization: authorization },
            );
          } catch (e) {
            // Header values the Fetch API itself refuses never reach the route.
            expect(String(e)).toMatch(/header|Header|invalid/);
            return;
          }
          expect([200, 400, 401, 403], `${report}?${query} ${authorization}`).toContain(
            response.status,
          );
          const body = (await response.json()) as { error?: { code: string; message: string } };
          if (response.status !== 200) expect(body.error?.message).toEqual(expect.any(String));
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });
});

describe("GET /health", () => {
  test("200 with the documented fields and nothing per site when the pipeline keeps up", async () => {
    const { t } = await setup();
    const response = await get(t, "/health");
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({
      status: "ok",
      pendingBatches: 0,
      oldestPendingAgeMs: 0,
      deadLetters: 0,
      uncompactedShards: 0,
      lastCompactionAt: null,
      partial: false,
      reasons: [],
    });
    const everySiteId = await inAnalytics(t, async (ctx) =>
      (await ctx.db.query("sites").collect()).map((s) => s._id),
    );
    for (const id of everySiteId) expect(JSON.stringify(body)).not.toContain(id);
  });

  test("503 when a batch has waited past the threshold, and 200 again once the worker has run", async () => {
    const { t, siteId } = await setup();
    // A batch the worker has not taken: its scheduled run is lost.
    await inAnalytics(t, async (ctx) => {
      await ctx.db.insert("batches", {
        siteId: ctx.db.normalizeId("sites", siteId)!,
        batchId: "lost",
        events: [
          { id: "l1", type: "pageview", occurredAt: NOW, url: "https://a.com/", visitorId: "v9" },
        ],
      });
    });
    expect(
      ((await (await get(t, "/health")).json()) as { pendingBatches: number }).pendingBatches,
    ).toBe(1);
    vi.setSystemTime(NOW + DEFAULT_HEALTH_THRESHOLDS.maxPendingAgeMs + 60_000);
    const behind = await get(t, "/health");
    expect(behind.status).toBe(503);
    const body = (await behind.json()) as {
      status: string;
      pendingBatches: number;
      oldestPendingAgeMs: number;
      reasons: string[];
    };
    expect(body.status).toBe("behind");
    expect(body.pendingBatches).toBe(1);
    expect(body.oldestPendingAgeMs).toBeGreaterThan(DEFAULT_HEALTH_THRESHOLDS.maxPendingAgeMs);
    expect(body.reasons.join(" ")).toMatch(/worker is behind/);
    // The kick cron restarts the loop; then it is healthy again.
    await t.mutation(components.analytics.maintenance.kick, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const recovered = await get(t, "/health");
    const recoveredBody = (await recovered.json()) as { pendingBatches: number; reasons: string[] };
    expect(recoveredBody.pendingBatches).toBe(0);
    expect(recoveredBody.reasons.join(" ")).not.toMatch(/worker is behind/);
  });

  test("503 when an hour closed long ago is still uncompacted, and when dead letters pile up", async () => {
    const { t, siteId } = await setup();
    // The setup's events made delta documents for their hours; without compaction they age.
    vi.setSystemTime(NOW + 6 * HOUR);
    const behind = await get(t, "/health");
    expect(behind.status).toBe(503);
    const body = (await behind.json()) as { uncompactedShards: number; reasons: string[] };
    expect(body.uncompactedShards).toBeGreaterThan(0);
    expect(body.reasons.join(" ")).toMatch(/compaction is behind/);

    const t2 = (await setup()).t;
    await inAnalytics(t2, async (ctx) => {
      const site = (await ctx.db.query("sites").first())!;
      for (let i = 0; i <= DEFAULT_HEALTH_THRESHOLDS.maxDeadLetters; i++)
        await ctx.db.insert("deadLetters", {
          siteId: site._id,
          batchId: `d${i}`,
          events: [],
          attempts: 3,
          error: "x",
        });
    });
    const piled = await get(t2, "/health");
    expect(piled.status).toBe(503);
    expect(((await piled.json()) as { deadLetters: number }).deadLetters).toBe(
      DEFAULT_HEALTH_THRESHOLDS.maxDeadLetters + 1,
    );
    expect(siteId).toBeTruthy();
  });

  test("lastCompactionAt is when compaction last wrote a canonical page", async () => {
    const { t } = await setup();
    vi.setSystemTime(NOW + 3 * HOUR);
    await t.mutation(components.analytics.maintenance.kick, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const body = (await (await get(t, "/health")).json()) as {
      lastCompactionAt: number | null;
      uncompactedShards: number;
    };
    expect(body.lastCompactionAt).toBeGreaterThanOrEqual(NOW + 3 * HOUR);
  });
});

describe("GET /health with a read key: the key's own site too", () => {
  type HealthBody = Record<string, unknown> & {
    status: string;
    pendingBatches: number;
    deadLetters: number;
    uncompactedShards: number;
    site?: Record<string, unknown>;
  };

  /** A batch the worker never took and `deadLetters` dead letters, on `siteId`; the batch's creation time. */
  async function backlog(t: App, siteId: string, tag: string, deadLetters: number) {
    return await inAnalytics(t, async (ctx) => {
      const site = ctx.db.normalizeId("sites", siteId)!;
      const batchId = await ctx.db.insert("batches", {
        siteId: site,
        batchId: `lost-${tag}`,
        events: [
          {
            id: `l-${tag}`,
            type: "pageview",
            occurredAt: NOW,
            url: "https://a.com/",
            visitorId: "v9",
          },
        ],
      });
      for (let i = 0; i < deadLetters; i++)
        await ctx.db.insert("deadLetters", {
          siteId: site,
          batchId: `dead-${tag}-${i}`,
          events: [],
          attempts: 3,
          error: "x",
        });
      return (await ctx.db.get("batches", batchId))!._creationTime;
    });
  }

  test("200 with the global counts and the key's site's, never another site's", async () => {
    const { t, siteId, otherSiteId, readKey, otherKey } = await setup();
    const lostAt = await backlog(t, siteId, "a", 2);
    const otherLostAt = await backlog(t, otherSiteId, "b", 5);
    // Site A's hours from the setup are now due for compaction; site B has none.
    vi.setSystemTime(NOW + 90 * 60_000);
    const response = await get(t, "/health", bearer(readKey));
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as HealthBody;
    const withoutKey = (await (await get(t, "/health")).json()) as HealthBody;
    const { site, ...global } = body;
    expect(global).toEqual(withoutKey);
    expect(global.pendingBatches).toBe(2);
    expect(global.deadLetters).toBe(7);
    expect(site).toEqual({
      siteId,
      pendingBatches: 1,
      oldestPendingAgeMs: NOW + 90 * 60_000 - lostAt,
      deadLetters: 2,
      uncompactedShards: global.uncompactedShards,
      partial: false,
    });
    expect(global.uncompactedShards).toBeGreaterThan(0);
    expect(JSON.stringify(body)).not.toContain(otherSiteId);

    // The other site's key sees its own site only, with the same global counts.
    const other = (await (await get(t, "/health", bearer(otherKey))).json()) as HealthBody;
    expect(other.site).toEqual({
      siteId: otherSiteId,
      pendingBatches: 1,
      oldestPendingAgeMs: NOW + 90 * 60_000 - otherLostAt,
      deadLetters: 5,
      uncompactedShards: 0,
      partial: false,
    });
    expect(JSON.stringify(other)).not.toContain(siteId);
  });

  test("?site= must be the key's site (403 otherwise); without a key it changes nothing", async () => {
    const { t, siteId, otherSiteId, readKey } = await setup();
    const own = await get(t, `/health?${qs({ site: siteId })}`, bearer(readKey));
    expect(own.status).toBe(200);
    expect(((await own.json()) as HealthBody).site?.siteId).toBe(siteId);
    await expectError(
      await get(t, `/health?${qs({ site: otherSiteId })}`, bearer(readKey)),
      403,
      "wrong_site",
    );
    await expectError(
      await get(t, `/health?${qs({ site: "x".repeat(201) })}`, bearer(readKey)),
      400,
      "invalid_parameter",
    );
    const anonymous = await get(t, `/health?${qs({ site: siteId })}`);
    expect(anonymous.status).toBe(200);
    const body = (await anonymous.json()) as HealthBody;
    expect(body).not.toHaveProperty("site");
    expect(JSON.stringify(body)).not.toContain(siteId);
  });

  test("401 with the error shape for a malformed, unknown or revoked key", async () => {
    const { t, siteId, readKey, keyId } = await setup();
    await expectError(await get(t, "/health", { Authorization: "Basic abc" }), 401, "unknown_key");
    await expectError(await get(t, "/health", bearer("pk_writekey")), 401, "unknown_key");
    await expectError(await get(t, "/health", bearer("rk_notakey")), 401, "unknown_key");
    expect((await get(t, "/health", bearer(readKey))).status).toBe(200);
    await t.mutation(components.analytics.readKeys.revokeReadKey, { siteId, keyId });
    const revoked = await get(t, "/health", bearer(readKey));
    await expectError(revoked, 401, "unknown_key");
    expect(revoked.headers.get("WWW-Authenticate")).toMatch(/invalid_token/);
    // Without a key it still answers.
    expect((await get(t, "/health")).status).toBe(200);
  });

  test("429 once the key has spent its minute, shared with the stats API", async () => {
    const { t, siteId, readKey } = await setup();
    const stats = `/api/v1/overview?${qs({ site: siteId, from: NOW - DAY, to: NOW })}`;
    for (let i = 0; i < READ_KEY_REQUESTS_PER_MINUTE; i++)
      expect((await get(t, i % 2 === 0 ? "/health" : stats, bearer(readKey))).status).toBe(200);
    const limited = await get(t, "/health", bearer(readKey));
    await expectError(limited, 429, "rate_limited");
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    await expectError(await get(t, stats, bearer(readKey)), 429, "rate_limited");
    // Monitors without a key are not limited by it.
    expect((await get(t, "/health")).status).toBe(200);
  });

  test("a key's site counts stop at their cap and say so", async () => {
    const { t, siteId, readKey } = await setup();
    await backlog(t, siteId, "a", HEALTH_COUNT_CAP + 1);
    const body = (await (await get(t, "/health", bearer(readKey))).json()) as HealthBody;
    expect(body.site).toMatchObject({ deadLetters: HEALTH_COUNT_CAP, partial: true });
  });

  test("fuzzed query strings and Authorization headers never produce a 5xx", async () => {
    const { t, siteId, otherSiteId, readKey, otherKey } = await setup();
    let minute = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.constantFrom("site", "x", "site[]"),
            fc.oneof(
              fc.constantFrom(siteId, otherSiteId, "", "x".repeat(201)),
              fc.string({ maxLength: 30 }),
            ),
          ),
          { maxLength: 3 },
        ),
        fc.option(
          fc.oneof(
            fc.constantFrom(`Bearer ${readKey}`, `Bearer ${otherKey}`, "Bearer rk_", "Bearer"),
            fc.string({ maxLength: 40 }),
          ),
          { nil: undefined },
        ),
        async (params, authorization) => {
          // A fresh minute each run, so the key's rate limit is not what is being tested.
          vi.setSystemTime(NOW + ++minute * 60_000);
          const query = new URLSearchParams(params).toString();
          let response: Response;
          try {
            response = await get(
              t,
              `/health?${query}`,
              authorization === undefined ? {} : { Authorization: authorization },
            );
          } catch (e) {
            // Header values the Fetch API itself refuses never reach the route.
            expect(String(e)).toMatch(/header|Header|invalid/);
            return;
          }
          expect([200, 400, 401, 403], `?${query} ${authorization}`).toContain(response.status);
          const body = (await response.json()) as { error?: { message: string } };
          if (response.status !== 200) expect(body.error?.message).toEqual(expect.any(String));
        },
      ),
      { seed: 11, numRuns: 100 },
    );
  });

  test("503 unavailable, with Retry-After, when the health check's component call throws", async () => {
    const { t, siteId, readKey } = await setup();
    // A broken invariant: two cursors for one site make SiteCursor.load's unique() throw.
    await inAnalytics(t, async (ctx) => {
      await ctx.db.insert("siteCursors", {
        siteId: ctx.db.normalizeId("sites", siteId)!,
        creationTime: 0,
        ids: [],
        retry: [],
      });
      await ctx.db.insert("siteCursors", {
        siteId: ctx.db.normalizeId("sites", siteId)!,
        creationTime: 0,
        ids: [],
        retry: [],
      });
    });
    for (const headers of [{}, bearer(readKey)]) {
      const response = await get(t, "/health", headers);
      const message = await expectError(response, 503, "unavailable");
      expect(message).not.toMatch(/unique|siteCursors/);
      expect(response.headers.get("Retry-After")).toBe("5");
    }
  });
});
