// The client's address behind a proxy: which forwarding headers are read, and
// the proxy a site trusts to set one.
import { v, type Infer } from "convex/values";

/**
 * Request headers a proxy in front of the deployment may put the client's
 * address in. Only these are ever read, and only for a site whose
 * `trustedProxy` names one (see TrustedProxy).
 */
export const FORWARDED_ADDRESS_HEADERS = [
  "x-forwarded-for",
  "cf-connecting-ip",
  "true-client-ip",
  "x-real-ip",
  "fly-client-ip",
] as const;
export type ForwardedAddressHeader = (typeof FORWARDED_ADDRESS_HEADERS)[number];
export const vForwardedAddressHeader = v.union(
  ...FORWARDED_ADDRESS_HEADERS.map((h) => v.literal(h)),
);
/** The forwarding headers of one request that the ingest route found (FORWARDED_ADDRESS_HEADERS). */
export const vForwardedAddresses = v.array(
  v.object({ header: vForwardedAddressHeader, value: v.string() }),
);
export type ForwardedAddresses = Infer<typeof vForwardedAddresses>;

/**
 * A proxy the site's traffic reaches the deployment through (a CDN on a custom
 * domain). Its header is believed only when the connecting address that Convex
 * reports is one of `proxies`: anyone else can set the header to anything.
 */
export const vTrustedProxy = v.object({
  /** The header that proxy puts the client's address in. */
  header: vForwardedAddressHeader,
  /** The proxy's own addresses: IPv4 or IPv6 addresses or CIDR ranges, e.g. "173.245.48.0/20". */
  proxies: v.array(v.string()),
});
export type TrustedProxy = Infer<typeof vTrustedProxy>;
