import { useState } from "react";
import { useConvex } from "convex/react";
import type { Filter, Granularity } from "../shared.js";
import {
  BreakdownPanel,
  DEVICE_TABS,
  EVENT_TABS,
  LOCATION_TABS,
  PAGE_TABS,
  SOURCE_TABS,
} from "./BreakdownPanel.js";
import { FilterBar, labelKey, withFilter } from "./FilterBar.js";
import { formatTimezone, localDate } from "./format.js";
import { GoalsPanel } from "./GoalsPanel.js";
import { useAnalyticsRange, useNow, useOverview, useSite, type AnalyticsApi } from "./hooks.js";
import { MetricCards } from "./MetricCards.js";
import type { MetricId } from "./metrics.js";
import { RangePicker } from "./RangePicker.js";
import type { RangePreset } from "./range.js";
import { RealtimeBadge } from "./RealtimeBadge.js";
import { EmptyState, ErrorNotice, PanelBoundary, Skeleton } from "./states.js";
import { TrendChart } from "./TrendChart.js";

export type AnalyticsDashboardProps = {
  /** The host module re-exporting the facades, e.g. `api.analytics`. */
  api: AnalyticsApi;
  siteId: string;
  /**
   * The site's name and timezone. Omitted: read with `api.getSite` (an admin
   * facade); pass it when readers may not call that.
   */
  site?: { name: string; timezone: string };
  /** "light", "dark", or "auto" (default): follow prefers-color-scheme. */
  theme?: "light" | "dark" | "auto";
  /** BCP 47 locale for numbers and dates; the browser's by default. */
  locale?: string;
  initialRange?: RangePreset;
  /**
   * The tracker's URL for the install snippet of the empty state. Default: the
   * Convex client's deployment (`.convex.cloud` becomes `.convex.site`) + `/analytics/script.js`.
   */
  scriptSrc?: string;
  /** Shown in the install snippet instead of a placeholder. */
  writeKey?: string;
  className?: string;
};

function defaultScriptSrc(clientUrl: string | undefined): string {
  const base = clientUrl
    ? clientUrl.replace(/\.convex\.cloud\/?$/, ".convex.site")
    : (globalThis.location?.origin ?? "");
  return `${base.replace(/\/$/, "")}/analytics/script.js`;
}

/**
 * A Plausible-style dashboard of one site, live through `useQuery`.
 *
 * @example
 * ```tsx
 * import { AnalyticsDashboard } from "convex-event-analytics/react";
 * import "convex-event-analytics/react/styles.css";
 *
 * <AnalyticsDashboard api={api.analytics} siteId={site._id} />
 * ```
 */
export function AnalyticsDashboard(props: AnalyticsDashboardProps) {
  const { api, siteId, theme = "auto", className } = props;
  const site = useSite(api, siteId, props.site !== undefined);
  const info =
    props.site ?? (site.data ? { name: site.data.name, timezone: site.data.timezone } : undefined);
  const rootClass = `cea-root${className ? ` ${className}` : ""}`;
  return (
    <div
      className={rootClass}
      data-theme={theme === "auto" ? undefined : theme}
      data-testid="cea-dashboard"
    >
      {info ? (
        <Dashboard {...props} name={info.name} timeZone={info.timezone} />
      ) : site.error || site.data === null || !api.getSite ? (
        <ErrorNotice
          error={
            site.error ??
            new Error(
              site.data === null
                ? `No site with id ${siteId}`
                : "Pass `site` or export getSite in the api module",
            )
          }
          what="the site"
        />
      ) : (
        <Skeleton rows={4} />
      )}
    </div>
  );
}

