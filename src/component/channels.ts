// Channel from source (utm_source, else the referrer's domain) and medium,
// following GA4's default channel grouping rules, in GA4's order of precedence.
import { NONE_KEY } from "../shared.js";

const SEARCH = [
  "google.",
  "bing.com",
  "duckduckgo.com",
  "yahoo.",
  "baidu.com",
  "yandex.",
  "ecosia.org",
  "search.brave.com",
  "startpage.com",
  "naver.com",
  "seznam.cz",
  "qwant.com",
  "google",
  "bing",
  "duckduckgo",
  "yahoo",
  "baidu",
  "yandex",
  "ecosia",
];
const SOCIAL = [
  "facebook.com",
  "m.facebook.com",
  "l.facebook.com",
  "t.co",
  "twitter.com",
  "x.com",
  "linkedin.com",
  "lnkd.in",
  "reddit.com",
  "instagram.com",
  "news.ycombinator.com",
  "threads.net",
  "bsky.app",
  "mastodon.social",
  "pinterest.com",
  "tiktok.com",
  "facebook",
  "fb",
  "twitter",
  "linkedin",
  "reddit",
  "instagram",
  "pinterest",
  "tiktok",
  "threads",
  "bluesky",
];
const VIDEO = [
  "youtube.com",
  "m.youtube.com",
  "youtu.be",
  "vimeo.com",
  "twitch.tv",
  "dailymotion.com",
  "youtube",
  "vimeo",
  "twitch",
];
const WEBMAIL = ["mail.google.com", "outlook.live.com", "mail.yahoo.com", "mail.proton.me"];
const EMAIL = /^(email|e-mail|e_mail|e mail)$/;

/** A domain (or bare source name) is in a list by exact match, subdomain, or a "google." style prefix. */
const inList = (source: string, list: string[]) =>
  list.some((d) =>
    d.endsWith(".")
      ? source.startsWith(d) || source.includes(`.${d}`)
      : source === d || source.endsWith(`.${d}`),
  );

const PAID = /^(.*cp.*|ppc|retargeting|paid.*)$/;

export function channelOf(referrer: string, utmMedium: string, utmSource: string): string {
  const medium = utmMedium === NONE_KEY ? "" : utmMedium.toLowerCase();
  const source = (
    utmSource !== NONE_KEY ? utmSource : referrer === NONE_KEY ? "" : referrer
  ).toLowerCase();
  if (!source && !medium) return "Direct";
  // Webmail referrers are email, not the search engines their domains resemble.
  if (inList(source, WEBMAIL)) return "Email";
  const search = inList(source, SEARCH);
  const social = inList(source, SOCIAL);
  const video = inList(source, VIDEO);
  if (PAID.test(medium)) {
    if (search) return "Paid Search";
    if (social) return "Paid Social";
    if (video) return "Paid Video";
  }
  if (/^(display|banner|expandable|interstitial|cpm)$/.test(medium)) return "Display";
  if (PAID.test(medium)) return "Paid Other";
  if (
    social ||
    /^(social|social-network|social-media|sm|social network|social media)$/.test(medium)
  )
    return "Organic Social";
  if (video || /video/.test(medium)) return "Organic Video";
  if (search || medium === "organic") return "Organic Search";
  if (/^(referral|app|link)$/.test(medium)) return "Referral";
  if (EMAIL.test(source) || EMAIL.test(medium)) return "Email";
  if (medium === "affiliate") return "Affiliates";
  if (medium === "audio") return "Audio";
  if (source === "sms" || medium === "sms") return "SMS";
  if (medium.endsWith("push") || /mobile|notification/.test(medium) || source === "firebase")
    return "Mobile Push Notifications";
  // A referrer with no campaign tags is a referral; tagged traffic that matched nothing is unassigned.
  if (utmSource === NONE_KEY && utmMedium === NONE_KEY) return "Referral";
  return "Unassigned";
}
