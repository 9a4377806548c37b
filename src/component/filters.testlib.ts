// Driving the filter tests (filters.test.ts, filterScans.test.ts): an oracle
// scenario ingested and processed, a filtered report's scan run to the end.
import { vi } from "vitest";
import { api } from "./_generated/api.js";
import type { AnalyticsEvent, StartFilterScanArgs } from "../shared.js";
import { createSite, drainAll, ingest, processedEvents, type T } from "./oracle.harness.testlib.js";
import { batchesOf, type Scenario } from "./oracle.streams.testlib.js";
import { buildModel } from "./oracle.testlib.js";

/** Every visitor's batches, each sent just after its last event (so creation follows event time), then processed. */
export async function ingestScenario(t: T, scenario: Scenario) {
  vi.setSystemTime(Date.parse("2026-10-01T00:00:00Z"));
  const siteId = await createSite(t, scenario.timezone);
  // Raw events kept long enough for compared periods a year back (scans refuse ranges past it).
  await t.mutation(api.sites.updateSite, { siteId, settings: { rawRetentionDays: 1_000 } });
  const batches = scenario.visitors.flatMap(batchesOf);
  const sentAt = (b: { events: AnalyticsEvent[] }) =>
    Math.max(...b.events.map((e) => e.occurredAt));
  for (const batch of batches.sort((a, b) => sentAt(a) - sentAt(b))) await ingest(t, siteId, batch);
  await drainAll(t, siteId);
  const processed = await processedEvents(t);
  return { siteId, processed, model: buildModel(processed) };
}

/** Runs the filtered report's scan to the end. */
export async function scanToEnd(t: T, args: StartFilterScanArgs) {
  await t.mutation(api.filters.startFilterScan, args);
  await t.finishAllScheduledFunctions(vi.runAllTimers);
}

/** How many of the events occurred in [from, to). */
export const inRange = (events: AnalyticsEvent[], from: number, to: number) =>
  events.filter((e) => e.occurredAt >= from && e.occurredAt < to).length;
