// The admin API's other records: bot counts, dead letters and read keys.
import { v, type Infer } from "convex/values";

export const vBotCountsArgs = { siteId: v.string(), days: v.number() };
export const vBotCounts = v.array(v.object({ day: v.string(), bots: v.number() }));
export const vDeadLettersArgs = { siteId: v.string(), limit: v.optional(v.number()) };
export const vDeadLetterArgs = { siteId: v.string(), deadLetterId: v.string() };
/** What retryDeadLetter or discardDeadLetter did: the batch's event count, or null if it was already gone. */
export const vDeadLetterOutcome = v.union(
  v.object({ batchId: v.string(), events: v.number() }),
  v.null(),
);

export const vDeadLetter = v.object({
  _id: v.string(),
  _creationTime: v.number(),
  siteId: v.string(),
  batchId: v.string(),
  events: v.number(),
  attempts: v.number(),
  error: v.string(),
});
export type DeadLetter = Infer<typeof vDeadLetter>;

/**
 * Read API keys (`rk_…`) for the stats HTTP API: one site each, stored only as
 * a SHA-256 hash; the key itself is returned once, by createReadKey.
 */
export const vCreateReadKeyArgs = { siteId: v.string(), name: v.string() };
export const vCreatedReadKey = v.object({ keyId: v.string(), readKey: v.string() });
export const vReadKeyIdArgs = { siteId: v.string(), keyId: v.string() };
/** A read key as admins see it: its name and first characters, never the key or its hash. */
export const vReadKeyInfo = v.object({
  _id: v.string(),
  _creationTime: v.number(),
  siteId: v.string(),
  name: v.string(),
  /** The key's first characters ("rk_" and 4 more), to tell keys apart. */
  prefix: v.string(),
});
export type ReadKeyInfo = Infer<typeof vReadKeyInfo>;
