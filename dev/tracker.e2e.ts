// The script-tag tracker in real Chromium against the local engine: every
// pageview, custom event and outbound click arrives exactly once, whether it
// leaves by fetch, by the 5 s timer, or by sendBeacon when the page goes away;
// and batches written while ingest fails wait in localStorage, survive reloads,
// and arrive exactly once when it comes back. Counts are read from the reports
// through the bridge (the dashboard's own queries). The engine runs with
// --test-hooks: /_engine/ingest logs every ingest request and can make the
// route fail (503, 429 with Retry-After, or a dropped connection).
// Screenshots go to test-artifacts/.
import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { IngestFault, IngestLogEntry } from "./server.js";
import {
  CHROMIUM_ARGS,
  ROOT,
  USER_AGENT,
  queryThroughBridge,
  startEngine,
  waitForWorker,
  type RunningEngine,
} from "./spawn.js";

const ARTIFACTS = join(ROOT, "test-artifacts");
const HOUR = 3_600_000;

let engine: RunningEngine;
let browser: Browser;
let siteId: string;
/** Another site: a landing page on its own origin that loads the tracker from the engine with data-outbound. */
let landing: Server;
let landingUrl = "";
/** Where the landing page's outbound link goes: a third origin, with no tracker. */
let elsewhere: Server;
let elsewhereUrl = "";
const pageErrors: string[] = [];
const warnings: string[] = [];

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `read` until `ok` holds; the error says what was last seen. */
async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    await sleep(200);
  }
}

/** A query through the engine's bridge, as the page's client runs it. */
const bridgeQuery = <T>(path: string, args: Record<string, unknown>) =>
  queryThroughBridge<T>(engine.url, path, args);

type Counts = {
  overview: { visitors: number; pageviews: number; sessions: number; events: number };
  /** Pageviews per path. */
  pages: Record<string, number>;
  /** Events per name ("pageview" for pageviews). */
  events: Record<string, number>;
  /** Events per "name|prop|value". */
  props: Record<string, number>;
  /** Pageviews per referrer: every pageview counts under its session's referrer, so these add up to the total. */
  referrers: Record<string, number>;
};

/** What the reports say about the last and next hour: what a dashboard user would read. */
async function counts(): Promise<Counts> {
  const to = Math.ceil(Date.now() / HOUR) * HOUR + HOUR;
  const range = { siteId, from: to - 3 * HOUR, to };
  type Rows = { rows: { key: string; pageviews: number; events: number }[] };
  const breakdown = (dimension: string) =>
    bridgeQuery<Rows>("analytics:getBreakdown", { ...range, dimension, limit: 100 });
  const [overview, pages, events, props, referrers] = await Promise.all([
    bridgeQuery<Counts["overview"]>("analytics:getOverview", range),
    breakdown("page"),
    breakdown("event"),
    breakdown("prop"),
    breakdown("referrer"),
  ]);
  return {
    overview: {
      visitors: overview.visitors,
      pageviews: overview.pageviews,
      sessions: overview.sessions,
      events: overview.events,
    },
    pages: Object.fromEntries(
      pages.rows.filter((r) => r.pageviews > 0).map((r) => [r.key, r.pageviews]),
    ),
    events: Object.fromEntries(events.rows.map((r) => [r.key, r.events])),
    props: Object.fromEntries(props.rows.map((r) => [r.key, r.events])),
    referrers: Object.fromEntries(referrers.rows.map((r) => [r.key, r.pageviews])),
  };
}

/** `after - before`, per key, leaving out keys that did not change. */
function delta(
  after: Record<string, number>,
  before: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of new Set([...Object.keys(after), ...Object.keys(before)])) {
    const d = (after[key] ?? 0) - (before[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

async function ingestLog(): Promise<IngestLogEntry[]> {
  return ((await (await fetch(`${engine.url}/_engine/ingest`)).json()) as { log: IngestLogEntry[] })
    .log;
}

async function setFault(fault: IngestFault | null): Promise<void> {
  const res = await fetch(`${engine.url}/_engine/ingest`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ fault }),
  });
  expect(res.status).toBe(200);
}

/**
 * Waits until nothing more can arrive: the worker is idle and no ingest
 * request came in for 1.5 s (a late beacon or retry would show up here).
 */
async function settle(): Promise<void> {
  let seen = -1;
  for (;;) {
    await waitForWorker(engine.url);
    const n = (await ingestLog()).length;
    if (n === seen) return;
    seen = n;
    await sleep(1_500);
  }
}

