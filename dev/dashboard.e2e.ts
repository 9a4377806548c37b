// The dashboard (convex-event-analytics/react) in real Chromium on the seeded
// demo: the cards equal the report API's numbers for every range, every
// breakdown tab has rows equal to the API's, CSV export holds those rows, new
// events sent through the ingest route move the live badge and the cards without
// a reload, a clicked row filters the cards to the API's filtered numbers (two
// filters: scanned to completion), compare shows the API's change, the goals
// panel lists the API's goals, and screenshots in light and dark at desktop and
// phone widths (and with a filter and compare on) are left in
// test-artifacts/dashboard/ (kept by CI). Timings go to the log.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { computeRange, RANGE_PRESETS, type RangePreset } from "../src/react/range.js";
import { METRICS } from "../src/react/metrics.js";
import { formatNumber, formatPercent } from "../src/react/format.js";
import type { Breakdown, Filter, GoalsReport, Overview } from "../src/shared.js";
import {
  CHROMIUM_ARGS,
  ROOT,
  USER_AGENT,
  mutationThroughBridge,
  queryThroughBridge,
  startEngine,
  waitForWorker,
  type RunningEngine,
} from "./spawn.js";

const ARTIFACTS = join(ROOT, "test-artifacts", "dashboard");
const LOCALE = "en-US";

let engine: RunningEngine;
let browser: Browser;
let siteId: string;
let timezone: string;
const timings: string[] = [];
const errors: string[] = [];

/** A query through the engine's bridge, as the page's client runs it. */
const bridgeQuery = <T>(path: string, args: Record<string, unknown>) =>
  queryThroughBridge<T>(engine.url, path, args);

/** A mutation through the engine's bridge (its facades are open: ANALYTICS_DEV_OPEN). */
const bridgeMutation = <T>(path: string, args: Record<string, unknown>) =>
  mutationThroughBridge<T>(engine.url, path, args);

async function timed<T>(what: string, run: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await run();
  } finally {
    timings.push(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}

beforeAll(async () => {
  // A seeded month, no live trickle: every later change comes from this file. 80 sessions a day
  // (about 4,600 pageviews) fill every panel; the demo's default 360 (20,000+ pageviews) would add
  // minutes to CI for the same checks.
  engine = await timed("engine start (build + seed)", () =>
    startEngine(["--seed", "--no-live", "--seed-per-day", "80"], 600_000),
  );
  const site = await bridgeQuery<{ _id: string; timezone: string }>("analytics:getSiteBySlug", {
    slug: "default",
  });
  siteId = site._id;
  timezone = site.timezone;
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
  });
  // Two goals for the goals panel (the seed has none): a path and an event. Created first, so
  // their backfills run while the tests before the goals test do.
  await bridgeMutation("analytics:createGoal", {
    siteId,
    name: "Saw pricing",
    match: { path: "/pricing" },
  });
  await bridgeMutation("analytics:createGoal", {
    siteId,
    name: "Signup",
    match: { event: "signup" },
  });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 620_000);

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
  console.log(`dashboard e2e timings:\n  ${timings.join("\n  ")}`);
});

