// `node scripts/fresh-app.mjs [--keep] [--prebuilt]` (CI): a newcomer's first hour, automated.
// Packs the package (`npm pack`), creates an empty app in a temporary folder,
// writes into it every file the README shows (the `// convex/...`,
// `// src/...` and `// vitest.config.ts` blocks), installs what the README's
// `npm install` lines name (the package from the tarball), then typechecks the
// app and runs its test with vitest. A README snippet that drifts from the code
// fails here.
// Not from the README, because `npx convex dev` makes them and no deployment is
// reachable here: convex/_generated/ (copied from example/convex/_generated,
// which is what codegen writes for these same files) and convex/tsconfig.json
// (the Convex CLI's own template, from the installed convex package).
// Installs prefer npm's local cache (the repository's `npm ci` fills it).
// --prebuilt packs the dist/ already built (CI builds it in its typecheck step)
// instead of letting `npm pack` rebuild it (prepack); --keep keeps the app.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = new URL("..", import.meta.url).pathname;
const keep = process.argv.includes("--keep");
const prebuilt = process.argv.includes("--prebuilt");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const dir = mkdtempSync(join(tmpdir(), "fresh-app-"));
const app = join(dir, "app");
const times = [];

function step(name, fn) {
  const started = Date.now();
  console.log(`--- ${name}`);
  const result = fn();
  times.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return result;
}
function run(cmd, args, cwd, { capture = false } = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    stdio: capture ? "pipe" : "inherit",
    env: {
      ...process.env,
      npm_config_fund: "false",
      npm_config_audit: "false",
      npm_config_update_notifier: "false",
    },
  });
  if (capture) process.stdout.write(r.stdout + r.stderr);
  if (r.status !== 0) {
    console.error(`fresh app: \`${cmd} ${args.join(" ")}\` failed in ${cwd} (kept for a look)`);
    process.exit(1);
  }
  return capture ? r.stdout + r.stderr : "";
}

try {
  const tarball = step("npm pack", () => {
    const out = execFileSync(
      "npm",
      ["pack", "--pack-destination", dir, "--json", ...(prebuilt ? ["--ignore-scripts"] : [])],
      { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
    );
    return join(dir, JSON.parse(out.slice(out.indexOf("[")))[0].filename);
  });

  const files = step("write the README's files", () => {
    mkdirSync(app);
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({ name: "fresh-app", private: true, type: "module" }, null, 2),
    );
    const blocks = [
      ...readme.matchAll(/```ts\n\/\/ ((?:convex|src)\/\S+|vitest\.config\.ts)\n([\s\S]*?)```/g),
    ];
    for (const [, file, body] of blocks) {
      mkdirSync(dirname(join(app, file)), { recursive: true });
      writeFileSync(join(app, file), body);
    }
    cpSync(join(ROOT, "example/convex/_generated"), join(app, "convex/_generated"), {
      recursive: true,
    });
    return blocks.map(([, file]) => file);
  });
  console.log(files.join("\n"));

  const installs = step("npm install (from the README)", () => {
    // The README's install lines, e.g. `npm install convex-event-analytics` and
    // `npm install --save-dev convex-test vitest @edge-runtime/vm`. A Convex app
    // already has convex, typescript and @types/node (as the README says).
    // Versions: the ones this repository tests with.
    const lines = [...readme.matchAll(/^npm install (.+?)(?:\s+#.*)?$/gm)].map(([, rest]) =>
      rest.trim().split(/\s+/),
    );
    const own = lines.filter((words) => words.includes(pkg.name));
    const dev = lines.filter((words) => words[0] === "--save-dev" || words[0] === "-D");
    if (own.length !== 1 || dev.length !== 1)
      throw new Error(
        `the README must have one \`npm install ${pkg.name}\` line and one \`npm install --save-dev ...\` line`,
      );
    const versionOf = (name) =>
      pkg.devDependencies?.[name] ?? pkg.dependencies?.[name] ?? pkg.peerDependencies?.[name];
    const pinned = (names) => names.map((n) => (versionOf(n) ? `${n}@${versionOf(n)}` : n));
    const flags = ["--prefer-offline", "--no-audit", "--no-fund"];
    let output = run(
      "npm",
      [
        "install",
        ...flags,
        ...pinned(["convex"]),
        ...own[0].map((w) => (w === pkg.name ? tarball : w)),
      ],
      app,
      { capture: true },
    );
    output += run(
      "npm",
      [
        "install",
        ...flags,
        "--save-dev",
        ...pinned([...dev[0].slice(1), "typescript", "@types/node"]),
      ],
      app,
      { capture: true },
    );
    return output;
  });
  // Installing the package must ask nothing of the user: no install script of ours to review.
  const warnings = installs
    .split("\n")
    .filter((l) => /install-scripts|lifecycle|prepare/i.test(l) && l.includes(pkg.name));
  if (warnings.length) {
    console.error(`fresh app: installing the package printed:\n${warnings.join("\n")}`);
    process.exit(1);
  }

  const { tsconfigCodegen } = await import(
    pathToFileURL(join(app, "node_modules/convex/dist/esm/cli/codegen_templates/tsconfig.js")).href
  );
  writeFileSync(join(app, "convex/tsconfig.json"), tsconfigCodegen());
  // The page's code (src/), as a Vite app's tsconfig has it.
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2022", "DOM"],
          module: "ESNext",
          moduleResolution: "Bundler",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
        },
        include: ["src"],
      },
      null,
      2,
    ),
  );

  step("typecheck (tsc -p convex, tsc -p .)", () => {
    run("npx", ["tsc", "-p", "convex"], app);
    run("npx", ["tsc", "-p", "."], app);
  });
  step("test (vitest run)", () => run("npx", ["vitest", "run"], app));
  console.log(`fresh app: ok (${times.join(", ")})${keep ? `; kept in ${app}` : ""}`);
  if (!keep) rmSync(dir, { recursive: true, force: true });
} catch (e) {
  console.error(`fresh app: ${e.message} (kept in ${dir})`);
  process.exit(1);
}
