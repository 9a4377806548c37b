// A stand-in dashboard until the dashboard components land: the report facades
// through useQuery (live: they re-run when data changes), as cards, a bar per
// bucket, two top lists, and the raw JSON.
import { useState } from "react";
import { useQuery } from "convex/react";
import { api } from "../convex/_generated/api.js";

const HOUR = 3_600_000;
const RANGES = { "24h": 1, "7d": 7, "30d": 30 } as const;
type RangeName = keyof typeof RANGES;

const fmt = new Intl.NumberFormat("en");
const pct = (x: number | null) => (x === null ? "–" : `${Math.round(x * 100)}%`);
const secs = (ms: number | null) => (ms === null ? "–" : `${Math.round(ms / 1000)} s`);

export function Dashboard() {
  const [rangeName, setRangeName] = useState<RangeName>("30d");
  // Ends on the next whole hour, so the arguments (and the subscriptions) stay stable within the hour.
  const to = Math.ceil(Date.now() / HOUR) * HOUR;
  const from = to - RANGES[rangeName] * 24 * HOUR;
  const site = useQuery(api.analytics.getSiteBySlug, { slug: "default" });
  const range = site ? { siteId: site._id, from, to } : "skip";
  const overview = useQuery(api.analytics.getOverview, range);
  const timeseries = useQuery(api.analytics.getTimeseries, range);
  const pages = useQuery(api.analytics.getBreakdown, range === "skip" ? "skip" : { ...range, dimension: "page", limit: 10 });
  const referrers = useQuery(api.analytics.getBreakdown, range === "skip" ? "skip" : { ...range, dimension: "referrer", limit: 10 });
  const realtime = useQuery(api.analytics.getRealtime, site ? { siteId: site._id, now: to } : "skip");

  if (site === undefined) return <p>Loading…</p>;
  if (site === null) return <p>No site with slug "default": run setup:provision.</p>;
  const max = Math.max(1, ...(timeseries?.points.map((p) => p.pageviews) ?? []));
  return (
    <section className="dashboard">
      <header>
        <h1>{site.name}</h1>
        <span className="live" data-testid="realtime">
          {realtime ? `${realtime.visitors} visitors in the last 30 minutes` : "…"}
        </span>
        <div className="ranges">
          {(Object.keys(RANGES) as RangeName[]).map((r) => (
            <button key={r} className={r === rangeName ? "active" : undefined} onClick={() => setRangeName(r)}>
              {r}
            </button>
          ))}
        </div>
      </header>
      {overview && (
        <div className="cards" data-testid="cards">
          <Card label="Visitors" value={fmt.format(overview.visitors)} id="visitors" />
          <Card label="Pageviews" value={fmt.format(overview.pageviews)} id="pageviews" />
          <Card label="Sessions" value={fmt.format(overview.sessions)} id="sessions" />
          <Card label="Events" value={fmt.format(overview.events)} id="events" />
          <Card label="Bounce rate" value={pct(overview.bounceRate)} id="bounce" />
          <Card label="Visit duration" value={secs(overview.avgSessionDurationMs)} id="duration" />
        </div>
      )}
      {timeseries && (
        <div className="chart" title={`pageviews per ${timeseries.granularity}`}>
          {timeseries.points.map((p) => (
            <div key={p.bucketStart} className="bar" style={{ height: `${(p.pageviews / max) * 100}%` }} title={`${new Date(p.bucketStart).toISOString()}: ${p.pageviews} pageviews`} />
          ))}
        </div>
      )}
      <div className="lists">
        <TopList title="Top pages" rows={pages?.rows} />
        <TopList title="Top referrers" rows={referrers?.rows} />
      </div>
      <details open>
        <summary>Report JSON</summary>
        <pre data-testid="overview-json">{JSON.stringify(overview ?? null, null, 2)}</pre>
        <pre data-testid="pages-json">{JSON.stringify(pages ?? null, null, 2)}</pre>
        <pre data-testid="referrers-json">{JSON.stringify(referrers ?? null, null, 2)}</pre>
      </details>
    </section>
  );
}

function Card({ label, value, id }: { label: string; value: string; id: string }) {
  return (
    <div className="card">
      <div className="label">{label}</div>
      <div className="value" data-testid={`card-${id}`}>
        {value}
      </div>
    </div>
  );
}

function TopList({ title, rows }: { title: string; rows?: { key: string; visitors: number; pageviews: number }[] }) {
  return (
    <table>
      <caption>{title}</caption>
      <thead>
        <tr>
          <th />
          <th>Visitors</th>
          <th>Pageviews</th>
        </tr>
      </thead>
      <tbody>
        {(rows ?? []).map((r) => (
          <tr key={r.key}>
            <td>{r.key}</td>
            <td>{fmt.format(r.visitors)}</td>
            <td>{fmt.format(r.pageviews)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
