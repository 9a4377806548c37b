// @vitest-environment node
// README snippets must compile. Each block headed `// convex/<file>` is that
// file of the example app, whole (a newcomer pastes it into a fresh app's
// convex/ folder), and every file of the example app is in the README; blocks
// headed `// example/<file>` are verbatim excerpts. `npm run typecheck` checks
// the example; scripts/fresh-app.mjs (CI) installs the README's files into a
// fresh app from the packed package, typechecks it and runs its test.
import { readdirSync, readFileSync } from "node:fs";
import { expect, test } from "vitest";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const codeBlocks = (text: string) =>
  [...text.matchAll(/```tsx?\n\/\/ (\S+)\n([\s\S]*?)```/g)].map(([, file, body]) => ({
    file: file!,
    body: body!,
  }));
const blocks = codeBlocks(readme);
const appFiles = blocks.filter((b) => b.file.startsWith("convex/"));
// SECURITY.md quotes the example's auth callback, indented as a list item's block.
const security = readFileSync(new URL("../SECURITY.md", import.meta.url), "utf8").replace(
  /^ {2}/gm,
  "",
);
const excerpts = [...blocks, ...codeBlocks(security)].filter((b) => b.file.startsWith("example/"));
const exampleSource = (file: string) =>
  readFileSync(new URL(`../example/${file}`, import.meta.url), "utf8");

test("every file of the example app (example/convex, but _generated) is in the README, once", () => {
  const files = readdirSync(new URL("../example/convex/", import.meta.url))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => `convex/${f}`)
    .sort();
  expect(appFiles.map((b) => b.file).sort()).toEqual(files);
});

test.each(appFiles.map((b) => [b.file, b.body] as const))(
  "the README's %s is the example's file, whole",
  (file, body) => {
    expect(body).toBe(exampleSource(file));
  },
);

test.each(excerpts.map((s, i) => [i, s.file, s.body] as const))(
  "README excerpt %i is a verbatim excerpt of %s",
  (_, file, body) => {
    expect(exampleSource(file.replace(/^example\//, ""))).toContain(body.trimEnd());
  },
);
