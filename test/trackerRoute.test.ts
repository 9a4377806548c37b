// GET {prefix}/script.js: the deployment serves the script-tag tracker itself,
// cacheable, with an ETag so a revalidation costs a 304 and no body.
import { expect, test } from "vitest";
import { initApp } from "./app.setup.js";
import { TRACKER_ETAG, TRACKER_SCRIPT } from "../src/client/trackerScript.js";

test("GET /analytics/script.js serves the built tracker as JavaScript with a day of caching and an ETag", async () => {
  const t = initApp();
  const res = await t.fetch("/analytics/script.js");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/javascript");
  expect(res.headers.get("cache-control")).toBe(
    "public, max-age=86400, stale-while-revalidate=604800",
  );
  expect(res.headers.get("etag")).toBe(`"${TRACKER_ETAG}"`);
  expect(await res.text()).toBe(TRACKER_SCRIPT);
});

test.each([`"${TRACKER_ETAG}"`, `W/"${TRACKER_ETAG}"`, `"stale", "${TRACKER_ETAG}"`, "*"])(
  "If-None-Match %s gets a 304 with no body",
  async (tag) => {
    const t = initApp();
    const res = await t.fetch("/analytics/script.js", { headers: { "If-None-Match": tag } });
    expect(res.status).toBe(304);
    expect(res.headers.get("etag")).toBe(`"${TRACKER_ETAG}"`);
    expect(await res.text()).toBe("");
  },
);

test("an If-None-Match for an older build gets the whole script", async () => {
  const t = initApp();
  const res = await t.fetch("/analytics/script.js", {
    headers: { "If-None-Match": '"an-older-build"' },
  });
  expect(res.status).toBe(200);
  expect((await res.text()).length).toBe(TRACKER_SCRIPT.length);
});
