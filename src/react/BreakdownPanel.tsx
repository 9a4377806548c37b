import { useState, type KeyboardEvent, type ReactNode } from "react";
import {
  OTHER_KEY,
  parsePropKey,
  type Breakdown,
  type Compare,
  type Dimension,
  type Filter,
  type FilterDimension,
} from "../shared.js";
import { breakdownCsv, downloadCsv } from "./csv.js";
import {
  countryFlag,
  countryName,
  formatNumber,
  formatPercent,
  isPlaceholderKey,
} from "./format.js";
import {
  reportArgs,
  useBreakdown,
  useFilterScan,
  useOverview,
  type AnalyticsApi,
} from "./hooks.js";
import type { TimeRange } from "./range.js";
import { ErrorNotice, FilterNotice, Skeleton } from "./states.js";

/** A `prop` key shown without its event: "property = value". */
function propertyAndValue(key: string, separator: string): string {
  const parts = parsePropKey(key);
  return parts ? `${parts.property}${separator}${parts.value}` : key;
}

export type BreakdownTab = {
  id: string;
  label: string;
  dimension: FilterDimension;
  /** The key column's name, in the table header and the CSV. */
  keyLabel: string;
  /**
   * What the rows are measured by (default visitors, as a share of the range's
   * visitors). Exit pages carry only `entries`: the sessions that ended there,
   * as a share of all sessions.
   */
  metric?: "visitors" | "entries";
};

export type BreakdownPanelProps = {
  api: AnalyticsApi;
  siteId: string;
  range: TimeRange;
  title: string;
  tabs: readonly BreakdownTab[];
  locale?: string;
  /** Rows shown before "Show more" (default 10); expanded shows up to 100. */
  limit?: number;
  /** Filters (AND) the rows, and the share's total, are counted under. */
  filters?: readonly Filter[];
  /**
   * The dashboard's compared period: not shown in rows, only passed to the
   * overview the shares are of, so it is the same subscription as the cards'.
   */
  compare?: Compare;
  /** Clicking a row's key calls this with an `is` filter on it (rows are plain text without it). */
  onFilter?: (filter: Filter) => void;
};

type Row = Breakdown["rows"][number];
const EXPANDED_LIMIT = 100;
/** Prop rows fetched to find one event's properties (the API ranks props across all events). */
const PROP_LIMIT = 1_000;

export const PAGE_TABS: readonly BreakdownTab[] = [
  { id: "page", label: "Top pages", dimension: "page", keyLabel: "Page" },
  { id: "entryPage", label: "Entry pages", dimension: "entryPage", keyLabel: "Entry page" },
  {
    id: "exitPage",
    label: "Exit pages",
    dimension: "exitPage",
    keyLabel: "Exit page",
    metric: "entries",
  },
];
export const SOURCE_TABS: readonly BreakdownTab[] = [
  { id: "channel", label: "Channels", dimension: "channel", keyLabel: "Channel" },
  { id: "referrer", label: "Referrers", dimension: "referrer", keyLabel: "Referrer" },
  { id: "utmSource", label: "UTM source", dimension: "utmSource", keyLabel: "UTM source" },
  { id: "utmMedium", label: "Medium", dimension: "utmMedium", keyLabel: "UTM medium" },
  { id: "utmCampaign", label: "Campaign", dimension: "utmCampaign", keyLabel: "UTM campaign" },
  { id: "utmContent", label: "Content", dimension: "utmContent", keyLabel: "UTM content" },
  { id: "utmTerm", label: "Term", dimension: "utmTerm", keyLabel: "UTM term" },
];
export const LOCATION_TABS: readonly BreakdownTab[] = [
  { id: "country", label: "Countries", dimension: "country", keyLabel: "Country" },
];
export const DEVICE_TABS: readonly BreakdownTab[] = [
  { id: "device", label: "Devices", dimension: "device", keyLabel: "Device" },
  { id: "browser", label: "Browsers", dimension: "browser", keyLabel: "Browser" },
  { id: "os", label: "OS", dimension: "os", keyLabel: "Operating system" },
  { id: "screen", label: "Screens", dimension: "screen", keyLabel: "Screen" },
];
export const EVENT_TABS: readonly BreakdownTab[] = [
  { id: "event", label: "Events", dimension: "event", keyLabel: "Event" },
];

