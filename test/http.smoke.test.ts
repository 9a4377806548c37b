import { expect, test } from "vitest";
import { initApp } from "./app.setup.js";
import { internal } from "../example/convex/_generated/api.js";

test("a batch posted to the ingest route is accepted with 202", async () => {
  const t = initApp();
  const site = await t.mutation(internal.setup.provision, {});
  const res = await t.fetch("/analytics/ingest", {
    method: "POST",
    headers: { "Content-Type": "text/plain", Origin: "https://ex.com" },
    body: JSON.stringify({ key: site!.writeKey, batchId: "b1", sentAt: Date.now(), events: [{ id: "e1", type: "pageview", occurredAt: Date.now(), url: "https://ex.com/" }] }),
  });
  expect(res.status).toBe(202);
  expect(await res.json()).toEqual({ accepted: 1, duplicate: false, rejected: [] });
  expect(res.headers.get("access-control-allow-origin")).toBe("https://ex.com");
});
