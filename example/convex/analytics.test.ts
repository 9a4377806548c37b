/// <reference types="vite/client" />
import { convexTest } from "convex-test";
import { register } from "convex-event-analytics/test";
import { expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import schema from "./schema.js";

const modules = import.meta.glob("./**/*.ts");

test("a batch posted to the ingest route shows up in the owner's overview", async () => {
  vi.useFakeTimers();
  const t = convexTest({ schema, modules, transactionLimits: true });
  register(t); // "analytics" and its child components

  const site = await t.mutation(internal.setup.provision, {
    ownerEmail: "owner@example.com",
    allowedOrigins: ["https://example.com"],
  });
  const now = Date.now();
  const userAgent =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
  const response = await t
    .withRequestMetadata({ ip: "203.0.113.7", userAgent })
    .fetch("/analytics/ingest", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Origin: "https://example.com",
        "User-Agent": userAgent,
      },
      body: JSON.stringify({
        key: site!.writeKey,
        batchId: "b1",
        sentAt: now,
        events: [
          { id: "e1", type: "pageview", occurredAt: now, url: "https://example.com/" },
          {
            id: "e2",
            type: "pageview",
            occurredAt: now + 1000,
            url: "https://example.com/pricing",
          },
        ],
      }),
    });
  expect(response.status).toBe(202);
  // Ingest schedules the worker that counts the batch: run it.
  await t.finishAllScheduledFunctions(vi.runAllTimers);

  const owner = t.withIdentity({ email: "owner@example.com", emailVerified: true });
  const overview = await owner.query(api.analytics.getOverview, {
    siteId: site!.siteId,
    from: now - 60 * 60 * 1000,
    to: now + 60 * 60 * 1000,
  });
  expect(overview).toMatchObject({ visitors: 1, pageviews: 2, sessions: 1 });
  vi.useRealTimers();
});
