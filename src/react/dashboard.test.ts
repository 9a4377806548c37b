// @vitest-environment happy-dom
// The dashboard under happy-dom with convex/react mocked (as rate-limiter's React
// tests do): every state, what the cards show (a previous period's change too),
// and that query arguments stay identical across re-renders and move only with the
// clock. Clicks, tabs, custom ranges and CSV export are dashboardInteraction.test.ts.
import { createElement } from "react";
import { act } from "react";
import { describe, expect, test, vi } from "vitest";
import type { Overview } from "../shared.js";
import {
  EMPTY,
  OVERVIEW,
  api,
  calls,
  dashboardHarness,
  fixtures,
  respondWith,
} from "./dashboard.testlib.js";

vi.mock("convex/react", async () => (await import("./dashboard.testlib.js")).convexReactMock);

const { AnalyticsDashboard } = await import("./AnalyticsDashboard.js");
const { MetricCards } = await import("./MetricCards.js");
const { render, mount, q, qa, text } = dashboardHarness(AnalyticsDashboard);

describe("states", () => {
  test("while the site and the reports load, skeletons show and no number is invented", () => {
    respondWith(() => undefined);
    render();
    expect(qa('[aria-busy="true"]').length).toBeGreaterThan(0);
    expect(q('[data-testid="card-visitors"]')).toBeNull();
    respondWith(
      fixtures({
        getOverview: undefined,
        getTimeseries: undefined,
        getBreakdown: undefined,
        getRealtime: undefined,
      }),
    );
    render();
    expect(text('[data-testid="cea-site-name"]')).toBe("Example site");
    expect(q('[data-testid="card-visitors"]')).toBeNull();
    expect(qa(".cea-card .cea-skeleton-line")).toHaveLength(6);
    expect(qa('.cea-breakdown [aria-busy="true"]')).toHaveLength(5);
    expect(text('[data-testid="cea-realtime"]')).toBe("… current visitors");
  });

  test("the cards show the overview exactly as the API returned it, formatted", () => {
    respondWith(fixtures());
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
    respondWith(
      fixtures({
        getBreakdown: new Error(
          "[CONVEX Q(analytics:getBreakdown)] Uncaught Error: Sign in to see analytics",
        ),
      }),
    );
    render();
    const alerts = qa('.cea-breakdown [role="alert"]');
    expect(alerts).toHaveLength(5);
    expect(alerts[0]!.textContent).toContain("Sign in to see analytics");
    expect(text('[data-testid="card-visitors"]')).toBe("20,431");
    expect(q('[data-testid="cea-chart"]')).not.toBeNull();
  });

  test("when the site itself cannot be read, the error says why", () => {
    respondWith(fixtures({ getSite: new Error("Only analytics admins may do this") }));
    render();
    expect(text('[role="alert"]')).toContain("Only analytics admins may do this");
    respondWith(fixtures({ getSite: null }));
    render();
    expect(text('[role="alert"]')).toContain("No site with id site1");
  });

  test("a site passed as a prop needs no getSite call", () => {
    respondWith(fixtures({ getSite: new Error("must not be called") }));
    render({ site: { name: "Shop", timezone: "UTC" } });
    expect(text('[data-testid="cea-site-name"]')).toBe("Shop");
    expect(calls.some((c) => c.name === "analytics:getSite")).toBe(false);
  });

  test("a range with no events explains how to install the tracker, with the site's script tag", () => {
    respondWith(fixtures({ getOverview: EMPTY }));
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

describe("ready for compare", () => {
  test("with a previous period, each card shows its change with an arrow and a spoken text", () => {
    respondWith(fixtures());
    const previous: Overview = {
      ...OVERVIEW,
      visitors: 16345,
      bounceRate: 0.4,
      avgSessionDurationMs: 65_000,
    };
    const range = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) };
    mount(
      createElement(MetricCards, {
        api,
        siteId: "site1",
        range,
        locale: "en-US",
        comparison: previous,
      }),
    );
    const visitors = q('[data-testid="delta-visitors"]')!;
    expect(visitors.className).toBe("cea-delta cea-delta-good");
    expect(visitors.textContent).toBe("↑+25%up 25% from the previous period");
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

describe("stable query arguments", () => {
  test("re-renders reuse identical arguments; only the timer moves realtime's now, by whole minutes", () => {
    respondWith(fixtures());
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
    respondWith(fixtures());
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
