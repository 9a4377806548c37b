// Per-site origin allowlists for the ingest route. Entries are normalised when
// they are written (normalizeOrigin), the way browsers serialise an Origin
// header: lower-case scheme and host, punycode, no default port. So the match
// at ingest is a plain comparison, and `https://Shop.Example.org` can no longer
// silently refuse every real browser.
import { parse as parseDomain } from "tldts";

export const MAX_ALLOWED_ORIGINS = 100;
const MAX_ORIGIN_LENGTH = 300;

/**
 * The canonical form of one `allowedOrigins` entry, `scheme://host[:port]` or
 * `scheme://*.host[:port]` (the host and its subdomains), or an error saying
 * what is wrong with it. A wildcard over a public suffix (`*.com`, `*.co.uk`,
 * `*.github.io`) is refused: anyone can register a name under it.
 */
export function normalizeOrigin(entry: string): string {
  const refuse = (why: string) => new Error(`Invalid origin "${entry.slice(0, 100)}": ${why}`);
  if (entry.length > MAX_ORIGIN_LENGTH)
    throw refuse(`an origin is at most ${MAX_ORIGIN_LENGTH} characters`);
  const shape = /^(https?):\/\/(\*\.)?([^/?#@\\\s*]+)$/i.exec(entry);
  if (!shape)
    throw refuse(
      "use scheme://host[:port], e.g. https://example.com, or https://*.example.com for its subdomains",
    );
  const scheme = shape[1]!;
  const wildcard = shape[2] !== undefined;
  const authority = shape[3]!;
  if (authority.endsWith(":")) throw refuse("the port is empty");
  let url: URL;
  try {
    url = new URL(`${scheme.toLowerCase()}://${authority}`);
  } catch {
    throw refuse("the host or port is malformed");
  }
  if (url.port === "0") throw refuse("port 0 is not a port a browser can use");
  const host = url.hostname;
  const isIp = /^\[.*\]$/.test(host) || /^\d+(\.\d+){3}$/.test(host);
  if (!isIp) {
    const labels = host.split(".");
    if (host.length > 253 || labels.some((label) => label.length === 0 || label.length > 63))
      throw refuse("the host has an empty or over-long label");
  }
  if (wildcard) {
    if (isIp) throw refuse("a wildcard needs a domain name, not an IP address");
    const { domain, publicSuffix } = parseDomain(host, { allowPrivateDomains: true });
    if (!domain || publicSuffix === host)
      throw refuse(
        `"${host}" is a public suffix: a wildcard over it would accept sites anyone can register`,
      );
  }
  return `${url.protocol}//${wildcard ? "*." : ""}${url.host}`;
}

/** A site's `allowedOrigins`, each normalised, duplicates dropped; throws on the first bad entry. */
export function normalizeOrigins(entries: string[]): string[] {
  if (entries.length > MAX_ALLOWED_ORIGINS)
    throw new Error(`allowedOrigins holds at most ${MAX_ALLOWED_ORIGINS} origins`);
  return [...new Set(entries.map(normalizeOrigin))];
}

/**
 * Matches a request's Origin against a site's (normalised) list: exact, or
 * `scheme://*.example.com[:port]` for example.com and its subdomains. An empty
 * list accepts any origin.
 */
export function originAllowed(origin: string | null, allowed: string[]): boolean {
  if (allowed.length === 0) return true;
  // A missing Origin is not a bypass: browsers always send one on cross-origin POSTs.
  if (!origin) return false;
  const url = URL.canParse(origin) ? new URL(origin) : null;
  // Browsers already send the serialised form; parsing also forgives a client that does not.
  const sent = url && /^https?:$/.test(url.protocol) ? url.origin : origin;
  return allowed.some((entry) => {
    if (entry === sent) return true;
    if (!url || !entry.includes("://*.")) return false;
    const base = new URL(entry.replace("://*.", "://"));
    return (
      url.protocol === base.protocol &&
      url.port === base.port &&
      (url.hostname === base.hostname || url.hostname.endsWith(`.${base.hostname}`))
    );
  });
}