function Dashboard(props: AnalyticsDashboardProps & { name: string; timeZone: string }) {
  const { api, siteId, name, timeZone, locale } = props;
  const picker = useAnalyticsRange(timeZone, props.initialRange);
  const { range } = picker;
  const [selected, setSelected] = useState<MetricId>("visitors");
  const [granularity, setGranularity] = useState<{ value: Granularity; for: string } | undefined>(
    undefined,
  );
  const [filters, setFilters] = useState<Filter[]>([]);
  const [compare, setCompare] = useState<"previous" | "yearOverYear" | undefined>(undefined);
  const rangeKey = `${range.from}-${range.to}`;
  // A granularity picked for one range does not carry over to the next (it may not fit it).
  const g = granularity?.for === rangeKey ? granularity.value : undefined;
  // The cards' own arguments: one subscription for both.
  const overview = useOverview(api, siteId, range, { filters, compare });
  const now = useNow();
  const convex = useConvex() as { url?: string } | undefined;
  // A filter that matches nothing is not a site without a tracker.
  const empty =
    filters.length === 0 &&
    overview.data !== undefined &&
    overview.data.pageviews === 0 &&
    overview.data.events === 0;
  const shared = { api, siteId, range, locale, filters, compare };
  // Chip names of filter values that are not their own name (a goal's id).
  const [labels, setLabels] = useState<Record<string, string>>({});
  const onFilter = (f: Filter, label?: string) => {
    if (label !== undefined) setLabels((current) => ({ ...current, [labelKey(f)]: label }));
    setFilters((current) => withFilter(current, f));
  };
  return (
    <>
      <header className="cea-header">
        <div className="cea-title">
          <h2 className="cea-site-name" data-testid="cea-site-name">
            {name}
          </h2>
          <PanelBoundary what="current visitors">
            <RealtimeBadge api={api} siteId={siteId} locale={locale} />
          </PanelBoundary>
        </div>
        <div className="cea-controls">
          <RangePicker
            value={picker.preset}
            onChange={picker.setPreset}
            custom={picker.custom}
            onCustomChange={picker.setCustom}
            error={picker.error}
            today={localDate(now, timeZone)}
          />
          <label className="cea-compare">
            <span className="cea-visually-hidden">Compare</span>
            <select
              className="cea-select"
              value={compare ?? "off"}
              onChange={(e) =>
                setCompare(
                  e.target.value === "off"
                    ? undefined
                    : (e.target.value as "previous" | "yearOverYear"),
                )
              }
              data-testid="cea-compare"
            >
              <option value="off">No comparison</option>
              <option value="previous">Compare: previous period</option>
              <option value="yearOverYear">Compare: year over year</option>
            </select>
          </label>
          <span className="cea-tz" data-testid="cea-timezone">
            Times in {formatTimezone(timeZone, now, locale)}
          </span>
        </div>
      </header>
      <FilterBar filters={filters} onChange={setFilters} locale={locale} labels={labels} />
      <PanelBoundary what="the overview">
        <MetricCards {...shared} selected={selected} onSelect={setSelected} />
      </PanelBoundary>
      {empty ? (
        <EmptyState
          scriptSrc={props.scriptSrc ?? defaultScriptSrc(convex?.url)}
          writeKey={props.writeKey}
        />
      ) : (
        <>
          <PanelBoundary what="the chart">
            <TrendChart
              {...shared}
              timeZone={timeZone}
              metric={selected}
              granularity={g}
              onGranularityChange={(value) =>
                setGranularity(value ? { value, for: rangeKey } : undefined)
              }
            />
          </PanelBoundary>
          <div className="cea-grid-panels">
            <PanelBoundary what="pages">
              <BreakdownPanel {...shared} title="Pages" onFilter={onFilter} tabs={PAGE_TABS} />
            </PanelBoundary>
            <PanelBoundary what="sources">
              <BreakdownPanel {...shared} title="Sources" onFilter={onFilter} tabs={SOURCE_TABS} />
            </PanelBoundary>
            <PanelBoundary what="locations">
              <BreakdownPanel
                {...shared}
                title="Locations"
                onFilter={onFilter}
                tabs={LOCATION_TABS}
              />
            </PanelBoundary>
            <PanelBoundary what="devices">
              <BreakdownPanel {...shared} title="Devices" onFilter={onFilter} tabs={DEVICE_TABS} />
            </PanelBoundary>
            <PanelBoundary what="events">
              <BreakdownPanel {...shared} title="Events" onFilter={onFilter} tabs={EVENT_TABS} />
            </PanelBoundary>
            <PanelBoundary what="goals">
              <GoalsPanel
                api={api}
                siteId={siteId}
                range={range}
                locale={locale}
                compare={compare}
                filtered={filters.length > 0}
                onFilter={onFilter}
              />
            </PanelBoundary>
          </div>
        </>
      )}
    </>
  );
}
