// The export at the scale (run by `npm run bench`, not `npm test`):
// 100,000 stored events exported step by step within transaction limits
// (convex-test's `transactionLimits: true` throws past Convex's limits, and
// every write is held to the 1 MiB document and 8,192-element array limits),
// and the CSV parsed back to exactly the stored events. `npm test` runs the
// same check at 10,000 (src/component/exportsAtScale.test.ts).
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import { indexEveryDatabase } from "../dev/indexedStore.js";
import { initConvexTest } from "../src/component/test.setup.js";
import { enforceConvexDocumentLimits } from "../src/component/convexLimits.testlib.js";
import { exportAtScale, NOW } from "../src/component/exports.testlib.js";

// Stock convex-test scans a whole table on every query; the indexed store
// (proven identical to stock by dev/indexedStore.test.ts) answers from indexes.
await indexEveryDatabase(convexTest);
enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers({ now: NOW }));
afterEach(() => vi.useRealTimers());

const EVENTS = 100_000;

test(`a ${EVENTS.toLocaleString("en")}-event export completes in bounded steps and parses back to the stored events`, async () => {
  const started = performance.now();
  let steps = 0;
  let failure: unknown = null;
  try {
    steps = await exportAtScale(initConvexTest(), EVENTS);
  } catch (e) {
    failure = e;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    [
      "",
      `EXPORT OF ${EVENTS.toLocaleString("en")} EVENTS (CSV, RFC 4180, every step within Convex's transaction limits)`,
      `  steps: ${steps} (about ${steps ? Math.round(EVENTS / steps).toLocaleString("en") : "-"} events a step), wall ${seconds.toFixed(0)} s`,
      `  ${failure ? "FAIL" : "PASS"}  the export completes and its CSV parses back to exactly the stored events`,
      "",
    ].join("\n"),
  );
  expect(failure).toBeNull();
}, 3_600_000);
