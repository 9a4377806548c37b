// @vitest-environment happy-dom
// What the tracker records on its own: pageviews on load and on SPA
// navigation, exclusions, outbound and download clicks, 404 pages.
import { describe, expect, test, vi } from "vitest";
import { setUrl, useTrackerHarness } from "../../test/trackerHarness.js";
import { glob } from "./types.js";

const h = useTrackerHarness();
const sent = async () => {
  for (const t of h.trackers) t.flush();
  await vi.advanceTimersByTimeAsync(0);
  return h.postedEvents();
};
const paths = (events: { type: string; url: string }[]) =>
  events
    .filter((e) => e.type === "pageview")
    .map((e) => new URL(e.url).pathname + new URL(e.url).hash);

describe("automatic pageviews", () => {
  test("history mode records pushState, replaceState and popstate navigations", async () => {
    h.start();
    history.pushState({}, "", "/a");
    history.replaceState({}, "", "/b");
    // A back button: the browser moves the URL itself, then fires popstate.
    setUrl("/a");
    dispatchEvent(new PopStateEvent("popstate"));
    expect(paths(await sent())).toEqual(["/", "/a", "/b", "/a"]);
  });

  test("a query-string or hash change on the same path is not a new pageview in history mode", async () => {
    h.start();
    history.pushState({}, "", "/?filter=1");
    history.replaceState({}, "", "/?filter=2#top");
    expect(paths(await sent())).toEqual(["/"]);
  });

  test("hash mode records each hash route", async () => {
    h.start({ spa: "hash" });
    // What a hash router's link does: the URL changes, then hashchange fires.
    // (happy-dom would fire it on a real timer, outside the fake clock.)
    for (const route of ["/#/settings", "/#/profile"]) {
      setUrl(route);
      dispatchEvent(new HashChangeEvent("hashchange"));
    }
    expect(paths(await sent())).toEqual(["/", "/#/settings", "/#/profile"]);
  });

  test('spa: "off" records the landing pageview only', async () => {
    h.start({ spa: "off" });
    history.pushState({}, "", "/a");
    expect(paths(await sent())).toEqual(["/"]);
  });

  test("autoPageviews: false records only what the page calls", async () => {
    const t = h.start({ autoPageviews: false });
    history.pushState({}, "", "/a");
    t.pageview({ url: "http://localhost:3000/virtual/step-2", title: "Step 2" });
    const events = await sent();
    expect(paths(events)).toEqual(["/virtual/step-2"]);
    expect(events[0]!.title).toBe("Step 2");
  });

  test("the pageviews of a navigation carry the new page's title", async () => {
    h.start();
    document.title = "About";
    history.pushState({}, "", "/about");
    const events = await sent();
    expect(events.at(-1)).toMatchObject({ url: "http://localhost:3000/about", title: "About" });
  });
});

describe("exclusions", () => {
  test("path globs: * stays within a segment, ** spans segments", () => {
    const cases: [string, string, boolean][] = [
      ["/admin/**", "/admin/users/1", true],
      ["/admin/**", "/admin", false],
      ["/drafts/*", "/drafts/post", true],
      ["/drafts/*", "/drafts/post/edit", false],
      ["/*/edit", "/post/edit", true],
      ["/pricing", "/pricing", true],
      ["/pricing", "/pricing-2", false],
      ["/a.b(c)+", "/a.b(c)+", true],
      ["/a.b", "/axb", false],
    ];
    expect(cases.map(([g, path]) => glob(g).test(path))).toEqual(cases.map((c) => c[2]));
  });

  test("events on excluded pages are not recorded; other pages are", async () => {
    const t = h.start({ exclude: ["/admin/**", "/drafts/*"] });
    history.pushState({}, "", "/admin/users");
    t.track("clicked");
    history.pushState({}, "", "/drafts/a");
    history.pushState({}, "", "/drafts/a/b");
    t.track("kept");
    const events = await sent();
    expect(paths(events)).toEqual(["/", "/drafts/a/b"]);
    expect(events.filter((e) => e.type === "track").map((e) => e.name)).toEqual(["kept"]);
  });

  test("identify() still works on an excluded page", async () => {
    setUrl("/admin/login");
    const t = h.start({ exclude: ["/admin/**"], mode: "persistent" });
    t.identify("user_1");
    expect((await sent()).map((e) => e.type)).toEqual(["identify"]);
  });
});

describe("link clicks", () => {
  const click = (href: string) => {
    const a = document.createElement("a");
    a.href = href;
    a.innerHTML = "<span>go</span>";
    a.addEventListener("click", (e) => e.preventDefault());
    document.body.append(a);
    a.querySelector("span")!.click();
    a.remove();
  };

  test("with outbound on, a click on a link to another host is an Outbound Link: Click with its URL", async () => {
    h.start({ autoPageviews: false, outbound: true });
    click("https://github.com/get-convex");
    click("/pricing");
    click("mailto:hi@example.com");
    expect(await sent()).toEqual([
      expect.objectContaining({
        type: "track",
        name: "Outbound Link: Click",
        props: { url: "https://github.com/get-convex" },
      }),
    ]);
  });

  test("outbound clicks are not tracked unless asked for", async () => {
    h.start({ autoPageviews: false });
    click("https://github.com/get-convex");
    expect(await sent()).toEqual([]);
  });

  test("with downloads on, a click on a file link is a File Download, by extension, case-insensitively", async () => {
    h.start({ autoPageviews: false, downloads: true });
    click("/files/report.PDF?v=2");
    click("https://cdn.example.com/app.dmg");
    click("/blog/post");
    const events = await sent();
    expect(events.map((e) => [e.name, e.props?.url])).toEqual([
      ["File Download", "http://localhost:3000/files/report.PDF?v=2"],
      ["File Download", "https://cdn.example.com/app.dmg"],
    ]);
  });

  test("a custom extension list replaces the defaults", async () => {
    h.start({ autoPageviews: false, downloads: ["epub"] });
    click("/book.epub");
    click("/report.pdf");
    expect((await sent()).map((e) => e.props?.url)).toEqual(["http://localhost:3000/book.epub"]);
  });
});

test("notFound sends a 404 event with the path next to the pageview", async () => {
  setUrl("/missing/page");
  h.start({ notFound: true });
  const events = await sent();
  expect(events.map((e) => [e.type, e.name, e.props])).toEqual([
    ["pageview", undefined, undefined],
    ["track", "404", { path: "/missing/page" }],
  ]);
});
