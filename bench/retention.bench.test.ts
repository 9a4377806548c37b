/// <reference types="vite/client" />
// Retention catch-up at full size (`npm run bench`; src/component/retention.test.ts
// runs a reduced one in `npm test`): 60 days of 5,000 events a day, ingested
// through the component's ingest, drained by the worker and compacted; then the
// clock moves on and applyRetention runs with everything it schedules until
// nothing is pending. It checks what is left against the retention oracle
// (every document past its retention gone, every other one untouched), and
// prints cleanup throughput (documents deleted per run) and the worst
// transaction of every maintenance function (kick's too, on the same history),
// each target as a PASS/FAIL line.
import { afterAll, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import { indexEveryDatabase } from "../dev/indexedStore.js";
import { initConvexTest } from "../src/component/test.setup.js";
import {
  expectRetained,
  expectedAfterRetention,
  ingestHistories,
  ingestLive,
  runMaintenance,
  snapshot,
  type History,
} from "../src/component/retention.testlib.js";
import { DAY, HOUR } from "../src/component/time.js";

// Stock convex-test scans the whole database on every query; the project's indexed
// store (dev/indexedStore.ts, identical results and transaction metrics) does not.
await indexEveryDatabase(convexTest);
const wallNow = performance.now.bind(performance);
vi.useFakeTimers();

const DAYS = Number(process.env.RETENTION_BENCH_DAYS ?? 60);
const EVENTS_PER_DAY = Number(process.env.RETENTION_BENCH_EVENTS ?? 5_000);
const BUDGET = 4 * 1024 * 1024;
const FROM = Date.UTC(2026, 0, 1);
const NOW = FROM + (DAYS + 20) * DAY + 12 * HOUR;
const SITE: History = {
  slug: "bench",
  timezone: "Europe/Berlin",
  // Every level cut inside the history (as in retention.test.ts), scaled to its length.
  settings: {
    rawRetentionDays: Math.round(DAYS / 2),
    hourlyRollupRetentionDays: Math.round(DAYS / 2.4),
    dailyRollupRetentionDays: Math.round(DAYS / 1.5),
    monthlyRollupRetentionDays: Math.round(DAYS / 1.33),
    botCountRetentionDays: Math.round(DAYS / 2.4),
    deadLetterRetentionDays: Math.round(DAYS / 2.4),
  },
  from: FROM,
  days: DAYS,
  eventsPerDay: EVENTS_PER_DAY,
  // Business hours (UTC): 12 bursts of batches a day.
  hours: [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18],
};

const lines: string[] = [];
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
const verdict = (ok: boolean, what: string) => lines.push(`${ok ? "PASS" : "FAIL"} ${what}`);

afterAll(() => console.log(`\n${lines.join("\n")}\n`));

test(`retention catches up on ${DAYS} days of ${EVENTS_PER_DAY} events a day within budget`, async () => {
  const t = initConvexTest();
  let started = wallNow();
  const [siteId] = await ingestHistories(t, [SITE]);
  vi.setSystemTime(NOW);
  await ingestLive(t, siteId!, SITE.slug);
  const before = await snapshot(t);
  lines.push(
    `retention bench: ${DAYS} days x ${EVENTS_PER_DAY} events, ingested, drained and compacted in ${((wallNow() - started) / 1000).toFixed(0)} s`,
    `  documents before: ${Object.entries(before)
      .filter(([, docs]) => docs.length > 0)
      .map(([table, docs]) => `${table} ${docs.length}`)
      .join(", ")}`,
  );

  // The other cron, on the same history: kick's pages of sites and its look-ups of stalled work.
  const kicked = await runMaintenance(t, "maintenance:kick");
  for (const [name, f] of Object.entries(kicked.functions)) {
    const w = f.worst;
    lines.push(
      `  ${name}: ${f.runs} runs; worst transaction: ${mib(w.bytesRead)} read, ${mib(w.bytesWritten)} written, ${w.documentsRead} documents read, ${w.documentsWritten} written`,
    );
    verdict(
      w.bytesRead <= BUDGET && w.bytesWritten <= BUDGET,
      `${name}: every transaction <= 4 MiB read and written`,
    );
  }

  started = wallNow();
  const run = await runMaintenance(t);
  const seconds = (wallNow() - started) / 1000;
  const deleted = Object.values(run.functions).reduce((n, f) => n + f.deleted, 0);
  lines.push(
    `  cleanup: ${deleted} documents deleted in ${run.runs} runs, ${Math.round(deleted / run.runs)} per run (${seconds.toFixed(1)} s here)`,
  );
  for (const [name, f] of Object.entries(run.functions)) {
    const w = f.worst;
    lines.push(
      `  ${name}: ${f.runs} runs, ${f.deleted} deleted (${Math.round(f.deleted / f.runs)} per run); worst transaction: ${mib(w.bytesRead)} read, ${mib(w.bytesWritten)} written, ${w.documentsRead} documents read, ${w.documentsWritten} written`,
    );
    verdict(
      w.bytesRead <= BUDGET && w.bytesWritten <= BUDGET,
      `${name}: every transaction <= 4 MiB read and written`,
    );
  }
  const after = await snapshot(t);
  const expected = expectedAfterRetention(before, NOW);
  let exact = true;
  try {
    expectRetained(after, expected);
  } catch (error) {
    exact = false;
    lines.push(`  ${String(error).slice(0, 500)}`);
  }
  verdict(exact, "everything past each retention is gone, every other document untouched");
  const second = await runMaintenance(t);
  const again = Object.values(second.functions).reduce((n, f) => n + f.deleted, 0);
  verdict(again === 0, `a second pass deletes nothing (${again}) in ${second.runs} runs`);
  expect(lines.filter((l) => l.startsWith("FAIL"))).toEqual([]);
});
