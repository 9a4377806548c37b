// @vitest-environment happy-dom
// The dashboard under happy-dom with convex/react mocked (as rate-limiter's React
// tests do): every state, what the cards and rows show, CSV export, and that query
// arguments stay identical across re-renders and move only with the clock.
import { createElement } from "react";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { getFunctionName, makeFunctionReference } from "convex/server";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import type { Breakdown, Overview, Site, Timeseries } from "../shared.js";
import type { AnalyticsApi } from "./hooks.js";

type Call = { name: string; args: unknown };
const calls: Call[] = [];
let respond: (name: string, args: Record<string, unknown>) => unknown = () => undefined;

vi.mock("convex/react", () => ({
  useQuery: (query: unknown, args: unknown) => {
    if (args === "skip") return undefined;
    const name = getFunctionName(query as never);
    calls.push({ name, args });
    const value = respond(name, args as Record<string, unknown>);
    if (value instanceof Error) throw value;
    return value;
  },
  useConvex: () => ({ url: "https://happy-otter-123.convex.cloud" }),
}));

const { AnalyticsDashboard } = await import("./AnalyticsDashboard.js");
const { MetricCards } = await import("./MetricCards.js");

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const api: AnalyticsApi = {
  getOverview: makeFunctionReference<"query">(
    "analytics:getOverview",
  ) as AnalyticsApi["getOverview"],
  getTimeseries: makeFunctionReference<"query">(
    "analytics:getTimeseries",
  ) as AnalyticsApi["getTimeseries"],
  getBreakdown: makeFunctionReference<"query">(
    "analytics:getBreakdown",
  ) as AnalyticsApi["getBreakdown"],
  getRealtime: makeFunctionReference<"query">(
    "analytics:getRealtime",
  ) as AnalyticsApi["getRealtime"],
  getSite: makeFunctionReference<"query">("analytics:getSite") as AnalyticsApi["getSite"],
};

const SITE: Site = {
  _id: "site1",
  _creationTime: 0,
  slug: "default",
  name: "Example site",
  timezone: "America/New_York",
  allowedOrigins: [],
  enabled: true,
  settings: {},
};
const OVERVIEW: Overview = {
  visitors: 20431,
  pageviews: 51234,
  sessions: 24000,
  bounceRate: 0.4567,
  avgSessionDurationMs: 65_000,
  viewsPerSession: 2.1347,
  events: 60000,
};
const EMPTY: Overview = {
  visitors: 0,
  pageviews: 0,
  sessions: 0,
  bounceRate: null,
  avgSessionDurationMs: null,
  viewsPerSession: null,
  events: 0,
};
const TIMESERIES: Timeseries = {
  granularity: "day",
  points: [0, 1, 2].map((i) => ({
    bucketStart: Date.UTC(2026, 10, 30 + i, 5),
    visitors: 100 + i,
    pageviews: 200 + i,
    sessions: 120,
    events: 300,
    bounceRate: 0.5,
    avgSessionDurationMs: 60_000,
  })),
};
const row = (key: string, visitors: number, extra: Partial<Breakdown["rows"][number]> = {}) => ({
  key,
  visitors,
  pageviews: visitors * 2,
  events: visitors * 3,
  entries: visitors,
  bounceRate: 0.5,
  ...extra,
});
const BREAKDOWNS: Record<string, Breakdown["rows"]> = {
  page: [row("/", 10215), row("/pricing", 5000), row("(other)", 900)],
  exitPage: [row("/", 10215), row("/pricing", 5000), row("(other)", 900)],
  country: [row("DE", 3000), row("US", 2000), row("(none)", 10)],
  event: [row("pageview", 20000), row("signup", 300), row("plan_selected", 200)],
  prop: [
    row("signup|plan|pro", 120),
    row("plan_selected|plan|team", 90),
    row("signup|plan|free", 80),
  ],
};

/** Answers every query with fixed data; `overrides` replaces some. */
function fixtures(overrides: Record<string, unknown> = {}) {
  return (name: string, args: Record<string, unknown>) => {
    const short = name.split(":")[1]!;
    if (short in overrides) return overrides[short];
    switch (short) {
      case "getSite":
        return SITE;
      case "getOverview":
        return OVERVIEW;
      case "getTimeseries":
        return TIMESERIES;
      case "getRealtime":
        return { visitors: 7, pageviews: 9, events: 12 };
      case "getBreakdown":
        return {
          rows: (BREAKDOWNS[args.dimension as string] ?? [row("x", 1)]).slice(
            0,
            args.limit as number,
          ),
        };
    }
  };
}

