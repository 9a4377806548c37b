// @vitest-environment happy-dom
// The dashboard's filters, compare and goals under happy-dom with convex/react
// mocked: a clicked row becomes a chip and every panel's query gains its filter,
// filter combinations that need a scan start one per report (again when stale) and
// say they are partial, the compare switch asks for a compared period and shows
// the change, and the goals panel.
import { act } from "react";
import { describe, expect, test, vi } from "vitest";
import type { Filter, GoalsReport, Overview, Timeseries } from "../shared.js";
import {
  OVERVIEW,
  TIMESERIES,
  api,
  calls,
  dashboardHarness,
  fixtures,
  mutations,
  respondWith,
} from "./dashboard.testlib.js";

vi.mock("convex/react", async () => (await import("./dashboard.testlib.js")).convexReactMock);

const { AnalyticsDashboard } = await import("./AnalyticsDashboard.js");
const { render, q, qa, text, click, panel } = dashboardHarness(AnalyticsDashboard);

const RANGE = { siteId: "site1", from: Date.UTC(2026, 10, 2, 5), to: Date.UTC(2026, 11, 2, 4) };
const PRICING: Filter = { dimension: "page", op: "is", value: "/pricing" };
const GERMANY: Filter = { dimension: "country", op: "is", value: "DE" };
/** The first tab of each breakdown panel. */
const PANEL_DIMENSIONS = ["page", "channel", "country", "device", "event"];

type Args = Record<string, unknown>;
/** The latest arguments each report (each breakdown dimension) was asked with since call `since`. */
function latest(since = 0): Record<string, Args> {
  const out: Record<string, Args> = {};
  for (const c of calls.slice(since)) {
    const args = c.args as Args;
    const short = c.name.split(":")[1]!;
    out[short === "getBreakdown" ? `getBreakdown:${String(args.dimension)}` : short] = args;
  }
  return out;
}

function rowButton(title: string, key: string): Element {
  const found = panel(title).querySelector(`tr[data-key="${key}"] [data-testid="cea-filter-row"]`);
  if (!found) throw new Error(`no filter button for ${key} in ${title}`);
  return found;
}

function selectCompare(value: string) {
  const select = q('[data-testid="cea-compare"]') as HTMLSelectElement;
  act(() => {
    select.value = value;
    select.dispatchEvent(new Event("change", { bubbles: true }));
  });
}

/** Filtered answers carry their progress, as the API's do. */
function filteredFixtures(progress: { complete: boolean; scannedEvents: number; stale?: boolean }) {
  const base = fixtures();
  return (name: string, args: Args) => {
    const value = base(name, args);
    return args.filters && value && typeof value === "object" ? { ...value, ...progress } : value;
  };
}

