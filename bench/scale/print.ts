// The scale bench's printout: reports, transactions, storage, targets, timing.
import type { ScaleRun } from "../scale.scale.test.js";
import { REPORT_RANGES, type ReportCall } from "./driver.js";
import {
  checkLine,
  describeTx,
  fmt,
  int,
  kib,
  mib,
  storageByGroup,
  storageTable,
  table,
  MIB,
  KIB,
  type Check,
  type ClassStats,
} from "./stats.js";

const REPORT_BYTES = 4 * MIB;
const REPORT_DOCS = 1_500;
const TX_BYTES = 4 * MIB;
const DOC_BYTES = 512 * KIB;
const ARRAY_ELEMENTS = 4_096;

function reportTable(calls: ReportCall[]): string {
  const reports = [...new Set(calls.map((c) => c.report))];
  const rows = reports.map((report) => [
    report,
    ...REPORT_RANGES.map(({ label }) => {
      const c = calls.find((x) => x.report === report && x.range === label);
      if (!c) return "-";
      if (c.error) return `ERROR`;
      const tx = c.tx!;
      const over = tx.bytesRead > REPORT_BYTES || tx.documentsRead > REPORT_DOCS ? " !" : "  ";
      return `${int(tx.documentsRead)} / ${kib(tx.bytesRead)}${over}`;
    }),
  ]);
  return table(
    ["report (documents / bytes read; ! = over a target)", ...REPORT_RANGES.map((r) => r.label)],
    rows,
  );
}

function classTable(classes: [string, ClassStats][]): string {
  return table(
    [
      "class",
      "transactions",
      "avg read",
      "avg written",
      "max read (bytes)",
      "max written (bytes)",
      "max documents r+w",
      "largest doc",
      "longest array",
      "failed",
    ],
    classes
      .sort((a, b) => b[1].count - a[1].count)
      .map(([cls, s]) => [
        cls,
        int(s.count),
        kib(s.bytesRead / s.count),
        kib(s.bytesWritten / s.count),
        mib(s.maxBytesRead.value),
        mib(s.maxBytesWritten.value),
        int(s.maxDocs.value),
        kib(s.largestDoc.value),
        int(s.longestArray.value),
        int(Object.values(s.errors).reduce((a, b) => a + b, 0)),
      ]),
  );
}

