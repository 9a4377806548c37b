// Shared by dashboard.test.ts and dashboardInteraction.test.ts: a stand-in for
// convex/react whose useQuery records every call and answers from fixtures, the
// fixture data, and a happy-dom harness with a fresh React root and a fake clock per
// test. vi.mock is hoisted per test file, so each file mocks convex/react itself,
// with this module's stand-in, before importing a component:
//
//   vi.mock("convex/react", async () => (await import("./dashboard.testlib.js")).convexReactMock);
//   const { AnalyticsDashboard } = await import("./AnalyticsDashboard.js");
//   const { render, q, click } = dashboardHarness(AnalyticsDashboard);
//
// This module must not import convex/react (nor a component) itself: the mock's
// factory imports it, so it has to load before the mocked module does.
import { act, createElement, type ReactNode } from "react";
import { createRoot, type Root } from "react-dom/client";
import { getFunctionName, makeFunctionReference } from "convex/server";
import { afterEach, beforeEach, vi } from "vitest";
import type { Breakdown, Overview, Site, Timeseries } from "../shared.js";
import type { AnalyticsDashboard } from "./AnalyticsDashboard.js";
import type { AnalyticsApi } from "./hooks.js";

type Call = { name: string; args: unknown };
type Respond = (name: string, args: Record<string, unknown>) => unknown;

/** Every useQuery call (that was not skipped) since the test began, in order. */
export const calls: Call[] = [];
let respond: Respond = () => undefined;
/** How useQuery answers from now on (until the next call, across tests): a value, or an Error it throws. */
export function respondWith(answer: Respond): void {
  respond = answer;
}

/** Every mutation the dashboard ran through the client (startFilterScan), in order. */
export const mutations: Call[] = [];

export const convexReactMock = {
  useQuery: (query: unknown, args: unknown) => {
    if (args === "skip") return undefined;
    const name = getFunctionName(query as never);
    calls.push({ name, args });
    const value = respond(name, args as Record<string, unknown>);
    if (value instanceof Error) throw value;
    return value;
  },
  useConvex: () => ({
    url: "https://happy-otter-123.convex.cloud",
    mutation: (ref: unknown, args: unknown) => {
      mutations.push({ name: getFunctionName(ref as never), args });
      return Promise.resolve({ scanId: "scan1" });
    },
  }),
};

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export const api: AnalyticsApi = {
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
  getGoals: makeFunctionReference<"query">("analytics:getGoals") as AnalyticsApi["getGoals"],
  startFilterScan: makeFunctionReference<"mutation">(
    "analytics:startFilterScan",
  ) as AnalyticsApi["startFilterScan"],
};

export const SITE: Site = {
  _id: "site1",
  _creationTime: 0,
  slug: "default",
  name: "Example site",
  timezone: "America/New_York",
  allowedOrigins: [],
  enabled: true,
  settings: {},
};
export const OVERVIEW: Overview = {
  visitors: 20431,
  pageviews: 51234,
  sessions: 24000,
  bounceRate: 0.4567,
  avgSessionDurationMs: 65_000,
  viewsPerSession: 2.1347,
  events: 60000,
};
export const EMPTY: Overview = {
  visitors: 0,
  pageviews: 0,
  sessions: 0,
  bounceRate: null,
  avgSessionDurationMs: null,
  viewsPerSession: null,
  events: 0,
};
export const TIMESERIES: Timeseries = {
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
export const row = (
  key: string,
  visitors: number,
  extra: Partial<Breakdown["rows"][number]> = {},
) => ({
  key,
  visitors,
  pageviews: visitors * 2,
  events: visitors * 3,
  entries: visitors,
  bounceRate: 0.5,
  ...extra,
});
export const BREAKDOWNS: Record<string, Breakdown["rows"]> = {
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
export function fixtures(overrides: Record<string, unknown> = {}) {
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
      case "getGoals":
        return { visitors: OVERVIEW.visitors, goals: [] };
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

const NOW = Date.UTC(2026, 11, 2, 3, 20, 10);

/**
 * Mounts a fresh root before each test (with the clock faked at NOW and `calls`
 * cleared) and unmounts it after. Takes the dashboard from the caller, which
 * imported it after mocking convex/react.
 */
export function dashboardHarness(Dashboard: typeof AnalyticsDashboard) {
  let container: HTMLDivElement;
  let root: Root;

  beforeEach(() => {
    vi.useFakeTimers({
      now: NOW,
      toFake: ["Date", "setTimeout", "clearTimeout", "setInterval", "clearInterval"],
    });
    calls.length = 0;
    mutations.length = 0;
    container = document.createElement("div");
    document.body.appendChild(container);
    root = createRoot(container);
  });
  afterEach(() => {
    act(() => root.unmount());
    container.remove();
    vi.useRealTimers();
  });

  /** Renders something other than the dashboard (a single card row, say) in the root. */
  function mount(node: ReactNode) {
    act(() => root.render(node));
  }
  function render(props: Partial<Parameters<typeof AnalyticsDashboard>[0]> = {}) {
    mount(createElement(Dashboard, { api, siteId: "site1", locale: "en-US", ...props }));
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
  return { mount, render, q, qa, text, click, panel };
}
