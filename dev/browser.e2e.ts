// The example page in real Chromium, served by the local engine: navigate
// (client-side), click tracked buttons, sign up (a server-side event), then
// /dashboard (the package's AnalyticsDashboard) must show exactly what was
// sent, live. Leaves screenshots in test-artifacts/.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
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

let engine: RunningEngine;
let context: BrowserContext;
let profile: string;

beforeAll(async () => {
  // No seed: every count on the dashboard comes from this test. Builds the page if it is stale.
  engine = await startEngine([]);
  profile = mkdtempSync(join(tmpdir(), "chromium-profile-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1200, height: 900 },
    userAgent: USER_AGENT,
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await context?.close();
  await engine?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const text = async (page: Page, testId: string) =>
  (await page.getByTestId(testId).textContent())?.trim();

/** A query through the engine's bridge, as the page's client runs it. */
const bridgeQuery = <T>(path: string, args: Record<string, unknown>) =>
  queryThroughBridge<T>(engine.url, path, args);

test("the dashboard shows exactly the pageviews, events, visitors and sessions the page sent", async () => {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));

  await page.goto(`${engine.url}/`); // pageview 1: /
  await page.getByTestId("cta").click(); // track 1: cta_click
  await page.getByRole("link", { name: "Pricing" }).click(); // pageview 2: /pricing (client-side)
  await page.getByTestId("plan-pro").click(); // track 2: plan_selected
  await page.getByTestId("email").fill("ada@example.com");
  await page.getByTestId("signup").click(); // a server-side "signup" event, as user:<id>: a second visitor
  await page.getByTestId("signed-up").waitFor();
  await page.getByRole("link", { name: "Docs" }).click(); // pageview 3: /docs
  await page.getByTestId("copy").click(); // track 3: copy_install
  await page.screenshot({ path: join(ARTIFACTS, "docs.png") });
  await page.getByRole("link", { name: "Dashboard" }).click(); // pageview 4: /dashboard

  // The dashboard's queries are live: wait for the last pageview to arrive, then for the worker to go idle.
  await page.waitForFunction(
    () => document.querySelector('[data-testid="card-pageviews"]')?.textContent === "4",
    null,
    { timeout: 60_000 },
  );
  await waitForWorker(engine.url);
  await page.waitForTimeout(1_000); // one more invalidation round, should anything else still land

  // The cards (the package's dashboard), and the report behind them through the bridge.
  expect(await text(page, "card-visitors")).toBe("2");
  expect(await text(page, "card-pageviews")).toBe("4");
  expect(await text(page, "card-sessions")).toBe("2");
  const siteId = (
    await bridgeQuery<{ _id: string }>("analytics:getSiteBySlug", { slug: "default" })
  )._id;
  const to = Math.floor(Date.now() / 3_600_000) * 3_600_000 + 3_600_000;
  const overview = await bridgeQuery<{ events: number }>("analytics:getOverview", {
    siteId,
    from: to - 2 * 86_400_000,
    to,
  });
  expect(overview).toMatchObject({ visitors: 2, pageviews: 4, sessions: 2, events: 8 });
  // Top pages by visitors: one each. A page's visitors are those who viewed it, so the server-side
  // signup event (by user:<id>, on https://server.invalid/) adds nobody to "/".
  const pages = page.getByRole("region", { name: "Pages" }).locator("tbody tr");
  const rows = await pages.evaluateAll((trs) =>
    trs.map((tr) => [tr.getAttribute("data-key"), tr.querySelector("td.cea-num")?.textContent]),
  );
  expect(Object.fromEntries(rows)).toEqual({
    "/": "1",
    "/pricing": "1",
    "/docs": "1",
    "/dashboard": "1",
  });
  await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });
  expect(errors).toEqual([]);
});