export function printScale(run: ScaleRun): string {
  const out: string[] = [];
  const day = run.realDay;
  const events = day ? day.totals.pageviews + day.totals.trackEvents : 0;
  out.push(
    `SCALE BENCHMARK: ${run.harness}; transactionLimits: true; SCALE=${run.scale} (1 = 10M pageviews a month)`,
  );
  out.push(`History: ${run.historyDays} days, ${run.history.name}.`);
  for (const line of run.history.method)
    out.push(`  ${line.replace('${"days"}', String(run.historyDays))}`);
  if (day) {
    const t = day.totals;
    out.push(
      `Real day: ${int(t.requests)} requests (${int(t.botRequests)} from crawlers), ${int(t.pageviews)} pageviews, ${int(t.trackEvents)} custom events, ` +
        `${int(t.sessions)} sessions, ${int(t.visitors)} visitors, ${int(t.paths)} distinct paths; HTTP statuses ${JSON.stringify(day.statuses)}; cron runs (all phases) ${int(run.cronRuns)}.`,
    );
  }
  out.push("");
  const checks: Check[] = [];
  for (const [mode, calls] of Object.entries(run.reports)) {
    out.push(
      `REPORTS (${mode}): one top-level facade query each, ranges ending at the real day's end`,
    );
    out.push(reportTable(calls));
    for (const c of calls.filter((c) => c.error))
      out.push(`  ERROR ${c.report} ${c.range}: ${c.error}`);
    const ok = calls.filter((c) => c.tx && !c.error);
    const worstBytes = ok.reduce<ReportCall | undefined>(
      (a, c) => (!a || c.tx!.bytesRead > a.tx!.bytesRead ? c : a),
      undefined,
    );
    const worstDocs = ok.reduce<ReportCall | undefined>(
      (a, c) => (!a || c.tx!.documentsRead > a.tx!.documentsRead ? c : a),
      undefined,
    );
    const errors = calls.filter((c) => c.error).length;
    checks.push({
      pass: errors === 0 && (worstBytes?.tx!.bytesRead ?? 0) <= REPORT_BYTES,
      target: `every report (${mode}) <= 4 MiB read`,
      measured: `max ${worstBytes ? `${mib(worstBytes.tx!.bytesRead)} (${worstBytes.report} ${worstBytes.range})` : "-"}; ${ok.filter((c) => c.tx!.bytesRead > REPORT_BYTES).length} over, ${errors} failed`,
    });
    checks.push({
      pass: errors === 0 && (worstDocs?.tx!.documentsRead ?? 0) <= REPORT_DOCS,
      target: `every report (${mode}) <= 1,500 documents read`,
      measured: `max ${worstDocs ? `${int(worstDocs.tx!.documentsRead)} (${worstDocs.report} ${worstDocs.range})` : "-"}; ${ok.filter((c) => c.tx!.documentsRead > REPORT_DOCS).length} over`,
    });
    // Issue 10: a compared period reads at most 2x its base report; realtime at most 100 documents.
    let compareWorst = { ratio: 0, label: "-" };
    for (const c of ok.filter((x) => x.report.includes(" vs "))) {
      const base = ok.find((x) => x.report === c.report.split(" vs ")[0] && x.range === c.range);
      if (!base) continue;
      const ratio = Math.max(
        c.tx!.documentsRead / base.tx!.documentsRead,
        c.tx!.bytesRead / base.tx!.bytesRead,
      );
      if (ratio > compareWorst.ratio)
        compareWorst = {
          ratio,
          label: `${c.report} ${c.range}: ${int(base.tx!.documentsRead)} -> ${int(c.tx!.documentsRead)} documents, ${kib(base.tx!.bytesRead)} -> ${kib(c.tx!.bytesRead)}`,
        };
    }
    checks.push({
      pass: compareWorst.ratio > 0 && compareWorst.ratio <= 2,
      target: `a compared report (${mode}) reads <= 2x its base report (documents and bytes)`,
      measured: `max ${fmt(compareWorst.ratio)}x (${compareWorst.label})`,
    });
    const realtime = ok.find((c) => c.report === "realtime");
    checks.push({
      pass: realtime !== undefined && realtime.tx!.documentsRead <= 100,
      target: `realtime (${mode}) reads <= 100 documents`,
      measured: realtime
        ? `${int(realtime.tx!.documentsRead)} documents, ${kib(realtime.tx!.bytesRead)}`
        : "not run",
    });
    const overview = calls.find((c) => c.report === "overview" && c.range === "24h")?.result as
      { pageviews?: number; visitors?: number; events?: number } | undefined;
    if (day && overview) {
      out.push(
        `  24h overview vs the generator: pageviews ${int(overview.pageviews ?? NaN)} / ${int(day.totals.pageviews)}, ` +
          `events ${int(overview.events ?? NaN)} / ${int(events)}, visitors ${int(overview.visitors ?? NaN)} / ${int(day.totals.visitors)} (informational; item 7 owns the check)`,
      );
    }
    out.push("");
  }

  const scan = run.filteredScan;
  if (scan) {
    const steps = run.stats.labels("filtered scan").filter(([label]) => label.includes("scans"));
    const docs = steps.reduce((a, [, s]) => a + s.documentsRead, 0);
    const worstRead = Math.max(0, ...steps.map(([, s]) => s.maxBytesRead.value));
    const worstWritten = Math.max(0, ...steps.map(([, s]) => s.maxBytesWritten.value));
    const per10k = scan.scannedEvents > 0 ? (docs / scan.scannedEvents) * 10_000 : NaN;
    const per100kMs = scan.scannedEvents > 0 ? (scan.wallMs / scan.scannedEvents) * 100_000 : NaN;
    out.push(
      "FILTERED SCAN (issue 10): the real day's overview with a filter every event passes (country isNot ZZ), through the raw-event scan",
    );
    out.push(
      `  ${int(scan.scannedEvents)} events scanned in ${int(steps.reduce((a, [, s]) => a + s.count, 0))} steps: ${int(docs)} documents read, ${fmt(per10k, 0)} per 10k events; ` +
        `${fmt(scan.wallMs / 1000, 1)} s wall, ${fmt(per100kMs / 1000, 1)} s per 100k events (convex-test); worst step ${mib(worstRead)} read, ${mib(worstWritten)} written`,
    );
    const off = (a: number, b: number) => (b > 0 ? Math.abs(a - b) / b : a === b ? 0 : 1);
    checks.push({
      pass:
        scan.complete &&
        scan.filtered.pageviews === scan.unfiltered.pageviews &&
        scan.filtered.events === scan.unfiltered.events &&
        off(scan.filtered.visitors, scan.unfiltered.visitors) <= 0.02,
      target:
        "the filtered scan completes and agrees with the unfiltered overview (pageviews and events exact, visitors within 2%)",
      measured: `complete ${scan.complete}${scan.error ? ` (error: ${scan.error})` : ""}; pageviews ${int(scan.filtered.pageviews)} / ${int(scan.unfiltered.pageviews)}, events ${int(scan.filtered.events)} / ${int(scan.unfiltered.events)}, visitors ${int(scan.filtered.visitors)} / ${int(scan.unfiltered.visitors)}`,
    });
    checks.push({
      pass: worstRead <= TX_BYTES && worstWritten <= TX_BYTES,
      target: "every filtered-scan step <= 4 MiB read and written",
      measured: `${mib(worstRead)} read, ${mib(worstWritten)} written`,
    });
    out.push("");
  }

  out.push("TRANSACTIONS, real day (top-level; class from origin and function path)");
  out.push(classTable(run.stats.classes("real day")));
  out.push("TRANSACTIONS, all phases (history, real day, settling, reports)");
  const all = run.stats.classes("*").filter(([c]) => c !== "setup");
  out.push(classTable(all));
  for (const cls of ["worker", "compaction", "maintenance", "ingest"]) {
    const s = all.find(([c]) => c === cls)?.[1];
    if (!s) continue;
    out.push(`  largest ${cls} transaction by bytes read:    ${describeTx(s.maxBytesRead.tx)}`);
    out.push(`  largest ${cls} transaction by bytes written: ${describeTx(s.maxBytesWritten.tx)}`);
    out.push(`  largest ${cls} transaction by documents:     ${describeTx(s.maxDocs.tx)}`);
    out.push(
      `  largest ${cls} document written: ${kib(s.largestDoc.value)} in ${s.largestDoc.tx?.largestDocTable ?? "-"} by ${s.largestDoc.tx?.label ?? "-"}`,
    );
    for (const [e, n] of Object.entries(s.errors)) out.push(`  FAILED ${cls} x${n}: ${e}`);
  }
  out.push("");
  out.push("FUNCTIONS, real day (top-level transactions by label)");
  out.push(
    table(
      [
        "function",
        "runs",
        "docs read/run",
        "KiB read/run",
        "docs written/run",
        "KiB written/run",
        "writes by table",
      ],
      run.stats
        .labels("real day")
        .sort((a, b) => b[1].count - a[1].count)
        .map(([label, s]) => [
          label,
          int(s.count),
          fmt(s.documentsRead / s.count, 1),
          fmt(s.bytesRead / s.count / KIB, 1),
          fmt(s.documentsWritten / s.count, 2),
          fmt(s.bytesWritten / s.count / KIB, 2),
          Object.entries(s.writesByTable)
            .map(([t, n]) => `${t} ${int(n)}`)
            .join(", "),
        ]),
    ),
  );
  const calls = run.stats.callsIn(["real day"]);
  if (day && events) {
    const written = run.stats.classes("real day").reduce((a, [, s]) => a + s.documentsWritten, 0);
    const bytes = run.stats.classes("real day").reduce((a, [, s]) => a + s.bytesWritten, 0);
    const batches = day.totals.requests - day.totals.botRequests;
    const topLevel = calls.total - (calls.byKind.nested ?? 0);
    out.push(
      `  real day, all included: ${fmt(written / events)} documents and ${fmt(bytes / events / KIB)} KiB written per event; ` +
        `${fmt(topLevel / batches)} top-level function calls per batch (${Object.entries(
          calls.byKind,
        )
          .filter(([k]) => k !== "nested")
          .map(([k, n]) => `${k} ${fmt(n / batches)}`)
          .join(", ")}), ` +
        `plus ${fmt((calls.byKind.nested ?? 0) / batches)} nested component calls per batch`,
    );
    out.push("  function calls per batch by function (real day):");
    for (const [label, n] of calls.byLabel.slice(0, 16))
      out.push(`    ${fmt(n / batches, 3).padStart(7)}  ${label}`);
  }
  out.push("");
  out.push("STORAGE at the end (every table of every component)");
  out.push(storageTable(run.storage));
  for (const [g, s] of Object.entries(storageByGroup(run.storage)))
    out.push(
      `  ${g}: ${int(s.documents)} documents, ${mib(s.bytes)} (${mib(s.billedBytes)} billed at 1 KiB/doc)`,
    );
  out.push("");

  const txs = all.filter(([c]) => c !== "report");
  const maxOf = (f: (s: ClassStats) => { value: number; tx?: unknown }) =>
    txs.reduce(
      (a, [c, s]) => (f(s).value > a.value ? { value: f(s).value, cls: c, tx: f(s).tx } : a),
      { value: 0, cls: "-", tx: undefined as unknown },
    );
  const r = maxOf((s) => s.maxBytesRead);
  const w = maxOf((s) => s.maxBytesWritten);
  const d = maxOf((s) => s.largestDoc);
  const a = maxOf((s) => s.longestArray);
  const failed = txs.reduce(
    (n, [, s]) => n + Object.values(s.errors).reduce((x, y) => x + y, 0),
    0,
  );
  checks.push({
    pass: r.value <= TX_BYTES && failed === 0,
    target: "every transaction <= 4 MiB read",
    measured: `max ${mib(r.value)} (${r.cls}); ${failed} transactions failed`,
  });
  checks.push({
    pass: w.value <= TX_BYTES,
    target: "every transaction <= 4 MiB written",
    measured: `max ${mib(w.value)} (${w.cls})`,
  });
  checks.push({
    pass: d.value <= DOC_BYTES,
    target: "no document over 512 KiB",
    measured: `largest ${kib(d.value)} (${d.cls})`,
  });
  checks.push({
    pass: a.value <= ARRAY_ELEMENTS,
    target: "no array over 4,096 elements",
    measured: `longest ${int(a.value)} (${a.cls})`,
  });
  // Issue 7: the whole bench within an hour on the 2 cores, judged at full scale only.
  const wallMs = Object.values(run.phasesMs).reduce((x, y) => x + y, 0);
  if (run.scale === 1)
    checks.push({
      pass: wallMs <= 60 * 60_000,
      target: "npm run bench:scale at full scale within 60 minutes on 2 cores",
      measured: `${fmt(wallMs / 60_000, 1)} min (real day ${fmt((run.phasesMs["real day"] ?? 0) / 60_000, 1)})`,
    });
  out.push("TARGETS");
  for (const c of checks) out.push(checkLine(c));
  if (run.scale < 1) {
    // Per-run work that grows with traffic (one compaction step folds an hour's keys, a day report reads a day's keys)
    // grows about linearly with SCALE at small scale; this says where the full-scale run would land. Not a verdict.
    const x = 1 / run.scale;
    const live24 = (run.reports.live ?? []).filter((c) => c.range === "24h" && c.tx);
    const r24 = live24.reduce((m, c) => Math.max(m, c.tx!.bytesRead), 0);
    out.push(
      `  at SCALE=1 by linear extrapolation (x ${fmt(x, 0)}, informational; an upper bound where a cap applies, e.g. keys per bucket): largest transaction read ${mib(r.value * x)} (${r.cls}), written ${mib(w.value * x)}, ` +
        `largest document ${mib(d.value * x)}, longest array ${int(a.value * x)}, largest 24h report read ${mib(r24 * x)}`,
    );
  }
  out.push("");
  out.push("WALL TIME (2 shared cores)");
  const ms = run.phasesMs;
  out.push(
    `  ${Object.entries(ms)
      .map(([p, v]) => `${p} ${fmt(v / 1000, 1)} s`)
      .join("; ")}`,
  );
  const classes = run.stats.classes("*");
  const msOf = (c: string) => classes.find(([k]) => k === c)?.[1].ms ?? 0;
  const httpMs = Object.values(run.httpMs).reduce((a, b) => a + b, 0);
  const perTraffic = msOf("ingest") + msOf("worker") + msOf("compaction") + msOf("other") + httpMs;
  const perClock = msOf("maintenance");
  const fixed = (ms["reports live"] ?? 0) + (ms["reports settled"] ?? 0) + (ms["setup"] ?? 0);
  const phases = Object.values(ms).reduce((a, b) => a + b, 0);
  const driver = Math.max(0, phases - fixed - perTraffic - perClock);
  out.push(
    `  inside functions: ingest + HTTP ${fmt((msOf("ingest") + httpMs) / 1000, 1)} s, worker ${fmt(msOf("worker") / 1000, 1)} s, compaction ${fmt(msOf("compaction") / 1000, 1)} s, ` +
      `maintenance ${fmt(perClock / 1000, 1)} s, other ${fmt(msOf("other") / 1000, 1)} s; bench driver and clock ${fmt(driver / 1000, 1)} s`,
  );
  if (run.scale < 1) {
    // The real day's work is its traffic's; the rest (the history, which mostly writes capped
    // pages, reports, the storage scan) grows less than linearly, so it is bounded both ways.
    const realDay = ms["real day"] ?? 0;
    const rest = phases - realDay;
    const low = realDay / run.scale + rest;
    const high = phases / run.scale;
    out.push(
      `  full-scale estimate: ${fmt(low / 60_000, 0)} to ${fmt(high / 60_000, 0)} min = the real day x ${fmt(1 / run.scale, 0)} (${fmt(realDay / run.scale / 60_000, 0)} min) ` +
        `plus everything else as measured here (${fmt(rest / 60_000, 1)} min) up to x ${fmt(1 / run.scale, 0)}; ` +
        "more if per-transaction cost grows with stored state",
    );
  }
  return out.join("\n");
}
