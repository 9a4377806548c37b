// @vitest-environment node
// README snippets must compile: each block that names an example/ file must be
// a verbatim excerpt of that file, which `npm run typecheck` checks.
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const snippets = [...readme.matchAll(/```ts\n\/\/ (example\/\S+)\n([\s\S]*?)```/g)].map(([, file, body]) => ({ file: file!, body: body! }));

test("the README has snippets taken from example/", () => {
  expect(snippets.length).toBeGreaterThanOrEqual(4);
});

test.each(snippets.map((s, i) => [i, s.file, s.body] as const))("README snippet %i is a verbatim excerpt of %s", (_, file, body) => {
  const source = readFileSync(new URL(`../${file}`, import.meta.url), "utf8");
  expect(source).toContain(body.trimEnd());
});
