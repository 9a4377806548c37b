// Per-site origin allowlists for the ingest route.

/** Matches an Origin against a site's list: exact, or "https://*.example.com" for subdomains. */
export function originAllowed(origin: string | null, allowed: string[]): boolean {
  if (allowed.length === 0) return true;
  // A missing Origin is not a bypass: browsers always send one on cross-origin POSTs.
  if (!origin) return false;
  return allowed.some((a) => {
    if (a === origin) return true;
    const wildcard = /^(https?):\/\/\*\.(.+)$/.exec(a);
    if (!wildcard) return false;
    const url = URL.canParse(origin) ? new URL(origin) : null;
    return (
      !!url &&
      url.protocol === `${wildcard[1]}:` &&
      (url.host === wildcard[2] || url.host.endsWith(`.${wildcard[2]}`))
    );
  });
}