describe("filters", () => {
  test("clicking a row's key adds a chip and every panel asks with its filter; removing it restores them", () => {
    respondWith(filteredFixtures({ complete: true, scannedEvents: 0 }));
    render();
    const before = latest();
    expect(before.getOverview).toEqual(RANGE);
    const since = calls.length;
    click(rowButton("Pages", "/pricing"));
    expect(qa('[data-testid="cea-chip"]').map((c) => c.firstChild?.textContent)).toEqual([
      "Page is /pricing",
    ]);
    const after = latest(since);
    expect(after.getOverview).toEqual({ ...RANGE, filters: [PRICING] });
    expect(after.getTimeseries).toEqual({ ...RANGE, filters: [PRICING] });
    for (const d of PANEL_DIMENSIONS)
      expect(after[`getBreakdown:${d}`], d).toMatchObject({ dimension: d, filters: [PRICING] });
    // Every report asked since the click is filtered (the shares' totals too); goals are not.
    for (const c of calls.slice(since).filter((c) => c.name !== "analytics:getRealtime"))
      if (c.name !== "analytics:getGoals") expect(c.args, c.name).toHaveProperty("filters");
    // Rollup-answered (complete): no scan, no partial notice.
    expect(mutations).toEqual([]);
    expect(q('[data-testid="cea-partial"]')).toBeNull();

    // Another page replaces the page filter; a country adds its own.
    click(rowButton("Pages", "/"));
    click(rowButton("Locations", "DE"));
    expect(qa('[data-testid="cea-chip"]').map((c) => c.firstChild?.textContent)).toEqual([
      "Page is /",
      "Country is DE",
    ]);

    const removeAt = calls.length;
    click(q('[aria-label="Remove filter Page is /"]'));
    expect(latest(removeAt).getOverview).toEqual({ ...RANGE, filters: [GERMANY] });
    const clearAt = calls.length;
    click(q('[data-testid="cea-clear-filters"]'));
    expect(q('[data-testid="cea-filters"]')).toBeNull();
    const cleared = latest(clearAt);
    expect(cleared.getOverview).toEqual(RANGE);
    expect(cleared.getTimeseries).toEqual(RANGE);
    for (const d of PANEL_DIMENSIONS)
      expect(cleared[`getBreakdown:${d}`]).toEqual({
        ...RANGE,
        dimension: d,
        limit: d === "event" ? 11 : 10,
      });
  });

  test("(other) rows and property rows are not filters", () => {
    respondWith(fixtures());
    render();
    expect(
      panel("Pages").querySelector('tr[data-key="(other)"] [data-testid="cea-filter-row"]'),
    ).toBeNull();
    click(panel("Events").querySelector('[data-testid="cea-props"]'));
    expect(panel("Events").querySelector('[data-testid="cea-filter-row"]')).toBeNull();
  });

  test("an event row filters by the event", () => {
    respondWith(fixtures());
    render();
    click(rowButton("Events", "signup"));
    expect(latest().getOverview).toEqual({
      ...RANGE,
      filters: [{ dimension: "event", op: "is", value: "signup" }],
    });
  });

  test("a combination that needs a scan starts one per report, again when stale, and says it is partial", () => {
    respondWith(filteredFixtures({ complete: false, scannedEvents: 1234 }));
    render();
    click(rowButton("Locations", "DE"));
    click(rowButton("Pages", "/pricing"));
    const filters = [GERMANY, PRICING];
    const started = () => mutations.map((m) => m.args as Args);
    expect(mutations.every((m) => m.name === "analytics:startFilterScan")).toBe(true);
    // With one filter the fixtures said partial too: those scans ran, with one filter.
    const both = started().filter((a) => (a.filters as Filter[]).length === 2);
    expect(both).toEqual(
      expect.arrayContaining([
        { report: "overview", ...RANGE, filters },
        { report: "timeseries", ...RANGE, filters },
        ...PANEL_DIMENSIONS.map((d) => ({
          report: "breakdown",
          ...RANGE,
          filters,
          dimension: d,
          limit: d === "event" ? 11 : 10,
        })),
      ]),
    );
    expect(both).toHaveLength(7);
    expect(text('.cea-cards + [data-testid="cea-partial"]')).toBe(
      "Partial — 1,234 events scanned, counting…",
    );
    expect(qa('[data-testid="cea-partial"]')).toHaveLength(7);

    // Re-renders start nothing more; a stale answer starts each once again.
    const count = mutations.length;
    render();
    render();
    expect(mutations).toHaveLength(count);
    respondWith(filteredFixtures({ complete: false, scannedEvents: 1300, stale: true }));
    render();
    render();
    expect(mutations).toHaveLength(count + 7);
    expect(mutations.slice(count).map((m) => (m.args as Args).report)).toEqual(
      expect.arrayContaining(["overview", "timeseries", "breakdown"]),
    );
  });

  test("without startFilterScan the reports stay partial and say so; a scan's error is shown", () => {
    respondWith(filteredFixtures({ complete: false, scannedEvents: 0 }));
    render({ api: { ...api, startFilterScan: undefined } });
    click(rowButton("Locations", "DE"));
    expect(mutations).toEqual([]);
    expect(text('.cea-cards + [data-testid="cea-partial"]')).toBe(
      "Partial — 0 events scanned (export startFilterScan to count them all)",
    );
    const base = fixtures();
    respondWith((name, args) => {
      const value = base(name, args) as object;
      return args.filters && name.endsWith("getOverview")
        ? { ...value, complete: false, scannedEvents: 10, error: "Too many events to scan" }
        : value;
    });
    render({ api: { ...api, startFilterScan: undefined } });
    expect(text('[data-testid="cea-filter-error"]')).toBe(
      "The filter scan stopped: Too many events to scan",
    );
  });

  test("a filter that matches nothing is not the install screen", () => {
    const empty: Overview = { ...OVERVIEW, visitors: 0, pageviews: 0, sessions: 0, events: 0 };
    respondWith(fixtures());
    render();
    respondWith((name, args) =>
      args.filters && name.endsWith("getOverview") ? empty : fixtures()(name, args),
    );
    click(rowButton("Pages", "/pricing"));
    expect(q('[data-testid="cea-empty"]')).toBeNull();
    expect(text('[data-testid="card-visitors"]')).toBe("0");
  });
});

