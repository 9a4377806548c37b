#!/usr/bin/env node
// The dashboard's cost to a host's bundle: convex-event-analytics/react bundled
// and minified with its peers (react, react-dom, recharts, convex) left out, as
// a host's bundler would share them, plus its stylesheet. Prints raw, gzip and
// brotli sizes, and what recharts itself adds when the host has no charts yet.
//
//   node scripts/dashboard-size.mjs          a table
//   node scripts/dashboard-size.mjs --json   one JSON object (for the bench)
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = (p) => fileURLToPath(new URL(`../${p}`, import.meta.url));
const PEERS = ["react", "react-dom", "react/jsx-runtime", "recharts", "convex", "convex/*"];

async function bundle(entry, external) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    jsx: "automatic",
    legalComments: "none",
    external,
    write: false,
    logLevel: "silent",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  return result.outputFiles[0].contents;
}

function sizes(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

const js = sizes(await bundle(root("src/react/index.ts"), PEERS));
const css = sizes(readFileSync(root("src/react/styles.css")));
// recharts with only react, react-dom and convex shared: what a host without recharts pays on top.
const withRecharts = sizes(
  await bundle(
    root("src/react/index.ts"),
    PEERS.filter((p) => p !== "recharts"),
  ),
);
const report = { js, css, jsWithRecharts: withRecharts };

if (process.argv.includes("--json")) {
  console.log(JSON.stringify(report));
} else {
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`.padStart(10);
  const line = (name, s) => `${name.padEnd(44)}${kb(s.raw)}${kb(s.gzip)}${kb(s.brotli)}`;
  console.log(
    `${"dashboard bundle (minified)".padEnd(44)}${"raw".padStart(10)}${"gzip".padStart(10)}${"brotli".padStart(10)}`,
  );
  console.log(line("react export, peers external (incl. recharts)", js));
  console.log(line("styles.css", css));
  console.log(line("react export + recharts (peers but recharts)", withRecharts));
}