let container: HTMLDivElement;
let root: Root;
const NOW = Date.UTC(2026, 11, 2, 3, 20, 10);

beforeEach(() => {
  vi.useFakeTimers({
    now: NOW,
    toFake: ["Date", "setTimeout", "clearTimeout", "setInterval", "clearInterval"],
  });
  calls.length = 0;
  container = document.createElement("div");
  document.body.appendChild(container);
  root = createRoot(container);
});
afterEach(() => {
  act(() => root.unmount());
  container.remove();
  vi.useRealTimers();
});

function render(props: Partial<Parameters<typeof AnalyticsDashboard>[0]> = {}) {
  act(() =>
    root.render(
      createElement(AnalyticsDashboard, { api, siteId: "site1", locale: "en-US", ...props }),
    ),
  );
}
const q = (sel: string) => container.querySelector(sel);
const qa = (sel: string) => [...container.querySelectorAll(sel)];
const text = (sel: string) => q(sel)?.textContent?.trim();
function click(el: Element | null) {
  if (!el) throw new Error("nothing to click");
  act(() => (el as HTMLElement).click());
}
function panel(title: string): Element {
  const found = qa("section.cea-breakdown").find((s) => s.getAttribute("aria-label") === title);
  if (!found) throw new Error(`no panel ${title}`);
  return found;
}

describe("states", () => {
  test("while the site and the reports load, skeletons show and no number is invented", () => {
    respond = () => undefined;
    render();
    expect(qa('[aria-busy="true"]').length).toBeGreaterThan(0);
    expect(q('[data-testid="card-visitors"]')).toBeNull();
    respond = fixtures({
      getOverview: undefined,
      getTimeseries: undefined,
      getBreakdown: undefined,
      getRealtime: undefined,
    });
    render();
    expect(text('[data-testid="cea-site-name"]')).toBe("Example site");
    expect(q('[data-testid="card-visitors"]')).toBeNull();
    expect(qa(".cea-card .cea-skeleton-line")).toHaveLength(6);
    expect(qa('.cea-breakdown [aria-busy="true"]')).toHaveLength(5);
    expect(text('[data-testid="cea-realtime"]')).toBe("… current visitors");
  });

  test("the cards show the overview exactly as the API returned it, formatted", () => {
    respond = fixtures();
    render();
    expect(text('[data-testid="card-visitors"]')).toBe("20,431");
    expect(text('[data-testid="card-pageviews"]')).toBe("51,234");
    expect(text('[data-testid="card-sessions"]')).toBe("24,000");
    expect(text('[data-testid="card-viewsPerSession"]')).toBe("2.13");
    expect(text('[data-testid="card-bounceRate"]')).toBe("45.7%");
    expect(text('[data-testid="card-avgSessionDurationMs"]')).toBe("1m 5s");
    expect(text('[data-testid="cea-realtime"]')).toBe("7 current visitors");
    expect(text('[data-testid="cea-timezone"]')).toBe("Times in America/New_York (GMT-05:00)");
  });

  test("a failing query shows its error text in its own panel, and the rest of the page still works", () => {
    respond = fixtures({
      getBreakdown: new Error(
        "[CONVEX Q(analytics:getBreakdown)] Uncaught Error: Sign in to see analytics",
      ),
    });
    render();
    const alerts = qa('.cea-breakdown [role="alert"]');
    expect(alerts).toHaveLength(5);
    expect(alerts[0]!.textContent).toContain("Sign in to see analytics");
    expect(text('[data-testid="card-visitors"]')).toBe("20,431");
    expect(q('[data-testid="cea-chart"]')).not.toBeNull();
  });

  test("when the site itself cannot be read, the error says why", () => {
    respond = fixtures({ getSite: new Error("Only analytics admins may do this") });
    render();
    expect(text('[role="alert"]')).toContain("Only analytics admins may do this");
    respond = fixtures({ getSite: null });
    render();
    expect(text('[role="alert"]')).toContain("No site with id site1");
  });

  test("a site passed as a prop needs no getSite call", () => {
    respond = fixtures({ getSite: new Error("must not be called") });
    render({ site: { name: "Shop", timezone: "UTC" } });
    expect(text('[data-testid="cea-site-name"]')).toBe("Shop");
    expect(calls.some((c) => c.name === "analytics:getSite")).toBe(false);
  });

  test("a range with no events explains how to install the tracker, with the site's script tag", () => {
    respond = fixtures({ getOverview: EMPTY });
    render();
    const empty = q('[data-testid="cea-empty"]');
    expect(empty?.querySelector(".cea-code code")?.textContent).toBe(
      '<script defer src="https://happy-otter-123.convex.site/analytics/script.js" data-key="pk_YOUR_WRITE_KEY"></script>',
    );
    expect(q('[data-testid="cea-chart"]')).toBeNull();
    render({ writeKey: "pk_abc", scriptSrc: "https://stats.example.com/analytics/script.js" });
    expect(q('[data-testid="cea-empty"] .cea-code code')?.textContent).toBe(
      '<script defer src="https://stats.example.com/analytics/script.js" data-key="pk_abc"></script>',
    );
  });
});

