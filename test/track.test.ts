// Server-side tracking from a host mutation (example/convex/signup.ts): the
// event is counted if and only if the host's transaction commits, a retried
// event id is counted once, and events and props show up in breakdowns.
import { expect, test, vi } from "vitest";
import type { GenericMutationCtx } from "convex/server";
import { Analytics } from "../src/client/index.js";
import { api, components, internal } from "../example/convex/_generated/api.js";
import type { DataModel } from "../src/component/_generated/dataModel.js";
import { initApp, useFixedClock } from "./app.setup.js";

type App = ReturnType<typeof initApp>;

const NOW = Date.parse("2026-03-10T12:00:00Z");
const HOUR = 3_600_000;
const analytics = new Analytics<{
  signup: { plan: string };
  purchase: { sku: string; amount: number; gift: boolean };
}>(components.analytics);

useFixedClock(NOW);

async function setup() {
  const t = initApp();
  const site = await t.mutation(internal.setup.provision, {});
  return { t, siteId: site!.siteId };
}

const range = (siteId: string) => ({ siteId, from: NOW - HOUR, to: NOW + HOUR });

async function rows(t: App, siteId: string, dimension: "event" | "prop") {
  const { rows } = await t.query(api.analytics.getBreakdown, {
    ...range(siteId),
    dimension,
    limit: 100,
  });
  return rows.map((r) => [r.key, r.events, r.visitors]);
}

function batchCount(t: App) {
  const runner = t as unknown as {
    runInComponent: (
      path: string,
      f: (ctx: GenericMutationCtx<DataModel>) => Promise<number>,
    ) => Promise<number>;
  };
  return runner.runInComponent(
    "analytics",
    async (ctx) => (await ctx.db.query("batches").collect()).length,
  );
}

test("a signup tracked in a committed host mutation is counted under its event name and its props", async () => {
  const { t, siteId } = await setup();
  await t.mutation(api.signup.signup, { email: "a@example.com", plan: "pro" });
  await t.mutation(api.signup.signup, { email: "b@example.com", plan: "pro" });
  await t.mutation(api.signup.signup, { email: "c@example.com", plan: "free" });
  await t.finishAllScheduledFunctions(vi.runAllTimers);

  expect(await rows(t, siteId, "event")).toEqual([["signup", 3, 3]]);
  expect(await rows(t, siteId, "prop")).toEqual([
    ["signup|plan|pro", 2, 2],
    ["signup|plan|free", 1, 1],
  ]);
  const overview = await t.query(api.analytics.getOverview, range(siteId));
  expect([overview.events, overview.pageviews, overview.visitors]).toEqual([3, 0, 3]);
});

test("an event tracked in a host mutation that then throws is not recorded, like the host's own write", async () => {
  const { t, siteId } = await setup();
  await expect(
    t.run(async (ctx) => {
      await ctx.db.insert("users", { email: "a@example.com", plan: "pro" });
      const result = await analytics.track(ctx, {
        site: "default",
        name: "signup",
        props: { plan: "pro" },
        userId: "u1",
      });
      expect(result).toEqual({ accepted: 1, duplicate: false, rejected: [] });
      throw new Error("payment declined");
    }),
  ).rejects.toThrow("payment declined");

  expect(await t.run(async (ctx) => (await ctx.db.query("users").collect()).length)).toBe(0);
  expect(await batchCount(t)).toBe(0);
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  expect((await t.query(api.analytics.getOverview, range(siteId))).events).toBe(0);
  expect(await rows(t, siteId, "event")).toEqual([]);

  // The same event in a mutation that commits is counted.
  await t.run(async (ctx) => {
    await analytics.track(ctx, {
      site: "default",
      name: "signup",
      props: { plan: "pro" },
      userId: "u1",
    });
    return null;
  });
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  expect(await rows(t, siteId, "event")).toEqual([["signup", 1, 1]]);
});

test("a retried host mutation that tracks the same event id is counted once", async () => {
  const { t, siteId } = await setup();
  const track = () =>
    t.run(
      async (ctx) =>
        await analytics.track(ctx, {
          site: "default",
          name: "purchase",
          id: "order-42",
          userId: "u1",
          props: { sku: "A-1", amount: 30, gift: true },
        }),
    );
  expect(await track()).toEqual({ accepted: 1, duplicate: false, rejected: [] });
  expect(await track()).toEqual({ accepted: 0, duplicate: true, rejected: [] });
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  // Still a duplicate once the first one has been processed and compacted.
  expect(await track()).toEqual({ accepted: 0, duplicate: true, rejected: [] });
  await t.finishAllScheduledFunctions(vi.runAllTimers);

  expect(await rows(t, siteId, "event")).toEqual([["purchase", 1, 1]]);
  expect(await rows(t, siteId, "prop")).toEqual([
    ["purchase|amount|30", 1, 1],
    ["purchase|gift|true", 1, 1],
    ["purchase|sku|A-1", 1, 1],
  ]);
});

test("track finds a site by id as well as by slug, and counts one visitor per user", async () => {
  const { t, siteId } = await setup();
  await t.run(async (ctx) => {
    await analytics.track(ctx, {
      site: siteId,
      name: "signup",
      props: { plan: "pro" },
      userId: "u1",
    });
    await analytics.track(ctx, {
      site: "default",
      name: "signup",
      props: { plan: "pro" },
      userId: "u1",
    });
    await analytics.track(ctx, {
      site: "default",
      name: "signup",
      props: { plan: "pro" },
      visitorId: "anon-7",
    });
    return null;
  });
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  expect(await rows(t, siteId, "event")).toEqual([["signup", 3, 2]]);
});

test("track refuses an unknown site and an event with neither a userId nor a visitorId with a reason, and the host's mutation still commits", async () => {
  const { t } = await setup();
  const results = await t.run(async (ctx) => {
    await ctx.db.insert("users", { email: "kept@example.com", plan: "pro" });
    return [
      await analytics.track(ctx, {
        site: "no-such-site",
        name: "signup",
        props: { plan: "pro" },
        userId: "u1",
      }),
      await analytics.track(ctx, { site: "default", name: "signup", props: { plan: "pro" } }),
    ];
  });
  expect(results).toEqual([
    {
      accepted: 0,
      duplicate: false,
      rejected: [{ index: 0, reason: 'unknown site "no-such-site"' }],
    },
    {
      accepted: 0,
      duplicate: false,
      rejected: [{ index: 0, reason: "track needs a visitorId or a userId" }],
    },
  ]);
  expect(await t.run(async (ctx) => (await ctx.db.query("users").collect()).length)).toBe(1);
  expect(await batchCount(t)).toBe(0);
});
