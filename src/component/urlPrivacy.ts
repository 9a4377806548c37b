// What of a page's URL is kept. Query strings carry tokens, emails and session
// ids (`?token=…&email=…`) that would otherwise sit in raw events for the whole
// raw retention, while reports use only the path and the campaign parameters.
// So, as Plausible records pathnames, the query is dropped at ingest except the
// campaign parameters attribution reads and the site's own allow-list.

/** Parameters always kept: campaign tags (utm_*) and the referral tags `ref` and `source`. */
export const ALWAYS_KEPT_QUERY_PARAMS = ["ref", "source"] as const;
const isCampaignParam = (name: string) => name.startsWith("utm_");

export const MAX_KEPT_QUERY_PARAMS = 50;
const MAX_PARAM_NAME_LENGTH = 100;

/** Refuses a `keptQueryParams` setting that could not be applied as written. */
export function assertKeptQueryParams(names: string[]): void {
  if (names.length > MAX_KEPT_QUERY_PARAMS)
    throw new Error(`keptQueryParams holds at most ${MAX_KEPT_QUERY_PARAMS} names`);
  for (const name of names)
    if (name.length === 0 || name.length > MAX_PARAM_NAME_LENGTH)
      throw new Error(`keptQueryParams names must be 1-${MAX_PARAM_NAME_LENGTH} characters`);
}

/**
 * `url` without the query parameters that are neither campaign tags nor in
 * `kept`, and without its fragment unless the fragment is a hash route
 * ("#/…", "#!/…", which single-page apps use as their page; its own query is
 * dropped). A URL that loses nothing is returned exactly as sent.
 */
export function withoutPrivateQuery(url: string, kept: readonly string[] = []): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  const keep = (name: string) =>
    isCampaignParam(name) ||
    (ALWAYS_KEPT_QUERY_PARAMS as readonly string[]).includes(name) ||
    kept.includes(name);
  const params = [...parsed.searchParams];
  const kept_ = params.filter(([name]) => keep(name));
  const hashRoute = /^#!?\//.test(parsed.hash) ? parsed.hash.split("?")[0]! : "";
  if (kept_.length === params.length && hashRoute === parsed.hash) return url;
  parsed.search = new URLSearchParams(kept_).toString();
  parsed.hash = hashRoute;
  return parsed.toString();
}

/** A referrer as origin and path: reports read only its host, and its query is another site's secrets. */
export function referrerWithoutQuery(referrer: string): string {
  if (!URL.canParse(referrer)) return referrer;
  const parsed = new URL(referrer);
  return parsed.search || parsed.hash ? `${parsed.origin}${parsed.pathname}` : referrer;
}

/** Applies the site's URL policy to a normalised event, in place, before it is stored. */
export function stripPrivateUrlParts(
  event: { url: string; referrer?: string },
  kept: readonly string[] | undefined,
): void {
  event.url = withoutPrivateQuery(event.url, kept);
  if (event.referrer !== undefined) event.referrer = referrerWithoutQuery(event.referrer);
}