describe("interaction", () => {
  test("clicking a card selects the chart's metric; views per session, which has no series, is not selectable", () => {
    respond = fixtures();
    render();
    expect(q('[data-testid="cea-chart"] h3')?.textContent).toBe("Visitors per day");
    click(q('button[data-metric="bounceRate"]'));
    expect(q('[data-testid="cea-chart"] h3')?.textContent).toBe("Bounce rate per day");
    expect(q('button[data-metric="bounceRate"]')?.getAttribute("aria-pressed")).toBe("true");
    expect(q('button[data-metric="viewsPerSession"]')).toBeNull();
  });

  test("the granularity switch asks the API for that granularity", () => {
    respond = fixtures();
    render();
    const weekButton = qa('[aria-label="Granularity"] button').find(
      (b) => b.textContent === "Week",
    );
    click(weekButton!);
    expect(calls.filter((c) => c.name === "analytics:getTimeseries").at(-1)!.args).toMatchObject({
      granularity: "week",
    });
  });

  test("rows show visitors, a bar proportional to them and their share of all visitors; (other) is marked", () => {
    respond = fixtures();
    render();
    const pages = panel("Pages");
    const rows = [...pages.querySelectorAll("tbody tr")];
    expect(rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent))).toEqual([
      ["/", "10,215", "50%"],
      ["/pricing", "5,000", "24.5%"],
      ["(other)", "900", "4.4%"],
    ]);
    expect((rows[1]!.querySelector(".cea-bar") as HTMLElement).style.width).toBe(
      `${(5000 / 10215) * 100}%`,
    );
    expect(rows[2]!.className).toBe("cea-row-other");
  });

  test("exit pages, which carry only entries, show exits as a share of sessions", () => {
    respond = fixtures({
      getBreakdown: { rows: [row("/signup", 0, { entries: 6000, pageviews: 0, events: 0 })] },
    });
    render();
    const pages = panel("Pages");
    click(pages.querySelector('[data-testid="cea-tab-exitPage"]'));
    expect([...pages.querySelectorAll("th")].map((th) => th.textContent)).toEqual([
      "Exit page",
      "Exits",
      "%",
    ]);
    expect([...pages.querySelectorAll("tbody td")].map((td) => td.textContent)).toEqual([
      "/signup",
      "6,000",
      "25%",
    ]);
  });

  test("countries show their flag and name", () => {
    respond = fixtures();
    render();
    const cells = [...panel("Locations").querySelectorAll("tbody td.cea-key")].map(
      (td) => td.textContent,
    );
    expect(cells).toEqual([
      "\u{1F1E9}\u{1F1EA}Germany",
      "\u{1F1FA}\u{1F1F8}United States",
      "(none)",
    ]);
  });

  test("every tab asks for its own dimension; Show more asks for more rows", () => {
    respond = fixtures();
    render();
    const sources = panel("Sources");
    for (const tab of [
      "referrer",
      "utmSource",
      "utmMedium",
      "utmCampaign",
      "utmContent",
      "utmTerm",
      "channel",
    ]) {
      click(sources.querySelector(`[data-testid="cea-tab-${tab}"]`));
      expect(calls.filter((c) => c.name === "analytics:getBreakdown").at(-1)!.args).toMatchObject({
        dimension: tab,
        limit: 10,
      });
    }
    respond = fixtures({
      getBreakdown: { rows: Array.from({ length: 10 }, (_, i) => row(`/p${i}`, 100 - i)) },
    });
    render();
    click(panel("Pages").querySelector('[data-testid="cea-more"]'));
    expect(
      calls
        .filter(
          (c) =>
            c.name === "analytics:getBreakdown" &&
            (c.args as { dimension: string }).dimension === "page",
        )
        .at(-1)!.args,
    ).toMatchObject({
      limit: 100,
    });
  });

  test("the events panel leaves out pageviews, and clicking an event shows its properties", () => {
    respond = fixtures();
    render();
    const events = panel("Events");
    expect([...events.querySelectorAll("tbody td.cea-key")].map((td) => td.textContent)).toEqual([
      "signup",
      "plan_selected",
    ]);
    click(events.querySelector("tbody button"));
    expect(
      [...events.querySelectorAll("tbody tr")].map((r) =>
        [...r.querySelectorAll("td")].map((td) => td.textContent),
      ),
    ).toEqual([
      ["plan = pro", "120", "0.6%"],
      ["plan = free", "80", "0.4%"],
    ]);
    click(events.querySelector('[data-testid="cea-back"]'));
    expect(events.querySelectorAll("tbody tr")).toHaveLength(2);
  });

  test("arrow keys move between tabs", () => {
    respond = fixtures();
    render();
    const first = panel("Devices").querySelector('[data-testid="cea-tab-device"]') as HTMLElement;
    act(() => {
      first.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    });
    expect(
      panel("Devices")
        .querySelector('[data-testid="cea-tab-browser"]')
        ?.getAttribute("aria-selected"),
    ).toBe("true");
  });

  test("the theme prop overrides the colour scheme; auto leaves it to prefers-color-scheme", () => {
    respond = fixtures();
    render({ theme: "dark" });
    expect(q(".cea-root")?.getAttribute("data-theme")).toBe("dark");
    render({ theme: "auto" });
    expect(q(".cea-root")?.hasAttribute("data-theme")).toBe(false);
  });
});

