// The client's address, for rate limits and cookieless ids: the one Convex
// reports for the connection, unless the site sits behind a proxy it named
// (settings.trustedProxy) and the connection comes from that proxy. Addresses
// are only ever inputs to salted hashes: nothing here stores or logs one.
import ipaddr from "ipaddr.js";
import type { ForwardedAddresses, TrustedProxy } from "../shared.js";

/** A site lists a CDN's ranges, not every address on the internet. */
export const MAX_TRUSTED_PROXIES = 200;

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

/** An address, IPv4-mapped IPv6 ("::ffff:1.2.3.4") read as the IPv4 address it is; null if malformed. */
function parseAddress(text: string): Address | null {
  const trimmed = text.trim();
  return ipaddr.isValid(trimmed) ? ipaddr.process(trimmed) : null;
}

/** A proxy entry ("1.2.3.4", "2001:db8::/32") as a range; null if malformed. */
function parseRange(text: string): Range | null {
  const trimmed = text.trim();
  if (trimmed.includes("/")) {
    if (!ipaddr.isValidCIDR(trimmed)) return null;
    const [address, bits] = ipaddr.parseCIDR(trimmed);
    // An IPv4-mapped IPv6 range is the IPv4 range it covers.
    if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96)
      return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96];
    return [address, bits];
  }
  const address = parseAddress(trimmed);
  return address && [address, address.kind() === "ipv4" ? 32 : 128];
}

/** Refuses a trustedProxy setting that could not be applied as written. */
export function assertTrustedProxy(proxy: TrustedProxy): void {
  if (proxy.proxies.length === 0 || proxy.proxies.length > MAX_TRUSTED_PROXIES)
    throw new Error(
      `trustedProxy.proxies must list 1-${MAX_TRUSTED_PROXIES} addresses or CIDR ranges of the proxy`,
    );
  for (const entry of proxy.proxies) {
    const range = parseRange(entry);
    if (!range)
      throw new Error(
        `Invalid trustedProxy entry "${entry.slice(0, 60)}": use an IP address or a CIDR range such as 173.245.48.0/20`,
      );
    // A range this wide is not one proxy: it would let anyone set their own address.
    if (range[1] < (range[0].kind() === "ipv4" ? 8 : 16))
      throw new Error(`trustedProxy entry "${entry}" covers too many addresses to be one proxy`);
  }
}

function inRanges(address: Address, ranges: Range[]): boolean {
  return ranges.some(([base, bits]) => address.kind() === base.kind() && address.match(base, bits));
}

/**
 * The address to key this request's client on. `peer` is what Convex reports
 * (ctx.meta.getRequestMetadata().ip); `forwarded` the route's forwarding
 * headers. A forwarding header counts only when the site names a proxy and the
 * peer is one of its addresses; then, in x-forwarded-for, the client is the
 * nearest hop that is not the proxy (every hop before it is what the client
 * itself sent, so it proves nothing).
 */
export function clientAddress(
  peer: string | null | undefined,
  forwarded: ForwardedAddresses | undefined,
  proxy: TrustedProxy | undefined,
): string | null {
  if (!peer) return null;
  if (!proxy || !forwarded) return peer;
  const peerAddress = parseAddress(peer);
  const ranges = proxy.proxies.map(parseRange).filter((r): r is Range => r !== null);
  if (!peerAddress || !inRanges(peerAddress, ranges)) return peer;
  const value = forwarded.find((f) => f.header === proxy.header)?.value;
  if (!value) return peer;
  const hops = proxy.header === "x-forwarded-for" ? value.split(",") : [value];
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseAddress(hops[i]!);
    // A malformed hop ends the chain: nothing before it was written by the proxy.
    if (!hop) return peer;
    if (!inRanges(hop, ranges)) return hop.toString();
  }
  return peer;
}
