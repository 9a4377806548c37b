#!/usr/bin/env node
// How long `npm run demo` takes to be ready, measured from outside: the time from
// starting `npm run demo` to the "ready in" line, then a check that the
// dashboard's numbers are there (the bridge's 30-day overview counts every
// seeded pageview and custom event, and nothing waits for the worker).
//
//   npm run demo:ready                        one cold start, as after a fresh npm install
//   npm run demo:ready -- --runs 3            three, one after the other
//   npm run demo:ready -- --warm              keep the page build and tsx's cache (a second start)
//   npm run demo:ready -- -- --seed-per-day 16   arguments after a second -- go to the demo
//
// Cold means what a fresh clone has after `npm install`: no example/dist (vite
// builds the page) and no tsx compile cache (TSX_DISABLE_CACHE=1). It prints one
// line per run and, with several runs, the median.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const split = process.argv.indexOf("--");
const { values: flags } = parseArgs({
  args: process.argv.slice(2, split === -1 ? undefined : split),
  options: {
    runs: { type: "string", default: "1" },
    warm: { type: "boolean", default: false },
    timeout: { type: "string", default: "300" },
  },
});
const demoArgs = split === -1 ? [] : process.argv.slice(split + 1);
const runs = Number(flags.runs);
const timeoutMs = Number(flags.timeout) * 1000;

/** Starts `npm run demo`, resolves at its "ready" line with the URL and everything printed so far. */
function startDemo() {
  const started = performance.now();
  const child = spawn("npm", ["run", "--silent", "demo", "--", "--port", "0", ...demoArgs], {
    cwd: ROOT,
    env: { ...process.env, FORCE_COLOR: "0", ...(flags.warm ? {} : { TSX_DISABLE_CACHE: "1" }) },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so the stop reaches the node process npm and tsx start.
    detached: true,
  });
  let output = "";
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs} ms`)), timeoutMs);
    const onData = (d) => {
      output += d.toString();
      const m = /^ready in ([\d.]+)s: (http:\/\/\S+)/m.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({ wallMs: performance.now() - started, reported: Number(m[1]), url: m[2] });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`npm run demo exited with ${code} before it was ready:\n${output}`));
    });
  });
  const stop = async () => {
    if (child.exitCode === null) process.kill(-child.pid, "SIGTERM");
    await exited;
  };
  return { ready, stop, output: () => output };
}

async function query(url, path, args) {
  const res = await fetch(`${url}/bridge/query`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ path, args }),
  });
  const reply = await res.json();
  if (reply.status !== "success") throw new Error(`${path}: ${reply.errorMessage}`);
  return reply.value;
}

/** The seeded numbers the demo printed, against what the dashboard reads right after "ready". */
async function check(url, output) {
  const seeded = /^Seeded (\d+) sessions, (\d+) pageviews and (\d+) custom events/m.exec(output);
  if (!seeded) throw new Error(`the demo printed no "Seeded" line:\n${output}`);
  const [pageviews, custom] = [Number(seeded[2]), Number(seeded[3])];
  const status = await (await fetch(`${url}/_engine/status`)).json();
  const site = await query(url, "analytics:getSiteBySlug", { slug: "default" });
  const now = Date.now();
  const overview = await query(url, "analytics:getOverview", {
    siteId: site._id,
    from: now - 31 * 86_400_000,
    to: now + 3_600_000,
  });
  const problems = [];
  if (status.queuedBatches !== 0) problems.push(`${status.queuedBatches} batches still queued`);
  if (overview.pageviews !== pageviews)
    problems.push(`overview has ${overview.pageviews} pageviews, ${pageviews} were seeded`);
  if (overview.events !== pageviews + custom)
    problems.push(`overview has ${overview.events} events, ${pageviews + custom} were seeded`);
  return { overview, problems, seeded: seeded[0] };
}

const times = [];
for (let run = 1; run <= runs; run++) {
  if (!flags.warm) rmSync(`${ROOT}/example/dist`, { recursive: true, force: true });
  const demo = startDemo();
  try {
    const { wallMs, reported, url } = await demo.ready;
    const { overview, problems, seeded } = await check(url, demo.output());
    const load = (await import("node:os")).loadavg()[0].toFixed(1);
    console.log(
      `run ${run}: ready ${(wallMs / 1000).toFixed(1)} s after \`npm run demo\` (the demo says ${reported} s), load ${load}; ${seeded}; dashboard: ${overview.pageviews} pageviews, ${overview.visitors} visitors, ${overview.sessions} sessions`,
    );
    const startup = /^Start-up: .*$/m.exec(demo.output());
    if (startup) console.log(`  ${startup[0]}`);
    if (problems.length) {
      console.log(`  NOT READY: ${problems.join("; ")}`);
      process.exitCode = 1;
    }
    times.push(wallMs / 1000);
  } finally {
    await demo.stop();
  }
}
if (times.length > 1) {
  const sorted = [...times].sort((a, b) => a - b);
  console.log(
    `median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} s over ${times.length} runs (${times.map((t) => t.toFixed(1)).join(", ")})`,
  );
}
