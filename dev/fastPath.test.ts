// @vitest-environment node
// The engine's fast path (dev/fastPathHooks.mjs, dev/directSyscalls.ts) gives
// what stock convex-test gives: dev/fastPath.check.ts runs the differential in
// a process with the engine's module hooks, as `npm run demo` runs.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, test } from "vitest";
import { ROOT } from "./spawn.js";

test("with syscalls crossing as values and native base64, random transaction sequences give the same results, cursors, errors, metrics and stored documents as stock convex-test", async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "--import", "./dev/registerHooks.mjs", "dev/fastPath.check.ts"],
    { cwd: ROOT, env: { ...process.env, TSX_TSCONFIG_PATH: "dev/tsconfig.json" } },
  );
  const summary = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
    sequences: number;
    transactions: number;
    directCalls: number;
    indexedQueries: number;
  };
  console.log(
    `fast path vs stock: ${summary.sequences} sequences, ${summary.transactions} transactions, ${summary.directCalls} syscalls as values, all identical`,
  );
  // Worth something only if most database syscalls took the fast path.
  expect(summary.directCalls).toBeGreaterThan(10 * summary.transactions);
}, 300_000);
