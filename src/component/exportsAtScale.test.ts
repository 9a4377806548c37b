// The proof for exports at scale: many events in bounded steps,
// within transaction limits, to a CSV that parses back to exactly the stored
// events (commas, quotes, newlines, unicode). 10,000 events here; `npm run
// bench` runs the same check at 100,000 (bench/exports.bench.test.ts), which
// takes about 5 minutes on stock convex-test.
import { afterEach, beforeEach, describe, test, vi } from "vitest";
import { initConvexTest } from "./test.setup.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { exportAtScale, NOW } from "./exports.testlib.js";

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers({ now: NOW }));
afterEach(() => vi.useRealTimers());

describe("exporting events at scale", () => {
  test("10,000 events export in bounded steps, within transaction limits, to a CSV that parses back to exactly the stored events", async () => {
    await exportAtScale(initConvexTest(), 10_000);
  }, 300_000);
});
