// Node module hooks (registered by dev/registerHooks.mjs) that give Node what Vite
// gives vitest: `import.meta.glob("<pattern>")`, expanded to the same object of
// lazy imports keyed by path relative to the importing file. With it the engine
// registers the component through src/test.ts's register(t), exactly like the
// tests, including the child components that register() installs.
// Only the form the project and its Convex component packages use is handled:
// one string-literal pattern, no options. Anything else is an error.
import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const CALL = /import\.meta\.glob\(\s*(["'])([^"'\n]+)\1\s*\)/g;
const ANY_CALL = /import\.meta\.glob\s*\(/g;

function globRegExp(pattern) {
  if (/[{}[\]!]/.test(pattern))
    throw new Error(`import.meta.glob pattern "${pattern}" uses syntax this shim does not support`);
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*" && pattern[i + 1] === "*" && pattern[i + 2] === "/") {
      out += "(?:.*/)?";
      i += 2;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^$()|\\]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

function expand(fromDir, pattern) {
  if (!pattern.startsWith("./") && !pattern.startsWith("../"))
    throw new Error(`import.meta.glob pattern "${pattern}" must be relative`);
  const parts = pattern.split("/");
  const firstWild = parts.findIndex((p) => /[*?]/.test(p));
  const base = join(fromDir, ...parts.slice(0, firstWild === -1 ? parts.length - 1 : firstWild));
  const matcher = globRegExp(pattern);
  const keys = [];
  const walk = (dir) => {
    let names;
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        let key = relative(fromDir, path).split(sep).join("/");
        if (!key.startsWith("../")) key = `./${key}`;
        if (matcher.test(key)) keys.push([key, path]);
      }
    }
  };
  walk(base);
  keys.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // Each loader keeps its promise: convex-test calls the loader on every function call, and a repeated
  // import() still crosses the module hooks' thread (measured: about 2 s of a 14 s demo start).
  const entries = keys.map(
    ([key, path], i) =>
      `${JSON.stringify(key)}: () => (m[${i}] ??= import(${JSON.stringify(pathToFileURL(path).href)}))`,
  );
  return `((m) => ({${entries.join(", ")}}))([])`;
}

/** Our own files, and the test helpers (src/test.ts) that Convex component packages ship; never tools like Vite itself. */
const eligible = (url) =>
  url.startsWith("file:") &&
  (!url.includes("/node_modules/") || /\/node_modules\/.+\/src\/test\.[jt]s$/.test(url));

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!eligible(url) || result.format !== "module" || result.source == null) return result;
  const source =
    typeof result.source === "string" ? result.source : Buffer.from(result.source).toString("utf8");
  if (!source.includes("import.meta.glob")) return result;
  const dir = dirname(fileURLToPath(url));
  const expanded = source.replace(CALL, (_, _quote, pattern) => expand(dir, pattern));
  if (ANY_CALL.test(expanded))
    throw new Error(
      `${fileURLToPath(url)}: an import.meta.glob call this shim cannot expand (use one string-literal pattern)`,
    );
  return { ...result, source: expanded };
}
