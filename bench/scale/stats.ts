// Aggregates the harness's records (transactions and calls) by phase and by
// class, and prints tables and PASS/FAIL target lines.
import type { Call, Tx } from "./harness.js";
import type { TableStats } from "./storage.js";

export const KIB = 1024;
export const MIB = 1024 * 1024;
export const kib = (b: number) => `${(b / KIB).toFixed(1)} KiB`;
export const mib = (b: number) => `${(b / MIB).toFixed(2)} MiB`;
export const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
export const int = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * The class of a top-level transaction, from how it started and its function path
 * (no table or function of the component is known to the bench): HTTP-started
 * transactions are ingest; then by name: compaction, maintenance, worker.
 */
export type TxClass =
  "ingest" | "worker" | "compaction" | "maintenance" | "report" | "setup" | "other";
export function classify(tx: { label: string; origin: string; driver?: string }): TxClass {
  if (tx.origin === "http") return "ingest";
  if (tx.driver?.startsWith("report")) return "report";
  if (tx.driver === "setup" || tx.driver === "test") return "setup";
  if (/compact|fold|merge/i.test(tx.label)) return "compaction";
  if (
    tx.driver?.startsWith("cron") ||
    /maintenance|retention|prune|kick|clear|salt|cleanup/i.test(tx.label)
  )
    return "maintenance";
  if (/worker|drain|loop|process|apply|flush/i.test(tx.label)) return "worker";
  return "other";
}

export type Max = { value: number; tx?: Tx };
export type ClassStats = {
  count: number;
  documentsRead: number;
  bytesRead: number;
  documentsWritten: number;
  bytesWritten: number;
  billedReadBytes: number;
  billedWriteBytes: number;
  ms: number;
  maxBytesRead: Max;
  maxBytesWritten: Max;
  maxDocs: Max;
  largestDoc: Max;
  longestArray: Max;
  errors: Record<string, number>;
  writesByTable: Record<string, number>;
};
const empty = (): ClassStats => ({
  count: 0,
  documentsRead: 0,
  bytesRead: 0,
  documentsWritten: 0,
  bytesWritten: 0,
  billedReadBytes: 0,
  billedWriteBytes: 0,
  ms: 0,
  maxBytesRead: { value: 0 },
  maxBytesWritten: { value: 0 },
  maxDocs: { value: 0 },
  largestDoc: { value: 0 },
  longestArray: { value: 0 },
  errors: {},
  writesByTable: {},
});
const bump = (m: Max, value: number, tx: Tx) => {
  if (value > m.value) {
    m.value = value;
    m.tx = tx;
  }
};

/** Sums by (phase, class) and by (phase, label); calls by (phase, kind/origin, label). */
export class Stats {
  byClass = new Map<string, ClassStats>();
  byLabel = new Map<string, ClassStats>();
  calls = new Map<string, number>();

