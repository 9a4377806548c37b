// The dimension values an event contributes (the ingest contract: README.md, "The ingest
// route"): its page, its host, its channel and its attribution, table by table. What
// normalizeEvent accepts and rejects is in eventsNormalize.test.ts.
import { describe, expect, test } from "vitest";
import { NONE_KEY, type AnalyticsEvent } from "../shared.js";
import { attributionOf, hostnameOf, pagePath } from "./events.js";
import { NOW } from "./events.testlib.js";
import { channelOf } from "./channels.js";

describe("pages and hosts", () => {
  const table: [string, string][] = [
    ["https://ex.com/a/b/?q=1#frag", "/a/b"],
    ["https://ex.com/a/b", "/a/b"],
    ["https://ex.com/a/b/", "/a/b"],
    ["https://ex.com/", "/"],
    ["https://ex.com", "/"],
    ["https://ex.com///", "/"],
    ["https://ex.com/A//", "/A"],
    ["https://ex.com/?utm_source=x", "/"],
    ["https://ex.com/#/spa-route", "/#/spa-route"],
    ["https://ex.com/app/#!/users/1/?tab=2", "/app#!/users/1"],
    ["https://ex.com/#/", "/"],
    ["https://ex.com/caf%C3%A9/", "/caf%C3%A9"],
    ["https://ex.com/café", "/caf%C3%A9"],
    ["not a url", "/"],
  ];
  test.each(table)("the page of %s is %s", (url, path) => {
    expect(pagePath(url)).toBe(path);
  });

  test("the hostname keeps www and subdomains and lowercases; no host is (none)", () => {
    expect(hostnameOf("https://WWW.Ex.com:8443/a")).toBe("www.ex.com");
    expect(hostnameOf("https://blog.ex.com/")).toBe("blog.ex.com");
    expect(hostnameOf("not a url")).toBe(NONE_KEY);
  });
});

