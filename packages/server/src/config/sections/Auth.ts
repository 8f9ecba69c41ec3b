import { IntBetween, PositiveInt } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const section = Section.make("auth", {
  cacheTtlMillis: Setting.make("cache_ttl_millis", IntBetween(0, 2000), {
    default: 1000,
    doc: "How long a verified API key is trusted locally"
  }),
  /** Failed authentications per client address (token bucket, per node). */
  failedPerIp: Setting.prefixed("failed_per_ip_", {
    perSecond: Setting.make("per_second", PositiveInt, {
      default: 10,
      doc: "Failed authentications per client address and second (token bucket, per node); past it, keys this node has not verified are refused with 429 IDGEN-COMMON-0003 before any lookup"
    }),
    burst: Setting.make("burst", PositiveInt, {
      default: 50,
      doc: "Bucket size of the failed authentications per client address"
    })
  }),
  unknownKeyCacheMillis: Setting.make("unknown_key_cache_ms", IntBetween(0, 60_000), {
    default: 5000,
    doc: "A key the lookup found unknown is refused from memory (401) for this long; 0 = off"
  }),
  outageGraceMillis: Setting.make("outage_grace_ms", IntBetween(0, 900_000), {
    default: 60_000,
    doc: "While the database is unreachable, a key stays honoured this long after the database last confirmed it (bounds how long a key revoked elsewhere works on a cut-off node); then 503 IDGEN-SEG-1003"
  })
})