async function open(context: BrowserContext): Promise<Page> {
  // The example page's tracker is blocked here: every count that changes comes from this file.
  await context.route("**/analytics/script.js", (route) => route.abort());
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${engine.url}/dashboard`);
  await page.getByTestId("card-visitors").waitFor({ timeout: 60_000 });
  return page;
}

const card = async (page: Page, id: string) =>
  (await page.getByTestId(`card-${id}`).textContent())?.trim();

/** The cards as the API's numbers would be formatted: what a person must read. */
function expectedCards(o: Overview): Record<string, string> {
  return Object.fromEntries(METRICS.map((m) => [m.id, m.format(o[m.id], LOCALE)]));
}

async function readCards(page: Page): Promise<Record<string, string>> {
  return Object.fromEntries(
    await Promise.all(METRICS.map(async (m) => [m.id, (await card(page, m.id)) ?? ""])),
  );
}

/** Waits until the cards show `want` (they update when the new range's query answers). */
async function cardsBecome(page: Page, want: Record<string, string>): Promise<void> {
  const deadline = Date.now() + 30_000;
  let seen = await readCards(page);
  while (JSON.stringify(seen) !== JSON.stringify(want)) {
    if (Date.now() > deadline) expect(seen).toEqual(want);
    await page.waitForTimeout(100);
    seen = await readCards(page);
  }
}

test("the cards equal the report API's numbers for every range, custom included", async () => {
  const context = await browser.newContext({
    userAgent: USER_AGENT,
    locale: LOCALE,
    viewport: { width: 1280, height: 900 },
  });
  const page = await timed("first load of /dashboard (cards shown)", () => open(context));
  for (const preset of RANGE_PRESETS.filter((p) => p !== "custom") as RangePreset[]) {
    await timed(`range ${preset}`, async () => {
      await page.getByTestId("cea-range").selectOption(preset);
      const range = computeRange(preset, Date.now(), timezone);
      const overview = await bridgeQuery<Overview>("analytics:getOverview", { siteId, ...range });
      await cardsBecome(page, expectedCards(overview));
    });
  }
  await page.getByTestId("cea-range").selectOption("custom");
  // The seeded site's timezone is UTC, so ISO dates are its local dates.
  const custom = {
    start: new Date(Date.now() - 10 * 86_400_000).toISOString().slice(0, 10),
    end: new Date().toISOString().slice(0, 10),
  };
  await page.getByLabel("From", { exact: true }).fill(custom.start);
  await page.getByLabel("To", { exact: true }).fill(custom.end);
  await page.getByRole("button", { name: "Apply" }).click();
  const overview = await bridgeQuery<Overview>("analytics:getOverview", {
    siteId,
    ...computeRange("custom", Date.now(), timezone, custom),
  });
  await cardsBecome(page, expectedCards(overview));
  expect(Number((await card(page, "pageviews"))!.replace(/,/g, ""))).toBeGreaterThan(1000);

  // A range before the seeded month: the empty state, with the install snippet and its script tag.
  const before = {
    start: new Date(Date.now() - 100 * 86_400_000).toISOString().slice(0, 10),
    end: new Date(Date.now() - 90 * 86_400_000).toISOString().slice(0, 10),
  };
  await page.getByLabel("From", { exact: true }).fill(before.start);
  await page.getByLabel("To", { exact: true }).fill(before.end);
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByTestId("cea-empty").waitFor({ timeout: 30_000 });
  expect(await page.getByTestId("cea-empty").locator(".cea-code").textContent()).toBe(
    `<script defer src="${engine.url}/analytics/script.js" data-key="pk_YOUR_WRITE_KEY"></script>`,
  );
  await page.screenshot({ path: join(ARTIFACTS, "dashboard-empty-range.png"), fullPage: true });
  await context.close();
});

const PANELS: Record<string, string[]> = {
  Pages: ["page", "entryPage", "exitPage"],
  Sources: [
    "channel",
    "referrer",
    "utmSource",
    "utmMedium",
    "utmCampaign",
    "utmContent",
    "utmTerm",
  ],
  Locations: ["country"],
  Devices: ["device", "browser", "os", "screen"],
  Events: ["event"],
};

test("every breakdown tab has rows, equal to the API's; an event opens its properties; CSV holds the visible rows", async () => {
  const context = await browser.newContext({
    userAgent: USER_AGENT,
    locale: LOCALE,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  const page = await open(context);
  const range = computeRange("30d", Date.now(), timezone);
  for (const [title, dimensions] of Object.entries(PANELS)) {
    const panel = page.getByRole("region", { name: title });
    for (const dimension of dimensions) {
      await timed(`tab ${dimension}`, async () => {
        if (dimensions.length > 1) await panel.getByTestId(`cea-tab-${dimension}`).click();
        const api = await bridgeQuery<Breakdown>("analytics:getBreakdown", {
          siteId,
          ...range,
          dimension,
          limit: dimension === "event" ? 11 : 10,
        });
        const rows = api.rows
          .filter((r) => dimension !== "event" || r.key !== "pageview")
          .slice(0, 10);
        expect(rows.length, `${dimension} has rows`).toBeGreaterThan(0);
        // Each row: its key (as data-key) and its visitors (exit pages: exits), in the API's order.
        await expect
          .poll(
            async () =>
              panel.locator("tbody tr").evaluateAll((trs) =>
                trs.map((tr) => {
                  // The visitors column; the events panel has an events column before it.
                  const nums = tr.querySelectorAll("td.cea-num");
                  return [
                    tr.getAttribute("data-key"),
                    nums[nums.length === 3 ? 1 : 0]?.textContent,
                  ];
                }),
              ),
            { timeout: 30_000 },
          )
          .toEqual(
            rows.map((r) => [
              r.key,
              formatNumber(dimension === "exitPage" ? r.entries : r.visitors, LOCALE),
            ]),
          );
      });
    }
  }

  // Events: click the first event, see its property rows.
  const events = page.getByRole("region", { name: "Events" });
  const first = (await events.locator("tbody tr").first().getAttribute("data-key"))!;
  await events.locator("tbody tr").first().getByTestId("cea-props").click();
  await events.getByTestId("cea-back").waitFor();
  const props = await bridgeQuery<Breakdown>("analytics:getBreakdown", {
    siteId,
    ...range,
    dimension: "prop",
    limit: 1000,
  });
  const mine = props.rows.filter((r) => r.key.startsWith(`${first}|`)).slice(0, 10);
  expect(mine.length).toBeGreaterThan(0);
  await expect
    .poll(() =>
      events.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-key"))),
    )
    .toEqual(mine.map((r) => r.key));

  await page.getByRole("region", { name: "Pages" }).getByTestId("cea-tab-exitPage").click();
  await page.screenshot({
    path: join(ARTIFACTS, "dashboard-tabs-exit-pages-and-event-properties.png"),
    fullPage: true,
  });

  // CSV of the visible panel (Sources on its last tab, utmTerm) and of the timeseries.
  const sources = page.getByRole("region", { name: "Sources" });
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    sources.getByTestId("cea-export").click(),
  ]);
  const csv = readFileSync((await download.path())!, "utf8");
  const term = await bridgeQuery<Breakdown>("analytics:getBreakdown", {
    siteId,
    ...range,
    dimension: "utmTerm",
    limit: 10,
  });
  const lines = csv.split("\r\n");
  expect(lines[0]).toBe("utmTerm,visitors,pageviews,events,entries,bounce_rate");
  expect(lines.slice(1, -1)).toEqual(
    term.rows.map((r) =>
      [r.key, r.visitors, r.pageviews, r.events, r.entries, r.bounceRate ?? ""].join(","),
    ),
  );
  expect(lines.at(-1)).toBe("");
  const [series] = await Promise.all([
    page.waitForEvent("download"),
    page.getByTestId("cea-export-timeseries").click(),
  ]);
  const seriesCsv = readFileSync((await series.path())!, "utf8").split("\r\n");
  const ts = await bridgeQuery<{
    points: { bucketStart: number; visitors: number; pageviews: number }[];
  }>("analytics:getTimeseries", { siteId, ...range });
  expect(seriesCsv.length - 2).toBe(ts.points.length);
  expect(seriesCsv[1]!.split(",")[0]).toBe(new Date(ts.points[0]!.bucketStart).toISOString());
  await context.close();
});

test("new events sent through the ingest route move the live badge and the cards, without a reload", async () => {
  const context = await browser.newContext({
    userAgent: USER_AGENT,
    locale: LOCALE,
    viewport: { width: 1280, height: 900 },
  });
  const page = await open(context);
  await page.getByTestId("cea-range").selectOption("today");
  await waitForWorker(engine.url);
  const range = computeRange("today", Date.now(), timezone);
  const before = await bridgeQuery<Overview>("analytics:getOverview", { siteId, ...range });
  await cardsBecome(page, expectedCards(before));
  const liveBefore = Number(await page.getByTestId("cea-realtime-visitors").textContent());
  let navigations = 0;
  page.on("framenavigated", (f) => f === page.mainFrame() && navigations++);

  // Three new visitors, two pageviews each, as three browsers would send them.
  const sent = performance.now();
  for (let v = 0; v < 3; v++) {
    const now = Date.now();
    const res = await fetch(`${engine.url}/analytics/ingest`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Origin: engine.url,
        "User-Agent": USER_AGENT,
        "X-Forwarded-For": `203.0.113.${10 + v}`,
      },
      body: JSON.stringify({
        key: engine.writeKey,
        batchId: `e2e-live-${now}-${v}`,
        sentAt: now,
        events: ["/", "/pricing"].map((path, i) => ({
          id: `e2e-${now}-${v}-${i}`,
          type: "pageview",
          occurredAt: now + i,
          url: `${engine.url}${path}`,
          visitorId: `e2e-live-${now}-${v}`,
        })),
      }),
    });
    expect(res.status).toBe(202);
  }
  await page.waitForFunction(
    (want) =>
      Number(document.querySelector('[data-testid="cea-realtime-visitors"]')?.textContent) >= want,
    liveBefore + 3,
    { timeout: 60_000 },
  );
  timings.push(
    `live badge updated ${((performance.now() - sent) / 1000).toFixed(1)} s after the ingest posts`,
  );
  await waitForWorker(engine.url);
  const after = await bridgeQuery<Overview>("analytics:getOverview", { siteId, ...range });
  expect(after.pageviews).toBe(before.pageviews + 6);
  await cardsBecome(page, expectedCards(after));
  timings.push(
    `cards updated ${((performance.now() - sent) / 1000).toFixed(1)} s after the ingest posts`,
  );
  expect(navigations).toBe(0);
  await context.close();
});

/** A card's change as the dashboard must print it (arrow and signed percent; "—" against 0). */
function expectedChange(value: number, previous: number): string {
  if (previous === 0) return "—none in the previous period to compare with";
  const change = (value - previous) / previous;
  const size = formatPercent(Math.abs(change), LOCALE);
  if (change === 0) return `→${size}unchanged from the previous period`;
  const up = change > 0;
  return `${up ? "↑+" : "↓\u2212"}${size}${up ? "up" : "down"} ${size} from the previous period`;
}

test("a clicked page row filters the cards to the API's filtered numbers; compare shows the API's change; two filters scan to completion; goals list", async () => {
  await waitForWorker(engine.url);
  // The goals' backfills (beforeAll; the seeded month's events, counted a page a step): given a
  // while to finish, so the panel shows counts; if they have not, it says "backfilling…", as the API does.
  await timed("goal backfills", async () => {
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      const report = await bridgeQuery<GoalsReport>("analytics:getGoals", {
        siteId,
        ...computeRange("7d", Date.now(), timezone),
      });
      if (report.goals.every((g) => !g.backfilling)) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
    timings.push("goal backfills still running after 90 s");
  });
  const context = await browser.newContext({
    userAgent: USER_AGENT,
    locale: LOCALE,
    viewport: { width: 1280, height: 900 },
  });
  const page = await open(context);
  await page.getByTestId("cea-range").selectOption("7d");
  const range = computeRange("7d", Date.now(), timezone);
  await cardsBecome(
    page,
    expectedCards(await bridgeQuery<Overview>("analytics:getOverview", { siteId, ...range })),
  );

  // The second page row (the first is usually "/", which is every session's landing page).
  const pages = page.getByRole("region", { name: "Pages" });
  const row = pages.locator("tbody tr").nth(1);
  const key = (await row.getAttribute("data-key"))!;
  const pageFilter: Filter = { dimension: "page", op: "is", value: key };
  await timed("filter by a page row", async () => {
    await row.getByTestId("cea-filter-row").click();
    await expect
      .poll(() => page.getByTestId("cea-chip").allTextContents())
      .toEqual([`Page is ${key}×`]);
    const filtered = await bridgeQuery<Overview>("analytics:getOverview", {
      siteId,
      ...range,
      filters: [pageFilter],
    });
    expect(filtered.complete).toBe(true);
    expect(filtered.visitors).toBeGreaterThan(0);
    await cardsBecome(page, expectedCards(filtered));
  });

  await timed("compare with the previous period", async () => {
    await page.getByTestId("cea-compare").selectOption("previous");
    const compared = await bridgeQuery<Overview>("analytics:getOverview", {
      siteId,
      ...range,
      filters: [pageFilter],
      compare: "previous",
    });
    const before = compared.comparison!;
    for (const id of ["visitors", "pageviews"] as const) {
      await expect
        .poll(() => page.getByTestId(`delta-${id}`).textContent(), { timeout: 30_000 })
        .toBe(expectedChange(compared[id], before[id]));
    }
    await page.getByTestId("cea-chart-legend").waitFor();
  });

  // A country as well: a combination no rollup row answers, so the dashboard starts
  // the scans, says "Partial" while they run, and ends on the API's complete numbers.
  const locations = page.getByRole("region", { name: "Locations" });
  const country = (await locations.locator("tbody tr").first().getAttribute("data-key"))!;
  const filters: Filter[] = [pageFilter, { dimension: "country", op: "is", value: country }];
  await timed("two filters: scans to completion", async () => {
    await locations.locator("tbody tr").first().getByTestId("cea-filter-row").click();
    await expect.poll(() => page.getByTestId("cea-chip").count()).toBe(2);
    await expect
      .poll(
        async () =>
          (
            await bridgeQuery<Overview>("analytics:getOverview", {
              siteId,
              ...range,
              filters,
              compare: "previous",
            })
          ).complete,
        { timeout: 120_000, interval: 500 },
      )
      .toBe(true);
    await expect.poll(() => page.getByTestId("cea-partial").count(), { timeout: 120_000 }).toBe(0);
    const done = await bridgeQuery<Overview>("analytics:getOverview", {
      siteId,
      ...range,
      filters,
      compare: "previous",
    });
    await cardsBecome(page, expectedCards(done));
  });

  // Goals: every goal, its uniques and total as the API counts them; filters do not apply.
  const goals = await bridgeQuery<GoalsReport>("analytics:getGoals", {
    siteId,
    ...range,
    compare: "previous",
  });
  const panel = page.getByTestId("cea-goals");
  await expect
    .poll(
      () =>
        panel.locator("tbody tr").evaluateAll((trs) =>
          trs.map((tr) => {
            const tds = tr.querySelectorAll("td");
            // The name, without a "backfilling…" mark.
            return [
              tds[0]?.querySelector(".cea-key-text")?.firstChild?.textContent,
              tds[2]?.textContent,
            ];
          }),
        ),
      { timeout: 30_000 },
    )
    .toEqual(goals.goals.map((g) => [g.name, formatNumber(g.conversions, LOCALE)]));
  await panel.getByTestId("cea-goals-unfiltered").waitFor();

  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(300);
    await page.screenshot({
      path: join(ARTIFACTS, `dashboard-filtered-compare-desktop-${scheme}.png`),
      fullPage: true,
    });
  }

  // A goal's name filters the dashboard to its converters, by the scan.
  const goal = goals.goals[0]!;
  const byGoal: Filter[] = [{ dimension: "goal", op: "is", value: goal.goalId }];
  await timed("filter by a goal: scan to completion", async () => {
    await page.getByTestId("cea-clear-filters").click();
    await panel.locator(`tr[data-key="${goal.goalId}"]`).getByTestId("cea-filter-goal").click();
    await expect
      .poll(() => page.getByTestId("cea-chip").allTextContents())
      .toEqual([`Goal is ${goal.name}×`]);
    const converted = () =>
      bridgeQuery<Overview>("analytics:getOverview", {
        siteId,
        ...range,
        filters: byGoal,
        compare: "previous",
      });
    await expect
      .poll(async () => (await converted()).complete, { timeout: 120_000, interval: 500 })
      .toBe(true);
    await expect.poll(() => page.getByTestId("cea-partial").count(), { timeout: 120_000 }).toBe(0);
    const done = await converted();
    expect(done.visitors).toBeGreaterThan(0);
    await cardsBecome(page, expectedCards(done));
  });
  await page.emulateMedia({ colorScheme: "light" });
  await page.screenshot({
    path: join(ARTIFACTS, "dashboard-goal-filter-desktop-light.png"),
    fullPage: true,
  });
  await context.close();
});

test("screenshots in light and dark, at desktop and phone widths", async () => {
  for (const scheme of ["light", "dark"] as const) {
    for (const [name, viewport] of [
      ["desktop", { width: 1280, height: 900 }],
      ["phone", { width: 390, height: 844 }],
    ] as const) {
      const context = await browser.newContext({
        userAgent: USER_AGENT,
        locale: LOCALE,
        viewport,
        colorScheme: scheme,
        deviceScaleFactor: 1,
      });
      const page = await open(context);
      await page.getByRole("region", { name: "Pages" }).locator("tbody tr").first().waitFor();
      await page.waitForTimeout(500);
      await page.screenshot({
        path: join(ARTIFACTS, `dashboard-${name}-${scheme}.png`),
        fullPage: true,
      });
      await page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}-${scheme}-top.png`) });
      // The chart's tooltip: the bucket's date in the site's timezone and the formatted value.
      const chart = page.getByTestId("cea-chart");
      const box = (await chart.locator(".recharts-surface").boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
      await chart.locator(".cea-tooltip").waitFor();
      expect(await chart.locator(".cea-tooltip-date").textContent()).toMatch(
        /^\w{3}, \w{3} \d{1,2}, \d{4}$/,
      );
      await chart.screenshot({ path: join(ARTIFACTS, `dashboard-${name}-${scheme}-tooltip.png`) });
      await context.close();
    }
  }
  expect(errors).toEqual([]);
});
