import { Schema } from "effect"
import * as ClientAddress from "../../net/ClientAddress.ts"
import { NonNegativeInt } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

const AddressOrBlock = Schema.String.check(Schema.makeFilter((s: string) =>
  ClientAddress.isAddressOrBlock(s) || "expected an IP address or a CIDR block such as 10.0.0.0/8"
))

export const section = Section.make("rate_limit", {
  perIpPerSecond: Setting.make("per_ip_per_second", NonNegativeInt, {
    default: 0,
    doc: "Token bucket per client IP; 0 turns it off (workspace limits come from the workspace)"
  }),
  perIpBurst: Setting.make("per_ip_burst", NonNegativeInt, {
    default: 0,
    doc: "Bucket size per client IP; 0: one second's worth (`per_ip_per_second`)"
  }),
  trustedProxies: Setting.make("trusted_proxies", Schema.Array(AddressOrBlock), {
    default: [],
    doc: "Peers (IPs, CIDR blocks) whose `X-Forwarded-For` names the client for the per-IP limits (the rightmost address not itself trusted); from any other peer the header is ignored. Not on gRPC"
  })
}, (rateLimit) => ({ ...rateLimit, perIpBurst: rateLimit.perIpBurst || rateLimit.perIpPerSecond }))
