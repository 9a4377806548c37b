// The soak's global setup (vitest.soak.config.ts): picks the run's seed and the number of
// cases for the shards (oracleSoak.ts), and once they are done prints the run's one line:
// PASS or FAIL, cases run, events checked, failures, with each failure's replay command.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import type { ShardResult } from "./oracleSoak.js";

declare module "vitest" {
  export interface ProvidedContext {
    soak: { cases: number; seed: number; replayPath: string | null; resultsDir: string };
  }
}

export default function setup(project: TestProject) {
  const resultsDir = mkdtempSync(join(tmpdir(), "soak-"));
  const seed = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 30));
  const cases = Number(process.env.SOAK_CASES ?? 10_000);
  project.provide("soak", { cases, seed, replayPath: process.env.SOAK_PATH ?? null, resultsDir });
  return () => {
    const results = readdirSync(resultsDir).map(
      (file) => JSON.parse(readFileSync(join(resultsDir, file), "utf8")) as ShardResult,
    );
    rmSync(resultsDir, { recursive: true, force: true });
    if (results.length === 0) return; // a replay, or shards that crashed: vitest says which
    const sum = (f: (r: ShardResult) => number) => results.reduce((s, r) => s + f(r), 0);
    const failures = results.flatMap((r) => r.failures.map((f) => ({ ...f, seed: r.seed })));
    for (const { seed: s, path, error } of failures)
      console.error(
        `soak failure (replay: SOAK_SEED=${s} SOAK_PATH=${path} npm run soak):\n${error}`,
      );
    const minutes = Math.max(...results.map((r) => r.minutes));
    console.log(
      `\n${failures.length === 0 ? "PASS" : "FAIL"} soak: ${sum((r) => r.cases)} cases run, ` +
        `${sum((r) => r.events)} events checked, ${failures.length} failures ` +
        `(seed ${seed}, ${results.length} shards, ${(sum((r) => r.cases) / minutes).toFixed(0)} cases/min)`,
    );
  };
}