describe("compare", () => {
  const comparedOverview = (visitors: number): Overview => ({
    ...OVERVIEW,
    comparison: {
      from: RANGE.from - 30 * 86_400_000,
      to: RANGE.from,
      ...OVERVIEW,
      visitors,
      bounceRate: 0.5,
      comparison: undefined,
    } as NonNullable<Overview["comparison"]>,
  });
  const comparedSeries: Timeseries = {
    ...TIMESERIES,
    comparison: {
      from: 0,
      to: 1,
      points: TIMESERIES.points.map((p) => ({ ...p, visitors: p.visitors - 50 })),
    },
  };

  test("the switch passes compare to the overview and the timeseries, not to breakdowns; cards show the change", () => {
    respondWith((name, args) =>
      args.compare
        ? name.endsWith("getOverview")
          ? comparedOverview(16345)
          : name.endsWith("getTimeseries")
            ? comparedSeries
            : fixtures()(name, args)
        : fixtures()(name, args),
    );
    render();
    expect(q('[data-testid="delta-visitors"]')).toBeNull();
    const since = calls.length;
    selectCompare("previous");
    const after = latest(since);
    expect(after.getOverview).toEqual({ ...RANGE, compare: "previous" });
    expect(after.getTimeseries).toEqual({ ...RANGE, compare: "previous" });
    for (const d of PANEL_DIMENSIONS)
      expect(after[`getBreakdown:${d}`]).not.toHaveProperty("compare");
    const visitors = q('[data-testid="delta-visitors"]')!;
    expect(visitors.className).toBe("cea-delta cea-delta-good");
    expect(
      [...visitors.querySelectorAll('[aria-hidden="true"]')].map((s) => s.textContent),
    ).toEqual(["↑", "+25%"]);
    // Bounce rate fell 4.3 points: down, and good.
    const bounce = q('[data-testid="delta-bounceRate"]')!;
    expect(bounce.className).toBe("cea-delta cea-delta-good");
    expect(bounce.textContent).toBe("↓−4.3 ptsdown 4.3 points from the previous period");
    expect(text('[data-testid="cea-chart-legend"]')).toBe("the previous period");

    selectCompare("yearOverYear");
    expect(latest().getOverview).toEqual({ ...RANGE, compare: "yearOverYear" });
    expect(q('[data-testid="delta-visitors"] .cea-visually-hidden')?.textContent).toBe(
      "up 25% from a year earlier",
    );
    selectCompare("off");
    expect(latest().getOverview).toEqual(RANGE);
    expect(q('[data-testid="delta-visitors"]')).toBeNull();
    expect(q('[data-testid="cea-chart-legend"]')).toBeNull();
  });

  test("a compared value of 0 shows a dash; compare and filters go together", () => {
    respondWith((name, args) =>
      args.compare && name.endsWith("getOverview") ? comparedOverview(0) : fixtures()(name, args),
    );
    render();
    selectCompare("previous");
    click(rowButton("Pages", "/pricing"));
    expect(latest().getOverview).toEqual({ ...RANGE, filters: [PRICING], compare: "previous" });
    expect(latest().getTimeseries).toEqual({ ...RANGE, filters: [PRICING], compare: "previous" });
    expect(text('[data-testid="delta-visitors"]')).toBe(
      "—none in the previous period to compare with",
    );
  });
});

