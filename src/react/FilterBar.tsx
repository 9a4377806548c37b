import type { Filter } from "../shared.js";
import { countryName } from "./format.js";

/** How each filterable dimension is named in a chip: "Country is DE". */
const DIMENSION_LABELS: Record<Filter["dimension"], string> = {
  page: "Page",
  entryPage: "Entry page",
  exitPage: "Exit page",
  hostname: "Hostname",
  referrer: "Referrer",
  channel: "Channel",
  utmSource: "UTM source",
  utmMedium: "UTM medium",
  utmCampaign: "UTM campaign",
  utmContent: "UTM content",
  utmTerm: "UTM term",
  country: "Country",
  device: "Device",
  browser: "Browser",
  os: "OS",
  screen: "Screen",
  event: "Event",
  goal: "Goal",
};
const OPS: Record<Filter["op"], string> = { is: "is", isNot: "is not", contains: "contains" };

/** A filter as words: "Country is DE"; `valueLabel` shows its value by another name (a goal's, not its id). */
export function filterLabel(f: Filter, valueLabel?: string): string {
  return `${DIMENSION_LABELS[f.dimension] ?? f.dimension} ${OPS[f.op]} ${valueLabel ?? f.value}`;
}

/** The key of a filter's value in FilterBar's `labels`. */
export const labelKey = (f: Pick<Filter, "dimension" | "value">) => `${f.dimension}:${f.value}`;

/** Adds `filter`, replacing any filter on the same dimension. */
export function withFilter(filters: readonly Filter[], filter: Filter): Filter[] {
  return [...filters.filter((f) => f.dimension !== filter.dimension), filter];
}

/** The active filters as removable chips, and "Clear". */
export function FilterBar({
  filters,
  onChange,
  locale,
  labels = {},
}: {
  filters: readonly Filter[];
  onChange: (filters: Filter[]) => void;
  locale?: string;
  /** Names of filter values, by labelKey: a goal filter's value is the goal's id. */
  labels?: Readonly<Record<string, string>>;
}) {
  if (filters.length === 0) return null;
  return (
    <div className="cea-filters" role="group" aria-label="Filters" data-testid="cea-filters">
      {filters.map((f) => (
        <span
          key={f.dimension}
          className="cea-chip"
          data-testid="cea-chip"
          title={f.dimension === "country" ? countryName(f.value, locale) : undefined}
        >
          {filterLabel(f, labels[labelKey(f)])}
          <button
            type="button"
            className="cea-chip-remove"
            aria-label={`Remove filter ${filterLabel(f, labels[labelKey(f)])}`}
            onClick={() => onChange(filters.filter((x) => x !== f))}
          >
            ×
          </button>
        </span>
      ))}
      <button
        type="button"
        className="cea-link"
        onClick={() => onChange([])}
        data-testid="cea-clear-filters"
      >
        Clear
      </button>
    </div>
  );
}