describe("custom ranges", () => {
  test("a custom range asks for its whole local days; an inverted one is refused and the range stays", () => {
    respond = fixtures();
    render();
    const select = q('[data-testid="cea-range"]') as HTMLSelectElement;
    act(() => {
      select.value = "custom";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    const setDate = (label: string, value: string) => {
      const input = q(`input[aria-label="${label}"]`) as HTMLInputElement;
      act(() => {
        // React tracks the value through its own setter; set it the way a browser would.
        Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")!.set!.call(
          input,
          value,
        );
        input.dispatchEvent(new Event("input", { bubbles: true }));
      });
    };
    const lastOverview = () =>
      calls.filter((c) => c.name === "analytics:getOverview").at(-1)!.args as {
        from: number;
        to: number;
      };
    setDate("From", "2026-11-01");
    setDate("To", "2026-11-30");
    act(() => {
      (q(".cea-custom") as HTMLFormElement).requestSubmit();
    });
    expect(lastOverview()).toMatchObject({
      from: Date.UTC(2026, 10, 1, 4),
      to: Date.UTC(2026, 11, 1, 5),
    });
    setDate("From", "2026-11-30");
    setDate("To", "2026-11-01");
    act(() => {
      (q(".cea-custom") as HTMLFormElement).requestSubmit();
    });
    expect(text(".cea-range-error")).toBe(
      "The end date must be on or after the start date, and not in the future",
    );
    expect(lastOverview()).toMatchObject({
      from: Date.UTC(2026, 10, 1, 4),
      to: Date.UTC(2026, 11, 1, 5),
    });
  });
});

describe("ready for compare", () => {
  test("with a previous period, each card shows its change with an arrow and a spoken text", () => {
    respond = fixtures();
    const previous: Overview = {
      ...OVERVIEW,
      visitors: 16345,
      bounceRate: 0.4,
      avgSessionDurationMs: 65_000,
    };
    const range = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) };
    act(() =>
      root.render(
        createElement(MetricCards, {
          api,
          siteId: "site1",
          range,
          locale: "en-US",
          comparison: previous,
        }),
      ),
    );
    const visitors = q('[data-testid="delta-visitors"]')!;
    expect(visitors.className).toBe("cea-delta cea-delta-good");
    expect(visitors.textContent).toBe("↑25%up 25% from the previous period");
    const bounce = q('[data-testid="delta-bounceRate"]')!;
    expect(bounce.className).toBe("cea-delta cea-delta-bad");
    expect(bounce.querySelector(".cea-visually-hidden")?.textContent).toBe(
      "up 5.7 points from the previous period",
    );
    expect(q('[data-testid="delta-avgSessionDurationMs"] .cea-visually-hidden')?.textContent).toBe(
      "unchanged from the previous period",
    );
  });
});