  private of(map: Map<string, ClassStats>, key: string): ClassStats {
    let s = map.get(key);
    if (!s) map.set(key, (s = empty()));
    return s;
  }
  addTx(tx: Tx): void {
    const cls = classify(tx);
    for (const s of [
      this.of(this.byClass, `${tx.phase}|${cls}`),
      this.of(this.byClass, `*|${cls}`),
      this.of(this.byLabel, `${tx.phase}|${tx.label}`),
    ]) {
      s.count++;
      s.documentsRead += tx.documentsRead;
      s.bytesRead += tx.bytesRead;
      s.documentsWritten += tx.documentsWritten;
      s.bytesWritten += tx.bytesWritten;
      s.billedReadBytes += tx.billedReadBytes;
      s.billedWriteBytes += tx.billedWriteBytes;
      s.ms += tx.ms;
      bump(s.maxBytesRead, tx.bytesRead, tx);
      bump(s.maxBytesWritten, tx.bytesWritten, tx);
      bump(s.maxDocs, tx.documentsRead + tx.documentsWritten, tx);
      bump(s.largestDoc, tx.largestDoc, tx);
      bump(s.longestArray, tx.longestArray, tx);
      if (tx.error) s.errors[tx.error] = (s.errors[tx.error] ?? 0) + 1;
      for (const [table, n] of Object.entries(tx.writesByTable))
        s.writesByTable[table] = (s.writesByTable[table] ?? 0) + n;
    }
  }
  addCall(call: Call): void {
    const how =
      call.origin === "nested"
        ? "nested"
        : call.origin === "http"
          ? `${call.kind} (from the HTTP action)`
          : call.origin === "action"
            ? `${call.kind} (from an action)`
            : call.origin === "scheduled"
              ? `${call.kind} (scheduled)`
              : call.kind === "httpAction"
                ? "httpAction (browser request)"
                : call.driver?.startsWith("cron")
                  ? `${call.kind} (cron)`
                  : `${call.kind} (client)`;
    const key = `${call.phase}|${how}|${call.label}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
  }
  classes(phase: string): [string, ClassStats][] {
    return [...this.byClass.entries()]
      .filter(([k]) => k.startsWith(`${phase}|`))
      .map(([k, v]) => [k.split("|")[1]!, v]);
  }
  labels(phase: string): [string, ClassStats][] {
    return [...this.byLabel.entries()]
      .filter(([k]) => k.startsWith(`${phase}|`))
      .map(([k, v]) => [k.split("|")[1]!, v]);
  }
  /** Function calls in `phases` by kind ("httpAction", "mutation", "query", "action", "nested") and label. */
  callsIn(phases: string[]): {
    total: number;
    byKind: Record<string, number>;
    byLabel: [string, number][];
  } {
    const byKind: Record<string, number> = {};
    const byLabel = new Map<string, number>();
    let total = 0;
    for (const [k, n] of this.calls) {
      const [phase, kind, label] = k.split("|") as [string, string, string];
      if (!phases.includes(phase)) continue;
      total += n;
      byKind[kind] = (byKind[kind] ?? 0) + n;
      byLabel.set(`${kind} ${label}`, (byLabel.get(`${kind} ${label}`) ?? 0) + n);
    }
    return { total, byKind, byLabel: [...byLabel.entries()].sort((a, b) => b[1] - a[1]) };
  }
}

export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells
    .map(
      (r) =>
        "  " +
        r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "),
    )
    .join("\n");
}

export type Check = { pass: boolean; target: string; measured: string };
export const checkLine = (c: Check) => `  ${c.pass ? "PASS" : "FAIL"}  ${c.target}: ${c.measured}`;

/** Groups tables into raw / sessions / rollups / queue / other by name (the bench knows no layout). */
export function tableGroup(path: string, table: string): string {
  if (table === "_scheduled_functions") return "scheduler";
  if (path !== "analytics") return `child ${path}`;
  if (/session/i.test(table)) return "sessions";
  if (/rollup|shard|delta|aggregate|bucket|page|count|sketch|top/i.test(table)) return "rollups";
  if (/event|raw|batch|pending|queue|inbox/i.test(table)) return "raw + queue";
  return "other";
}

export function storageTable(stats: TableStats[]): string {
  const rows = stats.map((s) => [
    `${s.path}:${s.table}`,
    tableGroup(s.path, s.table),
    int(s.documents),
    kib(s.bytes),
    kib(s.billedBytes),
    kib(s.largest),
  ]);
  return table(["table", "group", "documents", "bytes", "billed (1 KiB/doc)", "largest"], rows);
}

export function storageByGroup(
  stats: TableStats[],
): Record<string, { documents: number; bytes: number; billedBytes: number }> {
  const out: Record<string, { documents: number; bytes: number; billedBytes: number }> = {};
  for (const s of stats) {
    const g = (out[tableGroup(s.path, s.table)] ??= { documents: 0, bytes: 0, billedBytes: 0 });
    g.documents += s.documents;
    g.bytes += s.bytes;
    g.billedBytes += s.billedBytes;
  }
  return out;
}

export const describeTx = (tx?: Tx) =>
  tx
    ? `${tx.label}${tx.driver ? ` via ${tx.driver}` : ""} [${tx.phase}]: read ${mib(tx.bytesRead)} / ${int(tx.documentsRead)} docs, wrote ${mib(tx.bytesWritten)} / ${int(tx.documentsWritten)} docs${tx.error ? `, FAILED: ${tx.error}` : ""}`
    : "-";
