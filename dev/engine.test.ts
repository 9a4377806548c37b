// @vitest-environment node
// The local engine as `npm run demo` runs it (its own process, the indexed
// store): batches over real HTTP through the app's ingest route, the worker,
// reports read through the bridge, --data across a restart; and how long
// `npm run demo` takes to be ready with its default seed.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { anyApi } from "convex/server";
import { LocalEngineClient } from "./client.js";
import { nextRun } from "./crons.js";
import { runEngineToExit, startEngine, waitForWorker, type RunningEngine } from "./spawn.js";

const dir = mkdtempSync(join(tmpdir(), "engine-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ENGINE = ["--no-build"];

const HOUR = 3_600_000;
const now = Date.now();
// Three cookieless visitors: the route tells them apart by client address and user agent.
const UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const visitor = (n: number) => ({ "User-Agent": UA, "X-Forwarded-For": `203.0.113.${n}` });
const pageview = (id: string, path: string, at: number) => ({
  id,
  type: "pageview",
  occurredAt: at,
  url: `https://example.com${path}`,
});
const click = (id: string, at: number) => ({
  id,
  type: "track",
  name: "cta_click",
  occurredAt: at,
  url: "https://example.com/",
  props: { button: "hero" },
});

async function post(
  engine: RunningEngine,
  headers: Record<string, string>,
  batchId: string,
  events: object[],
) {
  const res = await fetch(`${engine.url}/analytics/ingest`, {
    method: "POST",
    headers: { "Content-Type": "text/plain", Origin: "https://example.com", ...headers },
    body: JSON.stringify({ key: engine.writeKey, batchId, sentAt: Date.now(), events }),
  });
  return {
    status: res.status,
    body: (await res.json()) as { accepted: number; duplicate: boolean },
  };
}

async function bridge(engine: RunningEngine, kind: string, path: string, args: object) {
  const res = await fetch(`${engine.url}/bridge/${kind}`, {
    method: "POST",
    body: JSON.stringify({ path, args }),
  });
  return {
    status: res.status,
    body: (await res.json()) as { status: string; value?: any; errorMessage?: string },
  };
}

async function reports(engine: RunningEngine) {
  const site = (await bridge(engine, "query", "analytics:getSiteBySlug", { slug: "default" })).body
    .value;
  const range = { siteId: site._id, from: now - 24 * HOUR, to: now + 2 * HOUR };
  const overview = (await bridge(engine, "query", "analytics:getOverview", range)).body.value;
  const pages = (
    await bridge(engine, "query", "analytics:getBreakdown", { ...range, dimension: "page" })
  ).body.value;
  return {
    range,
    overview,
    pages: pages.rows.map((r: { key: string; pageviews: number; visitors: number }) => [
      r.key,
      r.pageviews,
      r.visitors,
    ]),
  };
}

const EXPECTED_OVERVIEW = { visitors: 3, pageviews: 6, sessions: 3, events: 9, bounceRate: 1 / 3 };
const EXPECTED_PAGES = [
  ["/", 3, 3],
  ["/pricing", 2, 2],
  ["/docs", 1, 1],
];

describe("the local engine", () => {
  const data = join(dir, "state.json");

  test("batches posted over HTTP are counted exactly once in the reports read through the bridge, and a restart with --data loses nothing", async () => {
    const first = await startEngine([...ENGINE, "--data", data]);
    try {
      const t = now - HOUR;
      expect(
        (
          await post(first, visitor(1), "a1", [
            pageview("a1", "/", t),
            pageview("a2", "/pricing", t + 60_000),
          ])
        ).body,
      ).toEqual({ accepted: 2, duplicate: false, rejected: [] });
      expect(
        (
          await post(first, visitor(1), "a2", [
            click("a3", t + 70_000),
            pageview("a4", "/docs", t + 120_000),
          ])
        ).status,
      ).toBe(202);
      // A retried batch (same batchId) is acknowledged and not counted again.
      expect(
        (
          await post(first, visitor(1), "a1", [
            pageview("a1", "/", t),
            pageview("a2", "/pricing", t + 60_000),
          ])
        ).body.duplicate,
      ).toBe(true);
      expect((await post(first, visitor(2), "b1", [pageview("b1", "/", t + 5_000)])).status).toBe(
        202,
      );
      expect(
        (
          await post(first, visitor(3), "c1", [
            pageview("c1", "/", t + 9_000),
            click("c2", t + 10_000),
            click("c3", t + 11_000),
            pageview("c4", "/pricing", t + 30_000),
          ])
        ).status,
      ).toBe(202);
      await waitForWorker(first.url);

      const before = await reports(first);
      expect(before.overview).toMatchObject({
        ...EXPECTED_OVERVIEW,
        bounceRate: expect.closeTo(1 / 3, 10),
      });
      expect(before.pages).toEqual(EXPECTED_PAGES);

      // The bridge is a browser's door: internal and component functions stay closed (invariant I5).
      expect((await bridge(first, "mutation", "setup:provision", {})).status).toBe(404);
      expect((await bridge(first, "mutation", "analytics:kick", {})).status).toBe(404);

      const saved = await first.stop();
      expect(saved.code).toBe(0);
      expect(saved.output).toContain(`Saved ${data}.`);

      const second = await startEngine([...ENGINE, "--data", data]);
      try {
        expect(second.output()).toContain(`Loaded ${data}`);
        // The site and its write key survive: the page's script tag keeps working.
        expect(second.writeKey).toBe(first.writeKey);
        const after = await reports(second);
        expect(after.overview).toEqual(before.overview);
        expect(after.pages).toEqual(before.pages);
        // Dedup state survives too: the old batch is still a duplicate, a new one counts.
        expect(
          (await post(second, visitor(2), "b1", [pageview("b1", "/", t + 5_000)])).body.duplicate,
        ).toBe(true);
        expect(
          (await post(second, visitor(4), "d1", [pageview("d1", "/docs", now)])).body.accepted,
        ).toBe(1);
        await waitForWorker(second.url);
        expect((await reports(second)).overview).toMatchObject({
          visitors: 4,
          pageviews: 7,
          sessions: 4,
        });
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop();
    }
  });

  test("a query watched through the bridge client re-runs when a batch lands", async () => {
    const engine = await startEngine(ENGINE);
    const client = new LocalEngineClient(engine.url);
    try {
      const site = (await client.query(anyApi.analytics!.getSiteBySlug!, { slug: "default" })) as {
        _id: string;
      };
      const watch = client.watchQuery(anyApi.analytics!.getOverview!, {
        siteId: site._id,
        from: now - HOUR,
        to: now + HOUR,
      });
      const seen: number[] = [];
      let notify = () => {};
      watch.onUpdate(() => {
        seen.push((watch.localQueryResult() as { pageviews: number }).pageviews);
        notify();
      });
      const until = (n: number) =>
        new Promise<void>((resolve) => {
          notify = () => seen.at(-1) === n && resolve();
          notify();
        });
      await until(0);
      await post(engine, visitor(1), "w1", [
        pageview("w1", "/", now - 1_000),
        pageview("w2", "/docs", now),
      ]);
      await until(2);
      expect(seen[0]).toBe(0);
      expect(seen.at(-1)).toBe(2);
      expect(client.connectionState().isWebSocketConnected).toBe(true);
    } finally {
      await client.close();
      await engine.stop();
    }
  });

  test("a --data file that is not valid JSON stops the engine with a clear error and is left untouched", async () => {
    const broken = join(dir, "broken.json");
    writeFileSync(broken, '{"format": "convex-event-analytics/dev-engine-snapshot", "compo');
    const { code, output } = await runEngineToExit([...ENGINE, "--data", broken]);
    expect(code).toBe(1);
    expect(output).toMatch(new RegExp(`Cannot load --data ${broken}: it is not valid JSON`));
    expect(output).not.toContain("ready in");
    expect(readFileSync(broken, "utf8")).toBe(
      '{"format": "convex-event-analytics/dev-engine-snapshot", "compo',
    );
  });

  test("a --data file whose documents break the schema stops the engine with the table and the reason", async () => {
    // The snapshot the first test saved, with one site's name made a number.
    const tampered = join(dir, "tampered.json");
    copyFileSync(data, tampered);
    const snapshot = JSON.parse(readFileSync(tampered, "utf8"));
    const site = snapshot.components.analytics.documents.find((d: { _id: string }) =>
      d._id.endsWith("sites"),
    );
    site.name = 42;
    writeFileSync(tampered, JSON.stringify(snapshot));
    const { code, output } = await runEngineToExit([...ENGINE, "--data", tampered]);
    expect(code).toBe(1);
    expect(output).toMatch(
      /Cannot load --data .*tampered\.json: component "analytics", sites document \S+ does not match the schema/,
    );
  });
});

describe("npm run demo", () => {
  test("gets ready with its 30 days of seeded history on the indexed store, and prints how long that took", async () => {
    // As `npm run demo` starts it, minus the page build (vite) and the live trickle.
    // The time is printed, not asserted: a unit test never asserts wall time.
    const engine = await startEngine(["--no-build", "--seed", "--no-live"], 600_000);
    try {
      const ready = Number(/^ready in ([\d.]+)s/m.exec(engine.output())![1]);
      const seeded = /^Seeded .*$/m.exec(engine.output())![0];
      console.log(`npm run demo: ready in ${ready.toFixed(1)} s (${seeded})`);
      expect(engine.output()).toContain("convex-test with the indexed store");
      expect(ready).toBeGreaterThan(0);
    } finally {
      await engine.stop();
    }
  }, 600_000);
});

describe("cron schedules", () => {
  const at = Date.parse("2026-03-10T12:34:56Z");
  test("an interval job runs one interval after the last run", () => {
    expect(nextRun({ type: "interval", minutes: 1 }, at)).toBe(at + 60_000);
    expect(nextRun({ type: "interval", hours: 1 }, at)).toBe(at + HOUR);
  });
  test("calendar jobs run at the next matching UTC minute", () => {
    expect(new Date(nextRun({ type: "hourly", minuteUTC: 5 }, at)).toISOString()).toBe(
      "2026-03-10T13:05:00.000Z",
    );
    expect(new Date(nextRun({ type: "daily", hourUTC: 3, minuteUTC: 0 }, at)).toISOString()).toBe(
      "2026-03-11T03:00:00.000Z",
    );
    expect(
      new Date(
        nextRun({ type: "weekly", dayOfWeek: "monday", hourUTC: 9, minuteUTC: 30 }, at),
      ).toISOString(),
    ).toBe("2026-03-16T09:30:00.000Z");
    expect(
      new Date(nextRun({ type: "monthly", day: 1, hourUTC: 0, minuteUTC: 0 }, at)).toISOString(),
    ).toBe("2026-04-01T00:00:00.000Z");
    expect(new Date(nextRun({ type: "cron", cron: "*/15 8-17 * * 1-5" }, at)).toISOString()).toBe(
      "2026-03-10T12:45:00.000Z",
    );
  });
});