describe("CSV export", () => {
  test("the visible panel exports the rows it shows", async () => {
    respond = fixtures();
    render();
    const blobs: Blob[] = [];
    URL.createObjectURL = vi.fn((b: Blob) => (blobs.push(b), "blob:x"));
    URL.revokeObjectURL = vi.fn();
    const pages = panel("Pages");
    click(pages.querySelector('[data-testid="cea-tab-exitPage"]'));
    click(pages.querySelector('[data-testid="cea-export"]'));
    expect(await blobs[0]!.text()).toBe(
      "exitPage,visitors,pageviews,events,entries,bounce_rate\r\n/,10215,20430,30645,10215,0.5\r\n/pricing,5000,10000,15000,5000,0.5\r\n(other),900,1800,2700,900,0.5\r\n",
    );
    click(q('[data-testid="cea-export-timeseries"]'));
    expect((await blobs[1]!.text()).split("\r\n")[1]).toBe(
      '2026-11-30T05:00:00.000Z,"Mon, Nov 30, 2026",100,200,120,300,0.5,60000',
    );
  });
});

describe("stable query arguments", () => {
  test("re-renders reuse identical arguments; only the timer moves realtime's now, by whole minutes", () => {
    respond = fixtures();
    render();
    for (let i = 0; i < 5; i++) render();
    const distinct = (name: string) =>
      new Set(
        calls.filter((c) => c.name === `analytics:${name}`).map((c) => JSON.stringify(c.args)),
      );
    expect(distinct("getOverview").size).toBe(1);
    expect(distinct("getTimeseries").size).toBe(1);
    expect(distinct("getBreakdown").size).toBe(5); // one per panel's first tab
    expect([...distinct("getRealtime")]).toEqual([
      JSON.stringify({ siteId: "site1", now: Date.UTC(2026, 11, 2, 3, 21) }),
    ]);
    const overview = JSON.parse([...distinct("getOverview")][0]!);
    expect(overview).toEqual({
      siteId: "site1",
      from: Date.UTC(2026, 10, 2, 5),
      to: Date.UTC(2026, 11, 2, 4),
    });

    act(() => {
      vi.advanceTimersByTime(60_000);
    });
    expect(distinct("getRealtime").size).toBe(2);
    expect(calls.filter((c) => c.name === "analytics:getRealtime").at(-1)!.args).toEqual({
      siteId: "site1",
      now: Date.UTC(2026, 11, 2, 3, 22),
    });
    expect(distinct("getOverview").size).toBe(1);

    // Past the hour the range's end moves to the next hour, once.
    act(() => {
      vi.advanceTimersByTime(40 * 60_000);
    });
    expect([...distinct("getOverview")].map((a) => JSON.parse(a).to)).toEqual([
      Date.UTC(2026, 11, 2, 4),
      Date.UTC(2026, 11, 2, 5),
    ]);
  });

  test("every range preset asks for its own rounded range", () => {
    respond = fixtures();
    render();
    const select = q('[data-testid="cea-range"]') as HTMLSelectElement;
    const seen: Record<string, unknown> = {};
    for (const preset of ["today", "24h", "7d", "90d", "12mo"]) {
      act(() => {
        select.value = preset;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      });
      const { from, to } = calls.filter((c) => c.name === "analytics:getOverview").at(-1)!.args as {
        from: number;
        to: number;
      };
      expect(to).toBe(Date.UTC(2026, 11, 2, 4));
      expect(from % 3_600_000).toBe(0);
      seen[preset] = new Date(from).toISOString();
    }
    expect(seen).toEqual({
      today: "2026-12-01T05:00:00.000Z",
      "24h": "2026-12-01T04:00:00.000Z",
      "7d": "2026-11-25T05:00:00.000Z",
      "90d": "2026-09-03T04:00:00.000Z",
      "12mo": "2026-01-01T05:00:00.000Z",
    });
  });
});
