// `node scripts/check-package.mjs` (CI): what `npm pack` would publish, checked
// against an allow-list. The tarball ships what the exports need and nothing
// else: built code and its types and maps (dist/), the TypeScript sources that
// the maps and `./test` point at (src/), and the package's documents. Never
// tests, test libraries or test setup. Every export target must be in it, no
// script may point outside the repository, and nothing runs when a user installs
// it (no preinstall, install, postinstall or prepare script).
// Needs dist/ built (npm run build); prints the file list it checked.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const ALLOWED = [
  /^package\.json$/,
  /^(README|CHANGELOG)\.md$/,
  /^LICENSE$/,
  /^dist\/.+\.(js|d\.ts)(\.map)?$/,
  /^src\/.+\.(ts|tsx|css)$/,
  /^src\/(.+\/)?README\.md$/,
];
const FORBIDDEN = [
  [/\.test\.(ts|tsx|js|d\.ts)(\.map)?$/, "a test"],
  [/\.testlib\.(ts|js|d\.ts)(\.map)?$/, "a test library"],
  [/(^|\/)test\.setup\.(ts|js|d\.ts)(\.map)?$/, "test setup"],
  [/\.(e2e|bench)\.[jt]s$/, "a browser test or benchmark"],
  [/(^|\/)(test|dev|bench|example|scripts)\//, "outside src/ and dist/"],
];
const INSTALL_SCRIPTS = ["preinstall", "install", "postinstall", "prepare"];

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const [packed] = JSON.parse(
  execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { encoding: "utf8" }),
);
const files = packed.files.map((f) => f.path).sort();
const problems = [];

for (const file of files) {
  const forbidden = FORBIDDEN.find(([re]) => re.test(file));
  if (forbidden) problems.push(`${file}: ${forbidden[1]}, must not be published`);
  else if (!ALLOWED.some((re) => re.test(file)))
    problems.push(`${file}: not on the allow-list (scripts/check-package.mjs)`);
}

// Every file an export names (each condition), and the top-level types/module entries.
const targets = new Set([pkg.types, pkg.module].filter(Boolean));
const collect = (v) =>
  typeof v === "string"
    ? targets.add(v)
    : v && typeof v === "object" && Object.values(v).forEach(collect);
collect(pkg.exports);
for (const target of targets) {
  const path = target.replace(/^\.\//, "");
  if (path === "package.json") continue;
  if (!files.includes(path))
    problems.push(`export target ${target} is not in the tarball (is dist/ built?)`);
}

for (const [name, command] of Object.entries(pkg.scripts ?? {})) {
  if (/(^|[\s'"=])\.\.\//.test(command))
    problems.push(`script "${name}" points outside the repository: ${command}`);
}
for (const name of INSTALL_SCRIPTS) {
  if (pkg.scripts?.[name])
    problems.push(`script "${name}" would run (or warn) when a user installs the package`);
}

console.log(
  `${files.length} files in ${packed.filename} (${(packed.size / 1024).toFixed(1)} kB packed, ${(packed.unpackedSize / 1024).toFixed(1)} kB unpacked):`,
);
console.log(files.map((f) => `  ${f}`).join("\n"));
if (problems.length) {
  console.error(`\n${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
console.log("package contents: ok");
