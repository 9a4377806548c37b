// The proof for exports at scale: 100,000 events in bounded steps,
// within transaction limits, to a CSV that parses back to exactly the stored
// events (commas, quotes, newlines, unicode). A file of its own so that it runs
// beside the other tests: it takes about 5 minutes on stock convex-test.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { initConvexTest } from "./test.setup.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { EVENT_COLUMNS } from "./exports.js";
import {
  expectedEventRows,
  fileText,
  HOUR,
  newSite,
  NOW,
  parseCsv,
  runExport,
  storeEvents,
} from "./exports.testlib.js";

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers({ now: NOW }));
afterEach(() => vi.useRealTimers());

describe("exporting events at scale", () => {
  test("100,000 events export in bounded steps, within transaction limits, to a CSV that parses back to exactly the stored events", async () => {
    const t = initConvexTest();
    const siteId = await newSite(t);
    await storeEvents(t, siteId, 100_000);
    const range = { from: NOW - 2 * HOUR, to: NOW + HOUR };
    const { exportId } = await t.mutation(api.exports.startExport, {
      siteId,
      kind: "events",
      ...range,
    });
    const steps = await runExport(t, siteId, exportId);
    const progress = await t.query(api.exports.getExport, { siteId, exportId });
    expect(progress).toMatchObject({
      status: "done",
      done: true,
      error: null,
      rowsWritten: 100_000,
    });
    expect(steps).toBeGreaterThan(10);
    const [header, ...rows] = parseCsv(await fileText(t, siteId, exportId));
    expect(header).toEqual([...EVENT_COLUMNS]);
    const expected = await expectedEventRows(t, range.from, range.to);
    expect(expected).toHaveLength(100_000);
    expect(rows.length).toBe(expected.length);
    for (let i = 0; i < rows.length; i++)
      if (rows[i].join("\u0000") !== expected[i].join("\u0000"))
        expect(rows[i]).toEqual(expected[i]);
    // The parts are gone once the file is whole.
    const job = await t.run(async (ctx) => await ctx.db.get("exports", exportId as Id<"exports">));
    expect(job!.chunks).toEqual([]);
  }, 600_000);
});
