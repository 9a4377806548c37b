// Shared by the export tests: an independent RFC 4180 parser, events with
// values CSV must quote, the oracle (the stored events as CSV fields), and a
// step-by-step runner.
import { expect } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import type { initConvexTest } from "./test.setup.js";
import { EVENT_COLUMNS } from "./exportPages.js";
import type { AnalyticsEvent } from "../shared.js";

export const NOW = Date.parse("2026-03-10T12:00:00Z");
export const HOUR = 3_600_000;

export type T = ReturnType<typeof initConvexTest>;

/** RFC 4180, independently of the code under test: quoted fields, doubled quotes, CRLF records. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (c === '"') {
        quoted = false;
        i++;
      } else {
        field += c;
        i++;
      }
    } else if (c === '"' && field === "") {
      quoted = true;
      i++;
    } else if (c === ",") {
      record.push(field);
      field = "";
      i++;
    } else if (c === "\r" && text[i + 1] === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      i += 2;
    } else {
      expect(c, `a bare ${JSON.stringify(c)} outside quotes at ${i}`).not.toMatch(/[\r\n"]/);
      field += c;
      i++;
    }
  }
  expect(field === "" && record.length === 0, "the file ends with CRLF").toBe(true);
  return records;
}

/** Values that CSV must quote, and unicode beyond the BMP. */
export const TRICKY = [
  'a "quoted", comma',
  "line\nbreak",
  "crlf\r\ninside",
  "emoji 🎉 ünïcødé 日本語",
  " leading and trailing ",
  '"',
  ",",
  "",
];

export function event(i: number): AnalyticsEvent {
  const tricky = TRICKY[i % TRICKY.length];
  return {
    id: `e${i}`,
    type: i % 3 === 0 ? "track" : "pageview",
    ...(i % 3 === 0 ? { name: `click ${tricky}` } : {}),
    occurredAt: NOW - HOUR + (i % 3_000_000),
    url: `https://ex.com/p/${i % 50}?q=${encodeURIComponent(tricky)}`,
    ...(i % 7 === 0 ? { title: tricky } : {}),
    visitorId: `v${i % 997}`,
    ...(i % 5 === 0 ? { userId: `u,${i % 13}` } : {}),
    ...(i % 11 === 0 ? { props: { plan: tricky, n: i, ok: true } } : {}),
  };
}

/** Inserts `count` events as raw batches of 100, straight into the table the export reads. */
export async function storeEvents(t: T, siteId: string, count: number) {
  const perTransaction = 50;
  for (let b = 0; b * 100 < count; b += perTransaction)
    await t.run(async (ctx) => {
      const site = ctx.db.normalizeId("sites", siteId)!;
      for (let k = b; k < b + perTransaction && k * 100 < count; k++)
        await ctx.db.insert("batches", {
          siteId: site,
          batchId: `b${k}`,
          events: Array.from({ length: Math.min(100, count - k * 100) }, (_, j) =>
            event(k * 100 + j),
          ),
        });
    });
}

/** The oracle: every stored event in [from, to) as CSV fields, in receipt order. */
export async function expectedEventRows(t: T, from: number, to: number): Promise<string[][]> {
  const batches = await t.run(async (ctx) => await ctx.db.query("batches").collect());
  batches.sort((a, b) => a._creationTime - b._creationTime);
  const rows: string[][] = [];
  for (const b of batches)
    for (const e of b.events)
      if (e.occurredAt >= from && e.occurredAt < to)
        rows.push(
          EVENT_COLUMNS.map((c) => {
            if (c === "receivedAt") return String(b._creationTime);
            const value = e[c];
            if (value === undefined) return "";
            return typeof value === "object" ? JSON.stringify(value) : String(value);
          }),
        );
  return rows;
}

export async function fileText(t: T, siteId: string, exportId: string): Promise<string> {
  const job = await t.run(async (ctx) => await ctx.db.get("exports", exportId as Id<"exports">));
  expect(job?.fileId).toBeDefined();
  const progress = await t.query(api.exports.getExport, { siteId, exportId });
  expect(progress.url).toEqual(expect.any(String));
  const text = await t.run(
    async (ctx) => (await (await ctx.storage.get(job!.fileId!))?.text()) ?? null,
  );
  expect(text).not.toBeNull();
  return text!;
}

/**
 * Runs the job's steps one by one, as the scheduler would (each step is one
 * action of bounded queries and mutations), without running the file's
 * scheduled expiry. Returns how many steps it took.
 */
export async function runExport(t: T, siteId: string, exportId: string): Promise<number> {
  let steps = 0;
  while ((await t.query(api.exports.getExport, { siteId, exportId })).status === "running") {
    await t.action(internal.exports.exportStep, { exportId: exportId as Id<"exports"> });
    expect(++steps).toBeLessThan(500);
  }
  return steps;
}

export async function newSite(t: T) {
  return (await t.mutation(api.sites.createSite, { slug: "s", name: "S" })).siteId;
}

/**
 * The export at scale: `count` events stored, exported step by step, and the
 * file parsed back to exactly the stored events. Returns the steps it took.
 */
export async function exportAtScale(t: T, count: number): Promise<number> {
  const siteId = await newSite(t);
  await storeEvents(t, siteId, count);
  const range = { from: NOW - 2 * HOUR, to: NOW + HOUR };
  const { exportId } = await t.mutation(api.exports.startExport, {
    siteId,
    kind: "events",
    ...range,
  });
  const steps = await runExport(t, siteId, exportId);
  const progress = await t.query(api.exports.getExport, { siteId, exportId });
  expect(progress).toMatchObject({
    status: "done",
    done: true,
    error: null,
    rowsWritten: count,
  });
  // Bounded steps: about one per 10,000 events or fewer (each step reads at most EXPORT_PAGE_READ_BYTES a page).
  expect(steps).toBeGreaterThan(count / 10_000);
  const [header, ...rows] = parseCsv(await fileText(t, siteId, exportId));
  expect(header).toEqual([...EVENT_COLUMNS]);
  const expected = await expectedEventRows(t, range.from, range.to);
  expect(expected).toHaveLength(count);
  expect(rows.length).toBe(expected.length);
  for (let i = 0; i < rows.length; i++)
    if (rows[i].join("\u0000") !== expected[i].join("\u0000")) expect(rows[i]).toEqual(expected[i]);
  // The parts are gone once the file is whole.
  const job = await t.run(async (ctx) => await ctx.db.get("exports", exportId as Id<"exports">));
  expect(job!.chunks).toEqual([]);
  return steps;
}
