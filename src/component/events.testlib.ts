// Fixtures shared by eventsNormalize.test.ts (what normalizeEvent accepts, rejects,
// clamps and renames) and eventsAttribution.test.ts (the page, host and channel an
// event contributes): one clock, so both files judge events at the same instant.
import { normalizeEvent } from "./events.js";

export const NOW = Date.parse("2026-03-10T12:00:00Z");
export const base = {
  id: "e1",
  type: "pageview",
  occurredAt: NOW - 1_000,
  url: "https://ex.com/a",
  visitorId: "v1",
};
export const ok = (raw: unknown, server = {}) => {
  const r = normalizeEvent(raw, NOW, server);
  if (!r.ok) throw new Error(`expected ok, got "${r.reason}"`);
  return r.event;
};