/** How a key reads in a row: countries get their flag and name, placeholders are marked. */
function KeyLabel({
  dimension,
  k,
  locale,
}: {
  dimension: Dimension;
  k: string;
  locale?: string;
}): ReactNode {
  if (k === OTHER_KEY) {
    return (
      <span
        className="cea-placeholder"
        title="Values past the per-bucket cardinality cap, folded together"
      >
        (other)
      </span>
    );
  }
  if (isPlaceholderKey(k)) return <span className="cea-placeholder">{k}</span>;
  if (dimension === "country") {
    const flag = countryFlag(k);
    return (
      <span title={k}>
        {flag && (
          <span className="cea-flag" aria-hidden="true">
            {flag}
          </span>
        )}
        {countryName(k, locale)}
      </span>
    );
  }
  // Device classes come lower-case ("desktop"); capitalised for reading, the key itself is unchanged.
  if (dimension === "device")
    return <span title={k}>{k.charAt(0).toUpperCase() + k.slice(1)}</span>;
  return <span title={k}>{k}</span>;
}

/**
 * Tabs of breakdowns: each row shows visitors, a bar proportional to them and
 * their share of the range's visitors (exit pages: exits, as a share of sessions).
 */
export function BreakdownPanel({
  api,
  siteId,
  range,
  title,
  tabs,
  locale,
  limit = 10,
  filters,
  compare,
  onFilter,
}: BreakdownPanelProps) {
  const [tabId, setTabId] = useState(tabs[0]!.id);
  const [expanded, setExpanded] = useState(false);
  const [eventName, setEventName] = useState<string | undefined>(undefined);
  const tab = tabs.find((t) => t.id === tabId) ?? tabs[0]!;
  const isEvents = tab.dimension === "event";
  const propView = isEvents && eventName !== undefined;
  const want = expanded ? EXPANDED_LIMIT : limit;
  // Events: "pageview" is the pageviews metric, not a custom event, so one more row is fetched to drop it.
  const fetchLimit = propView ? PROP_LIMIT : isEvents ? want + 1 : want;
  const dimension: Dimension = propView ? "prop" : tab.dimension;
  const { data, error } = useBreakdown(api, siteId, range, dimension, fetchLimit, { filters });
  const scanError = useFilterScan(
    api,
    {
      report: "breakdown",
      ...reportArgs(siteId, range, { filters }),
      dimension,
      limit: fetchLimit,
    },
    data,
  );
  const overview = useOverview(api, siteId, range, { filters, compare }).data;
  const measure = propView ? "visitors" : (tab.metric ?? "visitors");
  const total = measure === "entries" ? overview?.sessions : overview?.visitors;

  let rows: Row[] | undefined = data?.rows;
  if (rows && isEvents && !propView) rows = rows.filter((r) => r.key !== "pageview").slice(0, want);
  if (rows && propView)
    rows = rows.filter((r) => parsePropKey(r.key)?.event === eventName).slice(0, want);
  const more = rows !== undefined && !propView && (data?.rows.length ?? 0) >= fetchLimit;
  const max = Math.max(1, ...(rows ?? []).map((r) => r[measure]));
  const keyLabel = propView ? `${eventName} property` : tab.keyLabel;

  const select = (id: string) => {
    setTabId(id);
    setExpanded(false);
    setEventName(undefined);
  };
  const onTabKey = (e: KeyboardEvent, i: number) => {
    const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    e.preventDefault();
    const next = tabs[(i + step + tabs.length) % tabs.length]!;
    select(next.id);
    document.getElementById(`cea-tab-${siteId}-${next.id}`)?.focus();
  };

  const exportCsv = () => {
    if (!rows) return;
    const csvRows = propView
      ? rows.map((r) => ({ ...r, key: propertyAndValue(r.key, "|") }))
      : rows;
    downloadCsv(
      `${propView ? `${eventName}-properties` : tab.id}.csv`,
      breakdownCsv(propView ? "property|value" : tab.id, csvRows),
    );
  };

  return (
    <section
      className="cea-panel cea-breakdown"
      aria-label={title}
      data-testid={`cea-panel-${tabs[0]!.id}`}
    >
      <header className="cea-panel-header">
        <h3 className="cea-panel-title">{title}</h3>
        <button
          type="button"
          className="cea-button cea-button-small"
          disabled={!rows}
          onClick={exportCsv}
          data-testid="cea-export"
        >
          CSV
        </button>
      </header>
      {tabs.length > 1 && (
        <div className="cea-tabs" role="tablist" aria-label={title}>
          {tabs.map((t, i) => (
            <button
              key={t.id}
              id={`cea-tab-${siteId}-${t.id}`}
              type="button"
              role="tab"
              className="cea-tab"
              aria-selected={t.id === tab.id}
              tabIndex={t.id === tab.id ? 0 : -1}
              onClick={() => select(t.id)}
              onKeyDown={(e) => onTabKey(e, i)}
              data-testid={`cea-tab-${t.id}`}
            >
              {t.label}
            </button>
          ))}
        </div>
      )}
      <div
        role={tabs.length > 1 ? "tabpanel" : undefined}
        aria-labelledby={tabs.length > 1 ? `cea-tab-${siteId}-${tab.id}` : undefined}
      >
        {propView && (
          <button
            type="button"
            className="cea-link"
            onClick={() => setEventName(undefined)}
            data-testid="cea-back"
          >
            ← All events
          </button>
        )}
        <FilterNotice
          progress={data}
          scanError={scanError}
          canScan={!!api.startFilterScan}
          locale={locale}
        />
        {error ? (
          <ErrorNotice error={error} what={keyLabel.toLowerCase()} />
        ) : !rows ? (
          <Skeleton rows={5} />
        ) : rows.length === 0 ? (
          <p className="cea-muted cea-none">Nothing in this range.</p>
        ) : (
          <table className="cea-table" data-testid="cea-rows">
            <thead>
              <tr>
                <th scope="col">{keyLabel}</th>
                {isEvents && !propView && (
                  <th scope="col" className="cea-num">
                    Events
                  </th>
                )}
                <th scope="col" className="cea-num">
                  {measure === "entries" ? "Exits" : "Visitors"}
                </th>
                <th scope="col" className="cea-num cea-pct">
                  %
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const label = propView ? propertyAndValue(r.key, " = ") : undefined;
                const key = propView ? (
                  <span title={label}>{label}</span>
                ) : (
                  <KeyLabel dimension={tab.dimension} k={r.key} locale={locale} />
                );
                return (
                  <tr
                    key={r.key}
                    className={r.key === OTHER_KEY ? "cea-row-other" : undefined}
                    data-key={r.key}
                  >
                    <td className="cea-key">
                      <span
                        className="cea-bar"
                        style={{ width: `${(r[measure] / max) * 100}%` }}
                        aria-hidden="true"
                      />
                      {onFilter && !propView && r.key !== OTHER_KEY ? (
                        <button
                          type="button"
                          className="cea-link cea-key-text cea-filter-key"
                          onClick={() =>
                            onFilter({ dimension: tab.dimension, op: "is", value: r.key })
                          }
                          title={`Filter by ${tab.keyLabel.toLowerCase()} ${r.key}`}
                          data-testid="cea-filter-row"
                        >
                          {key}
                        </button>
                      ) : (
                        <span className="cea-key-text">{key}</span>
                      )}
                      {isEvents && !propView && r.key !== OTHER_KEY && (
                        <button
                          type="button"
                          className="cea-link cea-props-link"
                          onClick={() => setEventName(r.key)}
                          title={`Properties of ${r.key}`}
                          aria-label={`Properties of ${r.key}`}
                          data-testid="cea-props"
                        >
                          <span className="cea-props-word">props </span>›
                        </button>
                      )}
                    </td>
                    {isEvents && !propView && (
                      <td className="cea-num">{formatNumber(r.events, locale)}</td>
                    )}
                    <td className="cea-num">{formatNumber(r[measure], locale)}</td>
                    <td className="cea-num cea-pct">
                      {total ? formatPercent(r[measure] / total, locale) : "–"}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {(more || expanded) && rows && !propView && (
          <button
            type="button"
            className="cea-link cea-more"
            onClick={() => setExpanded(!expanded)}
            aria-expanded={expanded}
            data-testid="cea-more"
          >
            {expanded ? "Show less" : "Show more"}
          </button>
        )}
      </div>
    </section>
  );
}