/** How many times each batchId was stored (answered 202 and not a duplicate): exactly once means 1 each. */
function storedPerBatch(log: IngestLogEntry[]): Map<string, number> {
  const stored = new Map<string, number>();
  for (const e of log)
    if (e.batchId && !e.faulted)
      stored.set(
        e.batchId,
        (stored.get(e.batchId) ?? 0) + (e.status === 202 && e.duplicate === false ? 1 : 0),
      );
  return stored;
}

/** Events the route stored, by its own answers (a bot's batch is answered 202 with accepted: 0). */
const acceptedEvents = (log: IngestLogEntry[]) => log.reduce((n, e) => n + (e.accepted ?? 0), 0);

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext({
    userAgent: USER_AGENT,
    viewport: { width: 1200, height: 800 },
  });
  context.on("page", (page) => watch(page));
  return context;
}

function watch(page: Page): void {
  page.on("pageerror", (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "warning" || m.type() === "error") warnings.push(`${page.url()}: ${m.text()}`);
  });
}

/** A banner over the page, so a screenshot says what the test saw. */
async function showOnPage(page: Page, text: string): Promise<void> {
  await page.evaluate((t) => {
    const banner = document.createElement("div");
    banner.textContent = t;
    banner.style.cssText =
      "position:fixed;left:0;right:0;bottom:0;padding:12px 20px;background:#b91c1c;color:#fff;font:14px sans-serif;z-index:9";
    document.body.append(banner);
  }, text);
}

/** The unsent batches the tracker keeps in localStorage (its own key, "ea:q:" + write key). */
async function storedBatches(
  page: Page,
): Promise<{ batchId: string; events: { type: string; name?: string }[] }[]> {
  return await page.evaluate(
    (key) => JSON.parse(localStorage["ea:q:" + key] ?? "[]"),
    engine.writeKey,
  );
}

beforeAll(async () => {
  // No seed: every count comes from this file.
  engine = await startEngine(["--test-hooks"]);
  siteId = (await bridgeQuery<{ _id: string }>("analytics:getSiteBySlug", { slug: "default" }))._id;
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  elsewhere = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>Elsewhere</title><h1>Another site, without analytics</h1>");
  });
  elsewhereUrl = await listen(elsewhere);
  // The one-line script tag, as a site on another origin than the deployment would carry it (data-api defaults to
  // the script's own origin), with data-outbound on.
  landing = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Landing · tracker e2e</title><link rel="icon" href="data:,">
