import type { Compare, Filter, GoalsReport } from "../shared.js";
import { formatNumber, formatPercent } from "./format.js";
import { useGoals, type AnalyticsApi } from "./hooks.js";
import { Delta } from "./MetricCards.js";
import { periodName } from "./metrics.js";
import type { TimeRange } from "./range.js";
import { ErrorNotice } from "./states.js";

export type GoalsPanelProps = {
  api: AnalyticsApi;
  siteId: string;
  range: TimeRange;
  locale?: string;
  /** A compared period: each goal's converters and conversion rate show their change. */
  compare?: Compare;
  /** The dashboard's filters are active: goals are not filtered (the API refuses it), and the panel says so. */
  filtered?: boolean;
  /** A goal's name filters the dashboard to its conversions (`{ dimension: "goal", op: "is" }`); `label` names it in the chip. */
  onFilter?: (filter: Filter, label: string) => void;
};

type Goal = GoalsReport["goals"][number];

/** `amount` in `currency` (an ISO 4217 code in Intl's format; any other label is shown after the number). */
export function formatRevenue(amount: number, currency: string, locale?: string): string {
  try {
    return new Intl.NumberFormat(locale, { style: "currency", currency }).format(amount);
  } catch {
    return `${new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(amount)} ${currency}`;
  }
}

/**
 * Every goal of the site over the range: unique converters, conversions, the
 * conversion rate and revenue. Nothing when the host has no `getGoals` or the site
 * has no goals (nor while it loads, so a site without goals never flashes a panel).
 */
export function GoalsPanel(props: GoalsPanelProps) {
  const { api, siteId, range, locale, compare, filtered, onFilter } = props;
  const { data, error } = useGoals(api, siteId, range, compare);
  if (!api.getGoals) return null;
  if (!error && (!data || data.goals.length === 0)) return null;
  const hasRevenue = !!data?.goals.some((g) => g.revenue !== null);
  const previous = (g: Goal) => data?.comparison?.goals.find((c) => c.goalId === g.goalId);
  const period = periodName(compare);
  return (
    <section
      className="cea-panel cea-breakdown cea-goals"
      aria-label="Goals"
      data-testid="cea-goals"
    >
      <header className="cea-panel-header">
        <h3 className="cea-panel-title">Goals</h3>
      </header>
      {filtered && (
        <p className="cea-muted cea-goals-note" data-testid="cea-goals-unfiltered">
          Goals count every visitor: the filters do not apply to them.
        </p>
      )}
      {error ? (
        <ErrorNotice error={error} what="goals" />
      ) : (
        <table className="cea-table" data-testid="cea-goal-rows">
          <thead>
            <tr>
              <th scope="col">Goal</th>
              <th scope="col" className="cea-num">
                Uniques
              </th>
              <th scope="col" className="cea-num">
                Total
              </th>
              <th scope="col" className="cea-num">
                CR
              </th>
              {hasRevenue && (
                <th scope="col" className="cea-num">
                  Revenue
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {data!.goals.map((g) => {
              const before = previous(g);
              return (
                <tr key={g.goalId} data-key={g.goalId}>
                  <td className="cea-key">
                    {onFilter ? (
                      <button
                        type="button"
                        className="cea-link cea-key-text cea-filter-key"
                        onClick={() =>
                          onFilter({ dimension: "goal", op: "is", value: g.goalId }, g.name)
                        }
                        title={`Filter by the goal ${g.name}`}
                        data-testid="cea-filter-goal"
                      >
                        {g.name}
                      </button>
                    ) : (
                      <span className="cea-key-text">{g.name}</span>
                    )}
                    {g.backfilling && (
                      <span
                        className="cea-muted cea-backfilling"
                        title="Events received before the goal was created are still being counted"
                      >
                        {" "}
                        backfilling…
                      </span>
                    )}
                  </td>
                  <td className="cea-num">
                    {formatNumber(g.converters, locale)}
                    {before && (
                      <Delta
                        value={g.converters}
                        previous={before.converters}
                        period={period}
                        locale={locale}
                        testId="goal-delta-converters"
                      />
                    )}
                  </td>
                  <td className="cea-num">{formatNumber(g.conversions, locale)}</td>
                  <td className="cea-num">
                    {g.conversionRate === null ? "–" : formatPercent(g.conversionRate, locale)}
                    {before && (
                      <Delta
                        value={g.conversionRate}
                        previous={before.conversionRate}
                        points
                        period={period}
                        locale={locale}
                        testId="goal-delta-cr"
                      />
                    )}
                  </td>
                  {hasRevenue && (
                    <td className="cea-num">
                      {g.revenue === null
                        ? "–"
                        : formatRevenue(g.revenue, g.currency ?? "", locale)}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