describe("channels and attribution", () => {
  const ev = (url: string, referrer?: string): AnalyticsEvent => ({
    id: "e",
    type: "pageview",
    occurredAt: NOW,
    url,
    visitorId: "v",
    ...(referrer ? { referrer } : {}),
  });
  // [page url, referrer, channel, referrer key, utmSource, utmMedium]
  const table: [string, string | undefined, string, string, string, string][] = [
    ["https://ex.com/", undefined, "Direct", NONE_KEY, NONE_KEY, NONE_KEY],
    [
      "https://ex.com/",
      "https://www.google.com/search?q=x",
      "Organic Search",
      "google.com",
      NONE_KEY,
      NONE_KEY,
    ],
    [
      "https://ex.com/",
      "https://www.google.co.uk/",
      "Organic Search",
      "google.co.uk",
      NONE_KEY,
      NONE_KEY,
    ],
    ["https://ex.com/", "https://www.bing.com/", "Organic Search", "bing.com", NONE_KEY, NONE_KEY],
    [
      "https://ex.com/",
      "https://duckduckgo.com/",
      "Organic Search",
      "duckduckgo.com",
      NONE_KEY,
      NONE_KEY,
    ],
    [
      "https://ex.com/",
      "https://search.yahoo.com/",
      "Organic Search",
      "search.yahoo.com",
      NONE_KEY,
      NONE_KEY,
    ],
    ["https://ex.com/", "https://yandex.ru/", "Organic Search", "yandex.ru", NONE_KEY, NONE_KEY],
    ["https://ex.com/", "https://t.co/abc", "Organic Social", "t.co", NONE_KEY, NONE_KEY],
    [
      "https://ex.com/",
      "https://l.facebook.com/",
      "Organic Social",
      "l.facebook.com",
      NONE_KEY,
      NONE_KEY,
    ],
    [
      "https://ex.com/",
      "https://www.reddit.com/r/x",
      "Organic Social",
      "reddit.com",
      NONE_KEY,
      NONE_KEY,
    ],
    [
      "https://ex.com/",
      "https://news.ycombinator.com/item?id=1",
      "Organic Social",
      "news.ycombinator.com",
      NONE_KEY,
      NONE_KEY,
    ],
    ["https://ex.com/", "https://mail.google.com/", "Email", "mail.google.com", NONE_KEY, NONE_KEY],
    [
      "https://ex.com/",
      "https://blog.example.org/post",
      "Referral",
      "blog.example.org",
      NONE_KEY,
      NONE_KEY,
    ],
    ["https://ex.com/", "https://notgoogle.com/", "Referral", "notgoogle.com", NONE_KEY, NONE_KEY],
    ["https://ex.com/", "https://at.co/", "Referral", "at.co", NONE_KEY, NONE_KEY],
    // Navigation inside the site is not a source.
    ["https://ex.com/b", "https://ex.com/a", "Direct", NONE_KEY, NONE_KEY, NONE_KEY],
    ["https://www.ex.com/b", "https://ex.com/a", "Direct", NONE_KEY, NONE_KEY, NONE_KEY],
    ["https://ex.com/b", "https://www.ex.com/a", "Direct", NONE_KEY, NONE_KEY, NONE_KEY],
    // A subdomain is another site (as in GA4 without a cross-domain setup).
    ["https://ex.com/b", "https://blog.ex.com/a", "Referral", "blog.ex.com", NONE_KEY, NONE_KEY],
    [
      "https://ex.com/?utm_source=google&utm_medium=cpc",
      undefined,
      "Paid Search",
      NONE_KEY,
      "google",
      "cpc",
    ],
    [
      "https://ex.com/?utm_source=google&utm_medium=CPC",
      "https://www.google.com/",
      "Paid Search",
      "google.com",
      "google",
      "CPC",
    ],
    [
      "https://ex.com/?utm_source=bing&utm_medium=ppc",
      undefined,
      "Paid Search",
      NONE_KEY,
      "bing",
      "ppc",
    ],
    [
      "https://ex.com/?utm_source=facebook.com&utm_medium=cpc",
      undefined,
      "Paid Social",
      NONE_KEY,
      "facebook.com",
      "cpc",
    ],
    [
      "https://ex.com/?utm_source=fb&utm_medium=paidsocial",
      undefined,
      "Paid Social",
      NONE_KEY,
      "fb",
      "paidsocial",
    ],
    [
      "https://ex.com/?utm_source=newsletter&utm_medium=email",
      undefined,
      "Email",
      NONE_KEY,
      "newsletter",
      "email",
    ],
    [
      "https://ex.com/?utm_source=newsletter&utm_medium=e-mail",
      "https://www.google.com/",
      "Email",
      "google.com",
      "newsletter",
      "e-mail",
    ],
    [
      "https://ex.com/?utm_medium=social&utm_source=mastodon",
      undefined,
      "Organic Social",
      NONE_KEY,
      "mastodon",
      "social",
    ],
    [
      "https://ex.com/?utm_medium=display&utm_source=gdn",
      undefined,
      "Display",
      NONE_KEY,
      "gdn",
      "display",
    ],
    ["https://ex.com/?utm_medium=banner", undefined, "Display", NONE_KEY, NONE_KEY, "banner"],
    [
      "https://ex.com/?utm_medium=affiliate&utm_source=partner",
      undefined,
      "Affiliates",
      NONE_KEY,
      "partner",
      "affiliate",
    ],
    [
      "https://ex.com/?utm_source=newsletter",
      undefined,
      // Plausible's rule: "newsletter" in the source or medium is email.
      "Email",
      NONE_KEY,
      "newsletter",
      NONE_KEY,
    ],
    ["https://ex.com/?utm_medium=weird", undefined, "Unassigned", NONE_KEY, NONE_KEY, "weird"],
    // Plausible's ?ref= counts as a source when there is no utm_source.
    [
      "https://ex.com/?ref=producthunt",
      undefined,
      "Organic Social",
      NONE_KEY,
      "producthunt",
      NONE_KEY,
    ],
    [
      "https://ex.com/?ref=producthunt&utm_source=ph",
      undefined,
      // An unknown source that matches no rule is a referral, as in Plausible.
      "Referral",
      NONE_KEY,
      "ph",
      NONE_KEY,
    ],
    [
      "https://ex.com/?utm_source=%20spaced%20&utm_medium=",
      undefined,
      "Referral",
      NONE_KEY,
      "spaced",
      NONE_KEY,
    ],
  ];
  test.each(table)(
    "a visit to %s from %s is %s",
    (url, referrer, channel, ref, utmSource, utmMedium) => {
      const a = attributionOf(ev(url, referrer));
      expect([a.channel, a.referrer, a.utmSource, a.utmMedium]).toEqual([
        channel,
        ref,
        utmSource,
        utmMedium,
      ]);
    },
  );

  test("utm values are trimmed and cut to 200 characters; campaign, content and term are read too", () => {
    const a = attributionOf(
      ev(`https://ex.com/?utm_campaign=${"c".repeat(300)}&utm_content=hero&utm_term=%20shoes%20`),
    );
    expect([a.utmCampaign.length, a.utmContent, a.utmTerm]).toEqual([200, "hero", "shoes"]);
  });

  test("server-side fields fill country, device, browser and os, and are (none) when missing", () => {
    const e = {
      ...ev("https://ex.com/"),
      country: "DE",
      device: "Mobile",
      browser: "Safari",
      screen: "390x844",
    };
    const a = attributionOf(e);
    expect([a.country, a.device, a.browser, a.os, a.screen]).toEqual([
      "DE",
      "Mobile",
      "Safari",
      NONE_KEY,
      "390x844",
    ]);
  });

  test("channelOf is a pure function of (referrer, medium, source)", () => {
    expect(channelOf(NONE_KEY, NONE_KEY, NONE_KEY)).toBe("Direct");
    expect(channelOf("x.com", NONE_KEY, NONE_KEY)).toBe("Organic Social");
    expect(channelOf("example.org", NONE_KEY, NONE_KEY)).toBe("Referral");
  });
});

describe("channels follow GA4's default channel grouping", () => {
  test.each([
    [NONE_KEY, "organic", NONE_KEY, "Organic Search"],
    [NONE_KEY, NONE_KEY, "google", "Organic Search"],
    [NONE_KEY, NONE_KEY, "facebook", "Organic Social"],
    [NONE_KEY, NONE_KEY, "email", "Email"],
    [NONE_KEY, "referral", "partner", "Referral"],
    [NONE_KEY, "paid_search", "google", "Paid Search"],
    [NONE_KEY, "cpc", "newsletter", "Paid Other"],
    [NONE_KEY, "cpc", "facebook", "Paid Social"],
    ["youtube.com", NONE_KEY, NONE_KEY, "Organic Video"],
    [NONE_KEY, "sms", NONE_KEY, "SMS"],
    [NONE_KEY, "audio", NONE_KEY, "Audio"],
    [NONE_KEY, "web-push", NONE_KEY, "Mobile Push Notifications"],
    ["mail.google.com", NONE_KEY, NONE_KEY, "Email"],
    ["example.org", NONE_KEY, NONE_KEY, "Referral"],
    [NONE_KEY, NONE_KEY, "newsletter", "Email"],
    [NONE_KEY, "weird", NONE_KEY, "Unassigned"],
  ])("referrer %s, medium %s, source %s is %s", (referrer, medium, source, channel) => {
    expect(channelOf(referrer, medium, source)).toBe(channel);
  });
});
