// @vitest-environment happy-dom
// The dashboard's interactions under happy-dom with convex/react mocked: cards that
// pick the chart's metric, the granularity switch, breakdown rows and tabs (and
// what each asks the API for), keyboard navigation, the theme, custom ranges and
// CSV export. States and query-argument stability are dashboard.test.ts.
import { act } from "react";
import { describe, expect, test, vi } from "vitest";
import { calls, dashboardHarness, fixtures, respondWith, row } from "./dashboard.testlib.js";

vi.mock("convex/react", async () => (await import("./dashboard.testlib.js")).convexReactMock);

const { AnalyticsDashboard } = await import("./AnalyticsDashboard.js");
const { render, q, qa, text, click, panel } = dashboardHarness(AnalyticsDashboard);

describe("interaction", () => {
  test("clicking a card selects the chart's metric; views per session, which has no series, is not selectable", () => {
    respondWith(fixtures());
    render();
    expect(q('[data-testid="cea-chart"] h3')?.textContent).toBe("Visitors per day");
    click(q('button[data-metric="bounceRate"]'));
    expect(q('[data-testid="cea-chart"] h3')?.textContent).toBe("Bounce rate per day");
    expect(q('button[data-metric="bounceRate"]')?.getAttribute("aria-pressed")).toBe("true");
    expect(q('button[data-metric="viewsPerSession"]')).toBeNull();
  });

  test("the granularity switch asks the API for that granularity", () => {
    respondWith(fixtures());
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
    respondWith(fixtures());
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
    respondWith(
      fixtures({
        getBreakdown: { rows: [row("/signup", 0, { entries: 6000, pageviews: 0, events: 0 })] },
      }),
    );
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
    respondWith(fixtures());
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
    respondWith(fixtures());
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
    respondWith(
      fixtures({
        getBreakdown: { rows: Array.from({ length: 10 }, (_, i) => row(`/p${i}`, 100 - i)) },
      }),
    );
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

  test("the events panel leaves out pageviews, and an event's properties link shows its properties", () => {
    respondWith(fixtures());
    render();
    const events = panel("Events");
    expect(
      [...events.querySelectorAll("tbody td.cea-key .cea-key-text")].map((td) => td.textContent),
    ).toEqual(["signup", "plan_selected"]);
    click(events.querySelector('tbody [data-testid="cea-props"]'));
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
    respondWith(fixtures());
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
    respondWith(fixtures());
    render({ theme: "dark" });
    expect(q(".cea-root")?.getAttribute("data-theme")).toBe("dark");
    render({ theme: "auto" });
    expect(q(".cea-root")?.hasAttribute("data-theme")).toBe(false);
  });
});

describe("custom ranges", () => {
  test("a custom range asks for its whole local days; an inverted one is refused and the range stays", () => {
    respondWith(fixtures());
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

describe("CSV export", () => {
  test("the visible panel exports the rows it shows", async () => {
    respondWith(fixtures());
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
