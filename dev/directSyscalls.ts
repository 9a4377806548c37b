// Lets one convex-test instance's database syscalls cross as values instead of
// JSON text (dev/fastPathHooks.mjs says why that is the same). Only an instance
// marked here does it, so a test can run a stock instance and a marked one side
// by side in one process and compare them.
import type { ConvexGlobal } from "./internals.js";

/** The Symbol.for key dev/fastPathHooks.mjs reads; keep the two in step. */
const DIRECT_KEY = "convex-event-analytics/dev-engine/direct-syscalls";
const DIRECT = Symbol.for(DIRECT_KEY);
const TAKES_VALUES = Symbol.for(`${DIRECT_KEY}/takes-values`);

/** How many syscalls crossed as values. */
export type DirectSyscallStats = { calls: number };

type Marked = { [DIRECT]?: DirectSyscallStats; [TAKES_VALUES]?: true };

/**
 * Marks the instance whose state is `global`. Returns null, and changes
 * nothing, when its syscall handlers are stock (the process runs without
 * dev/registerHooks.mjs, as vitest does): they only read text.
 */
export function useDirectSyscalls(global: ConvexGlobal): DirectSyscallStats | null {
  const handlers = [global.syscall, global.asyncSyscall] as unknown as Marked[];
  if (!handlers.every((h) => h[TAKES_VALUES] === true)) return null;
  const stats: DirectSyscallStats = { calls: 0 };
  for (const h of handlers) h[DIRECT] = stats;
  return stats;
}
