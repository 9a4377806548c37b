// The host-facing facades (example/convex/analytics.ts): every exported function
// runs the host's auth callback before it touches the component, and report
// arguments a dashboard could get wrong fail with a clear error.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import type { FunctionReference } from "convex/server";
import { exposeAdminApi, exposeAnalyticsApi, exposeMaintenanceApi } from "../src/client/index.js";
import * as analyticsModule from "../example/convex/analytics.js";
import { api, components, internal } from "../example/convex/_generated/api.js";
import { inComponent, initApp } from "./app.setup.js";

type App = ReturnType<typeof initApp>;
/** The app accessor, with or without an identity. */
type Caller = Pick<App, "query" | "mutation">;

const NOW = Date.parse("2026-03-10T12:00:00Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ADMIN = "admin@example.com";

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(NOW);
  vi.stubEnv("ANALYTICS_DEV_OPEN", "");
  vi.stubEnv("ANALYTICS_ADMINS", `someone@example.com, ${ADMIN}`);
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

/** Plain-object views of the registered functions, to read their kind without `any`. */
type Registered = {
  isQuery?: boolean;
  isMutation?: boolean;
  isAction?: boolean;
  isPublic?: boolean;
};
const allExports = Object.entries(analyticsModule as Record<string, Registered>).sort(([a], [b]) =>
  a.localeCompare(b),
);
/** What a browser can reach: the public exports. The maintenance exports are internal (crons only). */
const exported = allExports.filter(([, fn]) => fn.isPublic);
const exportedNames = exported.map(([name]) => name);
const internalNames = allExports.filter(([, fn]) => !fn.isPublic).map(([name]) => name);
const noAuth = { auth: async () => {} };
const READ_NAMES = Object.keys(exposeAnalyticsApi(components.analytics, noAuth)).sort();
const ADMIN_NAMES = Object.keys(exposeAdminApi(components.analytics, noAuth)).sort();
const MAINTENANCE_NAMES = Object.keys(exposeMaintenanceApi(components.analytics)).sort();

/** The export and the rebuild setup() starts, so that getExport and getRebuild have one to show. */
let existingExportId = "";
/** The deletion setup() starts, so that getDeletion has one to show, and the site deleteSite deletes. */
let existingDeletionId = "";
let doomedSiteId = "";
let existingRebuildId = "";

/** Valid arguments for every exported function. A new export without an entry here fails the first test. */
function argsFor(siteId: string, deadLetterId = ""): Record<string, Record<string, unknown>> {
  const range = { siteId, from: NOW - 2 * HOUR, to: NOW };
  return {
    getOverview: range,
    getTimeseries: range,
    getBreakdown: { ...range, dimension: "page" },
    getPropertyBreakdown: { ...range, event: "signup", property: "plan" },
    getRealtime: { siteId, now: NOW },
    listEvents: { siteId, paginationOpts: { numItems: 10, cursor: null } },
    listSessions: { siteId, paginationOpts: { numItems: 10, cursor: null } },
    startExport: { siteId, kind: "events", from: NOW - DAY, to: NOW },
    getExport: { siteId, exportId: existingExportId },
    getFunnel: { siteId, from: NOW - DAY, to: NOW, steps: [{ path: "/" }, { event: "signup" }] },
    startFunnel: { siteId, from: NOW - DAY, to: NOW, steps: [{ path: "/" }, { event: "signup" }] },
    startFilterScan: {
      report: "overview",
      siteId,
      from: NOW - DAY,
      to: NOW,
      filters: [
        { dimension: "country", op: "is", value: "DE" },
        { dimension: "page", op: "contains", value: "/blog" },
      ],
    },
    createSite: { slug: "new-site", name: "New site" },
    getSite: { siteId },
    getSiteBySlug: { slug: "default" },
    listSites: {},
    updateSite: { siteId, name: "Renamed" },
    rotateWriteKey: { siteId },
    listDeadLetters: { siteId },
    retryDeadLetter: { siteId, deadLetterId },
    discardDeadLetter: { siteId, deadLetterId },
    getBotCounts: { siteId, days: 7 },
    createReadKey: { siteId, name: "status page" },
    listReadKeys: { siteId },
    revokeReadKey: { siteId, keyId: "no-such-key" },
    deleteVisitorData: { siteId, visitorId: "v-nobody" },
    getDeletion: { siteId, deletionId: existingDeletionId },
    // Another site: deleting this test's own would leave the functions after it nothing to act on.
    deleteSite: { siteId: doomedSiteId || siteId },
    // The site's own timezone, as setup's rebuild: the call returns that rebuild.
    rebuildRollups: { siteId },
    getRebuild: { siteId, rebuildId: existingRebuildId },
    // Before rebuildRollups (the calls run in name order), which then starts another.
    cancelRebuild: { siteId, rebuildId: existingRebuildId },
    // After cancelRebuild (name order): goals cannot be created while a rebuild runs.
    getGoals: { ...range, compare: "previous" },
    createGoal: { siteId, name: "Signup", match: { event: "signup" } },
    listGoals: { siteId },
    deleteGoal: { siteId, goalId: "no-such-goal" },
  };
}

/** Calls an export of example/convex/analytics.ts by name, as a browser client would. */
async function call(t: Caller, name: string, args: Record<string, unknown>): Promise<unknown> {
  const kind = (analyticsModule as Record<string, Registered>)[name]!;
  const refs = api.analytics as unknown as Record<
    string,
    FunctionReference<"query" | "mutation", "public", Record<string, unknown>>
  >;
  const ref = refs[name]!;
  return kind.isQuery
    ? await t.query(ref as FunctionReference<"query", "public", Record<string, unknown>>, args)
    : await t.mutation(
        ref as FunctionReference<"mutation", "public", Record<string, unknown>>,
        args,
      );
}

/** The "default" site, owned by OWNER. */
const OWNER = "reader@example.com";
async function setup() {
  const t = initApp();
  const site = await t.mutation(internal.setup.provision, { ownerEmail: OWNER });
  // An export of the site, for getExport's arguments.
  const started = await t.mutation(components.analytics.exports.startExport, {
    siteId: site!.siteId,
    kind: "sessions",
    from: NOW - DAY,
    to: NOW,
  });
  existingExportId = started.exportId;
  const deletion = await t.mutation(components.analytics.deletions.deleteVisitorData, {
    siteId: site!.siteId,
    userId: "user-gone",
  });
  existingDeletionId = deletion.deletionId;
  doomedSiteId = (
    await t.mutation(components.analytics.sites.createSite, { slug: "doomed", name: "Doomed" })
  ).siteId;
  const rebuild = await t.mutation(components.analytics.rebuilds.rebuildRollups, {
    siteId: site!.siteId,
  });
  existingRebuildId = rebuild.rebuildId;
  // One dead letter, for the dead-letter functions to act on.
  const deadLetterId = await inComponent(t, "analytics", async (ctx) =>
    String(
      await ctx.db.insert("deadLetters", {
        siteId: site!.siteId,
        batchId: "poison",
        events: [],
        attempts: 3,
        error: "boom",
      }),
    ),
  );
  return { t, siteId: site!.siteId, writeKey: site!.writeKey, deadLetterId };
}

const REFUSED =
  /Sign in to see analytics|Only this site's owners may see its analytics|Only analytics admins may do this/;

describe("auth runs first, for every exported function", () => {
  test("example/convex/analytics.ts exports exactly the two facades' functions, each a public query or mutation, and only the maintenance functions as internal", () => {
    expect(exportedNames).toEqual([...READ_NAMES, ...ADMIN_NAMES].sort());
    expect(internalNames).toEqual(MAINTENANCE_NAMES);
    expect(Object.keys(argsFor("x")).sort()).toEqual(exportedNames);
    for (const [name, fn] of exported) {
      expect({
        name,
        public: fn.isPublic,
        kind: fn.isQuery ? "query" : fn.isMutation ? "mutation" : "other",
      }).toEqual({
        name,
        public: true,
        kind: expect.stringMatching(/^(query|mutation)$/),
      });
    }
  });

  test("every exported function refuses a caller without identity, and none of the refused writes happened", async () => {
    const { t, siteId, writeKey, deadLetterId } = await setup();
    const args = argsFor(siteId, deadLetterId);
    const refused: string[] = [];
    for (const name of exportedNames) {
      await expect(call(t, name, args[name]!), name).rejects.toThrow(REFUSED);
      refused.push(name);
    }
    expect(refused).toEqual(exportedNames);
    // createSite, updateSite and rotateWriteKey were refused before they wrote anything.
    vi.stubEnv("ANALYTICS_DEV_OPEN", "1");
    const sites = await t.query(api.analytics.listSites, {});
    expect(sites.map((s) => [s.slug, s.name])).toEqual([
      ["default", "Example site"],
      ["doomed", "Doomed"],
    ]);
    const res = await t.fetch("/analytics/ingest", {
      method: "POST",
      body: JSON.stringify({
        key: writeKey,
        batchId: "b",
        events: [{ id: "e", type: "pageview", occurredAt: NOW, url: "https://ex.com/" }],
      }),
    });
    expect(res.status).toBe(202);
  });

  test("auth runs before the component is asked anything: an unknown site still gets the auth error, not 'Unknown site'", async () => {
    const { t } = await setup();
    const args = argsFor("no-such-site");
    for (const name of exportedNames) {
      const a = name === "getSiteBySlug" ? { slug: "no-such-slug" } : args[name]!;
      await expect(call(t, name, a), name).rejects.toThrow(REFUSED);
    }
  });

  test("a site's owner who is not an admin may call every read function of that site and manage it, but not create sites or look them up by slug", async () => {
    const { t, siteId, deadLetterId } = await setup();
    const owner = t.withIdentity({ email: OWNER, emailVerified: true });
    const args = argsFor(siteId, deadLetterId);
    const outcomes: Record<string, string> = {};
    for (const name of exportedNames) {
      outcomes[name] = await call(owner, name, args[name]!).then(
        () => "ok",
        (e: Error) => (REFUSED.test(e.message) ? "refused" : `error: ${e.message}`),
      );
    }
    expect(outcomes).toEqual({
      ...Object.fromEntries([...READ_NAMES, ...ADMIN_NAMES].map((n) => [n, "ok"])),
      createSite: "refused",
      getSiteBySlug: "refused",
      deleteSite: "refused",
    });
  });

  test("listSites returns only the sites the caller owns: an admin sees all four, an owner of two sees two, a verified stranger none, and an anonymous caller is refused", async () => {
    const { t, siteId } = await setup();
    const more = await t.run(async (ctx) => {
      const ids: string[] = [];
      for (const slug of ["second", "third"]) {
        const { siteId: id } = await ctx.runMutation(components.analytics.sites.createSite, {
          slug,
          name: slug,
          timezone: "UTC",
          allowedOrigins: [],
        });
        ids.push(id);
      }
      await ctx.db.insert("siteOwners", { email: OWNER, siteId: ids[0]! });
      return ids;
    });
    const slugs = async (caller: Caller) =>
      (await caller.query(api.analytics.listSites, {})).map((s) => s.slug).sort();
    expect(await slugs(t.withIdentity({ email: ADMIN, emailVerified: true }))).toEqual([
      "default",
      "doomed",
      "second",
      "third",
    ]);
    const owner = t.withIdentity({ email: OWNER, emailVerified: true });
    expect(await slugs(owner)).toEqual(["default", "second"]);
    expect(
      await slugs(t.withIdentity({ email: "stranger@example.com", emailVerified: true })),
    ).toEqual([]);
    await expect(t.query(api.analytics.listSites, {})).rejects.toThrow(REFUSED);
    // Owning two sites manages those two only.
    await owner.mutation(api.analytics.updateSite, { siteId, name: "Mine" });
    await expect(
      owner.mutation(api.analytics.rotateWriteKey, { siteId: more[1]! }),
    ).rejects.toThrow("Only analytics admins may do this");
    await expect(
      owner.mutation(api.analytics.updateSite, { siteId: more[1]!, enabled: false }),
    ).rejects.toThrow("Only analytics admins may do this");
    expect(
      (
        await t.run(async (ctx) =>
          ctx.runQuery(components.analytics.sites.getSite, { siteId: more[1]! }),
        )
      )?.enabled,
    ).toBe(true);
  });

  test("an admin's or an owner's email counts only when verified: with emailVerified false or missing, every function is refused", async () => {
    const { t, siteId, deadLetterId } = await setup();
    const args = argsFor(siteId, deadLetterId);
    for (const identity of [
      { email: ADMIN },
      { email: ADMIN, emailVerified: false },
      { email: OWNER },
      { email: OWNER, emailVerified: false },
    ]) {
      const caller = t.withIdentity(identity);
      for (const name of exportedNames)
        await expect(
          call(caller, name, args[name]!),
          `${name} ${JSON.stringify(identity)}`,
        ).rejects.toThrow(REFUSED);
    }
  });

  test("a signed-in user who owns no site, or another site, may call no read function of this one", async () => {
    const { t, siteId, deadLetterId } = await setup();
    const args = argsFor(siteId, deadLetterId);
    // Another site, owned by someone else: owning it opens nothing here.
    const other = await t.run(async (ctx) => {
      const { siteId: otherId } = await ctx.runMutation(components.analytics.sites.createSite, {
        slug: "other",
        name: "Other",
        timezone: "UTC",
        allowedOrigins: [],
      });
      await ctx.db.insert("siteOwners", { email: "other@example.com", siteId: otherId });
      return otherId;
    });
    for (const email of ["stranger@example.com", "other@example.com"]) {
      const user = t.withIdentity({ email, emailVerified: true });
      for (const name of READ_NAMES) {
        await expect(call(user, name, args[name]!)).rejects.toThrow(
          "Only this site's owners may see its analytics",
        );
      }
    }
    // The other site's owner reads their own site.
    expect(
      await t
        .withIdentity({ email: "other@example.com", emailVerified: true })
        .query(api.analytics.getOverview, { siteId: other, from: NOW - HOUR, to: NOW }),
    ).toMatchObject({ pageviews: 0 });
  });

  test("an admin listed in ANALYTICS_ADMINS may call every function; an identity without an email may not", async () => {
    const { t, siteId, deadLetterId } = await setup();
    const admin = t.withIdentity({ email: ADMIN, emailVerified: true });
    const args = argsFor(siteId, deadLetterId);
    for (const name of exportedNames) await call(admin, name, args[name]!);
    expect((await admin.query(api.analytics.getSite, { siteId }))?.name).toBe("Renamed");
    expect((await admin.query(api.analytics.listSites, {})).map((s) => s.slug).sort()).toEqual([
      "default",
      "new-site",
    ]);

    const anonymous = t.withIdentity({ subject: "user-without-email" });
    await expect(anonymous.query(api.analytics.listSites, {})).rejects.toThrow(
      "Only analytics admins may do this",
    );
    // No longer listed: a verified user owning no site, who lists none and may create none.
    vi.stubEnv("ANALYTICS_ADMINS", "");
    expect(await admin.query(api.analytics.listSites, {})).toEqual([]);
    await expect(
      admin.mutation(api.analytics.createSite, { slug: "later", name: "Later" }),
    ).rejects.toThrow("Only analytics admins may do this");
  });

  test("ANALYTICS_DEV_OPEN=1 opens every function to an anonymous caller, and only the exact value 1 does", async () => {
    const { t, siteId, deadLetterId } = await setup();
    const args = argsFor(siteId, deadLetterId);
    vi.stubEnv("ANALYTICS_DEV_OPEN", "true");
    await expect(t.query(api.analytics.listSites, {})).rejects.toThrow(REFUSED);
    vi.stubEnv("ANALYTICS_DEV_OPEN", "1");
    for (const name of exportedNames) await call(t, name, args[name]!);
    expect((await t.query(api.analytics.listSites, {})).length).toBe(2);
  });
});

describe("report arguments", () => {
  const reports = ["getOverview", "getTimeseries", "getBreakdown"] as const;
  const reportArgs = (name: (typeof reports)[number], siteId: string, from: number, to: number) =>
    name === "getBreakdown" ? { siteId, from, to, dimension: "page" } : { siteId, from, to };

  test("an inverted or empty range is refused with a message naming both ends", async () => {
    const { t, siteId } = await setup();
    const reader = t.withIdentity({ email: OWNER, emailVerified: true });
    for (const name of reports) {
      await expect(
        call(reader, name, reportArgs(name, siteId, NOW, NOW - DAY)),
        name,
      ).rejects.toThrow(`Invalid range: to (${NOW - DAY}) must be after from (${NOW})`);
      await expect(call(reader, name, reportArgs(name, siteId, NOW, NOW)), name).rejects.toThrow(
        /Invalid range: to .* must be after from/,
      );
    }
  });

  test("a range of 400 days is answered and one hour more is refused as over 400 days", async () => {
    const { t, siteId } = await setup();
    const reader = t.withIdentity({ email: OWNER, emailVerified: true });
    for (const name of reports) {
      await call(reader, name, reportArgs(name, siteId, NOW - 400 * DAY, NOW));
      await expect(
        call(reader, name, reportArgs(name, siteId, NOW - 400 * DAY - HOUR, NOW)),
        name,
      ).rejects.toThrow("Invalid range: at most 400 days can be reported at once");
    }
  });

  test("non-finite range ends are refused", async () => {
    const { t, siteId } = await setup();
    const reader = t.withIdentity({ email: OWNER, emailVerified: true });
    await expect(
      reader.query(api.analytics.getOverview, { siteId, from: Number.NEGATIVE_INFINITY, to: NOW }),
    ).rejects.toThrow("from and to must be finite epoch milliseconds");
    await expect(
      reader.query(api.analytics.getOverview, { siteId, from: NOW - DAY, to: Number.NaN }),
    ).rejects.toThrow("from and to must be finite epoch milliseconds");
  });

  test("an unknown site id is refused by every report and admin call that takes one, naming the id", async () => {
    const { t, siteId } = await setup();
    const admin = t.withIdentity({ email: ADMIN, emailVerified: true });
    // A well-formed id of another table, and a string that is no id at all.
    const users = await t.run(
      async (ctx) => await ctx.db.insert("users", { email: "u@example.com", plan: "free" }),
    );
    for (const bad of ["no-such-site", users]) {
      for (const name of [
        "getOverview",
        "getTimeseries",
        "getBreakdown",
        "getRealtime",
        "listEvents",
        "listSessions",
        "startExport",
        "getExport",
        "getFunnel",
        "startFunnel",
        "startFilterScan",
        "updateSite",
        "rotateWriteKey",
        "listDeadLetters",
        "rebuildRollups",
        "cancelRebuild",
      ]) {
        await expect(call(admin, name, argsFor(bad)[name]!), name).rejects.toThrow(
          `Unknown site "${bad}"`,
        );
      }
      expect(await admin.query(api.analytics.getSite, { siteId: bad })).toBeNull();
    }
    expect(await admin.query(api.analytics.getSiteBySlug, { slug: "no-such-slug" })).toBeNull();
    expect(siteId).toBeTruthy();
  });

  test("a breakdown limit must be an integer from 1 to 1,000", async () => {
    const { t, siteId } = await setup();
    const reader = t.withIdentity({ email: OWNER, emailVerified: true });
    const range = { siteId, from: NOW - DAY, to: NOW, dimension: "page" as const };
    for (const limit of [0, -1, 1.5, 1_001, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(
        reader.query(api.analytics.getBreakdown, { ...range, limit }),
        String(limit),
      ).rejects.toThrow("limit must be an integer from 1 to 1000");
    }
    for (const limit of [1, 1_000])
      expect((await reader.query(api.analytics.getBreakdown, { ...range, limit })).rows).toEqual(
        [],
      );
  });

  test("minute granularity is refused for a range starting more than 2 hours ago", async () => {
    const { t, siteId } = await setup();
    const reader = t.withIdentity({ email: OWNER, emailVerified: true });
    await expect(
      reader.query(api.analytics.getTimeseries, {
        siteId,
        from: NOW - 3 * HOUR,
        to: NOW,
        granularity: "minute",
      }),
    ).rejects.toThrow("Minute granularity covers only the last 2 hours");
    const { points } = await reader.query(api.analytics.getTimeseries, {
      siteId,
      from: NOW - HOUR,
      to: NOW,
      granularity: "minute",
    });
    expect(points.length).toBe(60);
  });
});

describe("the reports' auth callback", () => {
  type Handler = (ctx: unknown, args: Record<string, unknown>) => Promise<unknown>;
  const handlerOf = (fn: unknown) => (fn as { _handler: Handler })._handler;

  test("receives each report's operation and siteId (compare and property arguments included), and when it throws the component is never asked", async () => {
    const { t, siteId } = await setup();
    const range = { siteId, from: NOW - 2 * HOUR, to: NOW, compare: "previous" };
    const calls: { operation: string; siteId?: string }[] = [];
    const recording = exposeAnalyticsApi(components.analytics, {
      auth: async (_ctx, { operation, siteId }) => {
        calls.push({ operation, siteId });
      },
    });
    const refusing = exposeAnalyticsApi(components.analytics, {
      auth: async () => {
        throw new Error("refused by the host");
      },
    });
    const reports = {
      getOverview: range,
      getTimeseries: { ...range, compare: "yearOverYear" },
      getBreakdown: { ...range, dimension: "page", compare: { from: NOW - DAY, to: NOW - HOUR } },
      getPropertyBreakdown: { ...range, event: "signup", property: "plan" },
      getRealtime: { siteId, now: NOW },
      getGoals: { ...range, compare: { from: NOW - DAY, to: NOW - HOUR } },
    } as const;
    await t.run(async (ctx) => {
      const asked: string[] = [];
      const spying = {
        ...ctx,
        runQuery: async (...a: unknown[]) => {
          asked.push("component");
          return await (ctx.runQuery as (...a: unknown[]) => Promise<unknown>)(...a);
        },
      };
      for (const [name, args] of Object.entries(reports)) {
        await handlerOf(recording[name as keyof typeof reports])(spying, args);
        await expect(
          handlerOf(refusing[name as keyof typeof reports])(spying, args),
          name,
        ).rejects.toThrow("refused by the host");
      }
      // One component call per report, all from the recording facade.
      expect(asked.length).toBe(Object.keys(reports).length);
    });
    expect(calls).toEqual(Object.keys(reports).map((operation) => ({ operation, siteId })));
  });

  test("the goal admin functions' callback receives the operation and siteId, and when it throws the component is never asked", async () => {
    const { t, siteId } = await setup();
    // Goals cannot be created while a rebuild runs: setup's is cancelled first.
    await t.mutation(components.analytics.rebuilds.cancelRebuild, {
      siteId,
      rebuildId: existingRebuildId,
    });
    const calls: { operation: string; siteId?: string }[] = [];
    const recording = exposeAdminApi(components.analytics, {
      auth: async (_ctx, { operation, siteId }) => {
        calls.push({ operation, siteId });
      },
    });
    const refusing = exposeAdminApi(components.analytics, {
      auth: async () => {
        throw new Error("refused by the host");
      },
    });
    await t.run(async (ctx) => {
      const asked: string[] = [];
      const spy =
        (run: (...a: unknown[]) => Promise<unknown>) =>
        async (...a: unknown[]) => {
          asked.push("component");
          return await run(...a);
        };
      const spying = {
        ...ctx,
        runQuery: spy(ctx.runQuery as (...a: unknown[]) => Promise<unknown>),
        runMutation: spy(ctx.runMutation as (...a: unknown[]) => Promise<unknown>),
      };
      const refused = async (name: "createGoal" | "listGoals" | "deleteGoal", args: object) =>
        await expect(handlerOf(refusing[name])(spying, { ...args }), name).rejects.toThrow(
          "refused by the host",
        );
      const match = { event: "signup", props: { plan: "pro" } };
      await refused("createGoal", { siteId, name: "Pro", match });
      const { goalId } = (await handlerOf(recording.createGoal)(spying, {
        siteId,
        name: "Pro",
        match,
      })) as { goalId: string };
      await refused("listGoals", { siteId });
      expect(await handlerOf(recording.listGoals)(spying, { siteId })).toEqual([
        expect.objectContaining({ goalId, name: "Pro", match }),
      ]);
      await refused("deleteGoal", { siteId, goalId });
      expect(await handlerOf(recording.deleteGoal)(spying, { siteId, goalId })).toBe(true);
      // One component call per recorded call, none from the refusing facade.
      expect(asked.length).toBe(3);
    });
    expect(calls).toEqual(
      ["createGoal", "listGoals", "deleteGoal"].map((operation) => ({ operation, siteId })),
    );
  });
});
