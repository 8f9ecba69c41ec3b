/**
 * The client's address as the per-IP limits see it (the request limit and failed
 * authentication): the socket's peer, unless that peer is one of `rate_limit.trusted_proxies`
 * — then the rightmost `X-Forwarded-For` entry that is not itself a trusted proxy (entries
 * left of it were written by the client and prove nothing). From any other peer the header
 * is ignored, so a client cannot choose the bucket it is limited in. gRPC has no such
 * header: there the peer is the client.
 */
import { BlockList, isIP } from "node:net"

/** `(socket peer, X-Forwarded-For header(s))` → the client address, IPv4 in plain form. */
export type ClientAddress = (
  peer: string | undefined,
  forwardedFor: string | ReadonlyArray<string> | undefined
) => string | undefined

/**
 * An IPv4 client as its IPv4 address, however the interface reports it (a dual-stack
 * socket says `::ffff:10.0.0.1`, gRPC may say `10.0.0.1`): one bucket per client.
 */
export const plainIp = (ip: string): string => ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip

/** Whether `entry` is an IP address or a CIDR block (`10.0.0.0/8`, `fd00::/8`). */
export const isAddressOrBlock = (entry: string): boolean => {
  const [address = "", prefix, ...rest] = entry.split("/")
  const version = isIP(address)
  if (version === 0 || rest.length > 0) return false
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128))
}

export const make = (trustedProxies: ReadonlyArray<string>): ClientAddress => {
  if (trustedProxies.length === 0) return (peer) => peer === undefined ? undefined : plainIp(peer)
  const trusted = new BlockList()
  for (const entry of trustedProxies) {
    const [address = "", prefix] = entry.split("/")
    const type = isIP(address) === 4 ? "ipv4" : "ipv6"
    if (prefix === undefined) trusted.addAddress(address, type)
    else trusted.addSubnet(address, Number(prefix), type)
  }
  const isTrusted = (address: string) => {
    const version = isIP(address)
    return version !== 0 && trusted.check(address, version === 4 ? "ipv4" : "ipv6")
  }
  return (peer, forwardedFor) => {
    if (peer === undefined) return undefined
    const client = plainIp(peer)
    if (forwardedFor === undefined || !isTrusted(client)) return client
    const hops = (typeof forwardedFor === "string" ? forwardedFor : forwardedFor.join(",")).split(",")
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = plainIp(hops[i]!.trim())
      // Garbage where an address should be: the proxy's own address is the most we know.
      if (isIP(hop) === 0) return client
      if (!isTrusted(hop)) return hop
    }
    return client
  }
}