<script defer src="${engine.url}/analytics/script.js" data-key="${engine.writeKey}" data-outbound></script>
</head><body style="font-family: sans-serif; margin: 40px">
<h1>A landing page on its own origin</h1>
<p>One script tag with <code>data-outbound</code>; the tracker and the ingest route live at ${engine.url}.</p>
<p><button id="subscribe" onclick="analytics.track('subscribe_click', { list: 'news' })">Subscribe</button></p>
<p><a id="out" href="${elsewhereUrl}/elsewhere">Read more elsewhere</a></p>
</body></html>`);
  });
  landingUrl = await listen(landing);
});

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
  landing?.close();
  elsewhere?.close();
});

test("pageviews, SPA navigations, tracked clicks, an outbound click and a closed page each arrive exactly once", async () => {
  const context = await newContext();

  // A site on another origin: pageview, a tracked button, then an outbound link (sent by beacon as the page leaves).
  const outbound = await context.newPage();
  await outbound.goto(`${landingUrl}/landing`); // pageview: /landing
  await outbound.locator("#subscribe").click(); // subscribe_click
  await outbound.screenshot({ path: join(ARTIFACTS, "tracker-landing.png") });
  await outbound.locator("#out").click(); // Outbound Link: Click { url }
  await outbound.waitForURL(`${elsewhereUrl}/elsewhere`);

  // The example page (index.html's one script tag): full loads, SPA navigations, popstate, tracked buttons, then close.
  const page = await context.newPage();
  await page.goto(`${engine.url}/`); // pageview: /
  await page.getByTestId("cta").click(); // cta_click
  await page.getByRole("link", { name: "Pricing" }).click(); // pageview: /pricing (pushState)
  await page.getByTestId("plan-pro").click(); // plan_selected
  await page.goBack(); // pageview: / (popstate, same document)
  await page.getByRole("heading", { name: /Analytics that live/ }).waitFor();
  await page.getByRole("link", { name: "Docs" }).click(); // pageview: /docs (pushState)
  await page.getByTestId("copy").click(); // copy_install
  await page.screenshot({ path: join(ARTIFACTS, "tracker-docs.png") });
  await page.goto(`${engine.url}/pricing`); // full load: the old document's events leave by beacon; pageview: /pricing
  await page.getByTestId("plan-team").click(); // plan_selected
  await page.close(); // the last pageview and click leave by beacon on pagehide

  const expected = {
    pages: { "/": 2, "/pricing": 2, "/docs": 1, "/landing": 1 },
    events: {
      pageview: 6,
      cta_click: 1,
      plan_selected: 2,
      copy_install: 1,
      subscribe_click: 1,
      "Outbound Link: Click": 1,
    },
  };
  await until("every event of the first session", counts, (c) => c.overview.events >= 12);
  await outbound.close();
  await settle();
  const c = await counts();
  expect(c.pages).toEqual(expected.pages);
  expect(c.events).toEqual(expected.events);
  expect(c.overview).toEqual({ visitors: 1, pageviews: 6, sessions: 1, events: 12 });
  expect(c.props[`Outbound Link: Click|url|${elsewhereUrl}/elsewhere`]).toBe(1);
  expect(c.props["plan_selected|plan|team"]).toBe(1);
  expect(c.props["plan_selected|plan|pro"]).toBe(1);
  // Dedup on the server was not what kept the counts right: every batch the tracker sent was stored once, and the
  // stored batches hold exactly the 12 events.
  const log = await ingestLog();
  expect(log.filter((e) => e.status !== 202)).toEqual([]);
  expect([...storedPerBatch(log).values()].every((n) => n === 1)).toBe(true);
  expect(acceptedEvents(log)).toBe(12);
  expect(log.every((e) => e.userAgent === USER_AGENT)).toBe(true);
  console.log(
    `first session: ${log.length} ingest requests (${log.filter((e) => e.mode === "no-cors").length} beacons), ${log.filter((e) => e.duplicate).length} duplicates`,
  );

  // The dashboard shows the same numbers, live, plus its own pageview.
  const dashboard = await context.newPage();
  await dashboard.goto(`${engine.url}/dashboard`);
  await dashboard.waitForFunction(
    () => document.querySelector('[data-testid="card-pageviews"]')?.textContent === "7",
    null,
    { timeout: 60_000 },
  );
  expect(await dashboard.getByTestId("card-visitors").textContent()).toBe("1");
  expect(await dashboard.getByTestId("card-sessions").textContent()).toBe("1");
  await dashboard.screenshot({ path: join(ARTIFACTS, "tracker-dashboard.png"), fullPage: true });
  await context.close();
  await settle();
  const final = await counts();
  expect(final.overview).toEqual({ visitors: 1, pageviews: 7, sessions: 1, events: 13 });
  expect(final.referrers).toEqual({ "(none)": 7 });
  expect(pageErrors).toEqual([]);
  expect(warnings).toEqual([]);
});

test("batches written while ingest fails survive reloads in localStorage and arrive exactly once when it recovers", async () => {
  await settle();
  const before = await counts();
  const logStart = (await ingestLog()).length;
  const context = await newContext();
  const page = await context.newPage();
  await page.goto(`${engine.url}/docs`); // pageview: /docs, sent while ingest is healthy
  await until(
    "the healthy pageview",
    counts,
    (c) => c.overview.events === before.overview.events + 1,
  );

  // Outage, part 1: the route answers 503 (no Retry-After). Three clicks; the 5 s timer sends them and fails.
  await setFault({ status: 503 });
  for (let i = 0; i < 3; i++) await page.getByTestId("copy").click(); // copy_install x3
  const failed = async () =>
    (await ingestLog()).slice(logStart).filter((e) => e.faulted && e.mode !== "no-cors").length;
  await until("a failed send", failed, (n) => n >= 1);
  await page.getByRole("link", { name: "Pricing" }).click(); // pageview: /pricing (pushState)
  await page.getByTestId("plan-free").click(); // plan_selected

  // Reload mid-outage: the pending events become a second batch; both are kept (their beacons fail too).
  let sent = await failed();
  await page.reload(); // pageview: /pricing
  await until("the reloaded page's first failed send", failed, (n) => n > sent);
  // (The new page's own pageview is still pending, unless a very slow machine let its 5 s timer cut it too.)
  expect((await storedBatches(page)).slice(0, 2).map((b) => b.events.length)).toEqual([3, 2]);

  // Outage, part 2: the server is gone (connections dropped, as from a killed process). Navigate with a full load.
  await setFault({ status: 0 });
  await page.getByTestId("plan-team").click(); // plan_selected
  sent = await failed();
  await page.goto(`${engine.url}/`); // pageview: /
  await until("the next page's first failed send", failed, (n) => n > sent);
  const stored = (await storedBatches(page)).slice(0, 3);
  expect(stored.map((b) => b.events.length)).toEqual([3, 2, 2]);
  // Nothing of the outage reached the reports.
  expect((await counts()).overview.events).toBe(before.overview.events + 1);
  await showOnPage(
    page,
    `Ingest down: ${stored.length} batches (${stored.map((b) => b.events.map((e) => e.name ?? e.type).join(", ")).join(" | ")}) wait in localStorage`,
  );
  await page.screenshot({ path: join(ARTIFACTS, "tracker-outage.png") });

  // The server is back. Leave at once, while the tracker is still backing off: its beacons now reach the server,
  // and since it has seen failures it also keeps the batches and sends them again from the next page, where the
  // server's batchId dedup answers "duplicate".
  await setFault(null);
  await page.goto(`${engine.url}/docs`); // pageview: /docs
  await until(
    "the persisted batches after recovery",
    counts,
    (c) => c.overview.events >= before.overview.events + 10,
    90_000,
  );
  await page.getByRole("link", { name: "Dashboard" }).click(); // pageview: /dashboard
  const pageviews = before.overview.pageviews + 6;
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid="card-pageviews"]')?.textContent === String(n),
    pageviews,
    { timeout: 60_000 },
  );
  await page.screenshot({
    path: join(ARTIFACTS, "tracker-recovered-dashboard.png"),
    fullPage: true,
  });
  await context.close();
  await settle();
  const after = await counts();
  expect(delta(after.events, before.events)).toEqual({
    pageview: 6,
    copy_install: 3,
    plan_selected: 2,
  });
  expect(delta(after.pages, before.pages)).toEqual({
    "/docs": 2,
    "/pricing": 2,
    "/": 1,
    "/dashboard": 1,
  });
  expect(after.overview.events - before.overview.events).toBe(11);
  expect(after.overview.pageviews - before.overview.pageviews).toBe(6);
  expect(delta(after.referrers, before.referrers)).toEqual({ "(none)": 6 });

  // Each persisted batch was tried during the outage and stored exactly once after it, under the batchId it was
  // written with; no batch of this session was stored twice.
  const log = (await ingestLog()).slice(logStart);
  const perBatch = storedPerBatch(log);
  for (const b of stored) {
    expect(log.filter((e) => e.batchId === b.batchId && e.faulted).length).toBeGreaterThan(0);
    expect(perBatch.get(b.batchId)).toBe(1);
  }
  expect([...perBatch.values()].every((n) => n === 1)).toBe(true);
  expect(acceptedEvents(log)).toBe(11);
  console.log(
    `outage: ${log.length} ingest requests, ${log.filter((e) => e.faulted).length} failed on purpose (${log.filter((e) => e.faulted && e.mode === "no-cors").length} of them beacons), ` +
      `${log.filter((e) => e.duplicate).length} duplicates answered`,
  );
  expect(pageErrors).toEqual([]);
  // Chromium logs each failed request to the console; the tracker itself warns only when it drops a batch.
  expect(warnings.filter((w) => w.includes("analytics:"))).toEqual([]);
});

test("a 429 is retried with the same batchId no sooner than its Retry-After, and arrives once", async () => {
  await settle();
  const before = await counts();
  const logStart = (await ingestLog()).length;
  await setFault({ status: 429, retryAfter: 3, times: 1 });
  const context = await newContext();
  const page = await context.newPage();
  await page.goto(`${engine.url}/docs`); // pageview: /docs
  await page.getByTestId("copy").click(); // copy_install
  await page.evaluate(() =>
    (window as unknown as { analytics: { flush(): void } }).analytics.flush(),
  );
  const log = await until(
    "the retry after the 429",
    async () => (await ingestLog()).slice(logStart),
    (l) => l.some((e) => e.status === 202),
  );
  const limited = log.find((e) => e.status === 429)!;
  expect(limited).toMatchObject({ faulted: true });
  const retried = log.find((e) => e.status === 202)!;
  expect(retried).toMatchObject({ duplicate: false, batchId: limited.batchId });
  // The tracker's own backoff before a first retry is at most 1 s: only Retry-After explains 3 s.
  expect(retried.at - limited.at).toBeGreaterThanOrEqual(3_000);
  await context.close();
  await settle();
  const after = await counts();
  expect(delta(after.events, before.events)).toEqual({ pageview: 1, copy_install: 1 });
  const all = (await ingestLog()).slice(logStart);
  expect(acceptedEvents(all)).toBe(2);
  expect([...storedPerBatch(all).values()].every((n) => n === 1)).toBe(true);
});