describe("goals", () => {
  const GOALS: GoalsReport = {
    visitors: 20431,
    goals: [
      {
        goalId: "g1",
        name: "Signup",
        conversions: 420,
        converters: 300,
        conversionRate: 300 / 20431,
        revenue: null,
        currency: null,
        backfilling: false,
      },
      {
        goalId: "g2",
        name: "Purchase",
        conversions: 51,
        converters: 40,
        conversionRate: 40 / 20431,
        revenue: 1234.5,
        currency: "EUR",
        backfilling: true,
      },
    ],
  };
  const cells = () =>
    qa('[data-testid="cea-goals"] tbody tr').map((r) =>
      [...r.querySelectorAll("td")].map((td) => td.textContent),
    );

  test("each goal shows its uniques, total, conversion rate and revenue; backfilling is marked", () => {
    respondWith(fixtures({ getGoals: GOALS }));
    render();
    expect(
      [...q('[data-testid="cea-goals"] thead tr')!.querySelectorAll("th")].map(
        (t) => t.textContent,
      ),
    ).toEqual(["Goal", "Uniques", "Total", "CR", "Revenue"]);
    expect(cells()).toEqual([
      ["Signup", "300", "420", "1.5%", "–"],
      ["Purchase backfilling…", "40", "51", "0.2%", "€1,234.50"],
    ]);
    expect(latest().getGoals).toEqual(RANGE);
  });

  test("goals follow compare, not filters, and say so", () => {
    respondWith(
      fixtures({
        getGoals: {
          ...GOALS,
          comparison: {
            from: 0,
            to: 1,
            visitors: 10000,
            goals: GOALS.goals.map((g) => ({
              goalId: g.goalId,
              conversions: g.conversions,
              converters: g.converters / 2,
              conversionRate: 0.01,
              revenue: g.revenue,
            })),
          },
        },
      }),
    );
    render();
    expect(q('[data-testid="cea-goals-unfiltered"]')).toBeNull();
    selectCompare("previous");
    click(rowButton("Pages", "/pricing"));
    expect(latest().getGoals).toEqual({ ...RANGE, compare: "previous" });
    expect(text('[data-testid="cea-goals-unfiltered"]')).toBe(
      "Goals count every visitor: the filters do not apply to them.",
    );
    const first = q('[data-testid="cea-goals"] tbody tr')!;
    const converters = first.querySelectorAll(
      '[data-testid="goal-delta-converters"] [aria-hidden="true"]',
    );
    expect([...converters].map((s) => s.textContent)).toEqual(["↑", "+100%"]);
    expect(
      first.querySelector('[data-testid="goal-delta-cr"] .cea-visually-hidden')?.textContent,
    ).toBe("up 0.5 points from the previous period");
  });

  test("clicking a goal filters the dashboard to its conversions, the chip naming the goal", () => {
    const filtered = filteredFixtures({ complete: true, scannedEvents: 0 });
    respondWith((name, args) => (name.endsWith(":getGoals") ? GOALS : filtered(name, args)));
    render();
    const since = calls.length;
    const purchase = q(
      '[data-testid="cea-goals"] tr[data-key="g2"] [data-testid="cea-filter-goal"]',
    );
    expect(purchase?.textContent).toBe("Purchase");
    click(purchase!);
    const chip = q('[data-testid="cea-chip"]')!;
    expect(chip.firstChild?.textContent).toBe("Goal is Purchase");
    const goal: Filter = { dimension: "goal", op: "is", value: "g2" };
    const after = latest(since);
    expect(after.getOverview).toEqual({ ...RANGE, filters: [goal] });
    for (const d of PANEL_DIMENSIONS)
      expect(after[`getBreakdown:${d}`]).toMatchObject({ filters: [goal] });
    // The goals themselves stay unfiltered.
    expect(latest().getGoals).toEqual(RANGE);
    click(chip.querySelector("button")!);
    expect(q('[data-testid="cea-chip"]')).toBeNull();
    expect(latest().getOverview).toEqual(RANGE);
  });

  test("hidden when the site has no goals or the host has no getGoals; a refusal is the panel's error", () => {
    respondWith(fixtures());
    render();
    expect(q('[data-testid="cea-goals"]')).toBeNull();
    respondWith(fixtures({ getGoals: GOALS }));
    const since = calls.length;
    render({ api: { ...api, getGoals: undefined } });
    expect(q('[data-testid="cea-goals"]')).toBeNull();
    expect(calls.slice(since).some((c) => c.name === "analytics:getGoals")).toBe(false);
    respondWith(fixtures({ getGoals: new Error("Only this site's owners may see its analytics") }));
    render();
    const alert = q('[data-testid="cea-goals"] [role="alert"]');
    expect(alert?.textContent).toContain("Could not load goals.");
    expect(alert?.textContent).toContain("Only this site's owners may see its analytics");
    expect(text('[data-testid="card-visitors"]')).toBe("20,431");
  });
});
