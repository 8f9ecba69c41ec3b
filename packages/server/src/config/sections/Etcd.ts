import { Schema } from "effect"
import { IntBetween, PositiveInt } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const section = Section.make("etcd", {
  endpoints: Setting.make("endpoints", Schema.Array(Schema.String), {
    default: [],
    doc: "etcd members; empty → the static `node.worker_id`"
  }),
  prefix: Setting.make("prefix", Schema.String.check(Schema.isPattern(/^(\/[A-Za-z0-9._-]+)+$/)), {
    default: "/idgen",
    doc: "Key prefix of worker claims"
  }),
  leaseTtlSeconds: Setting.make("lease_ttl_seconds", IntBetween(2, 3600), { default: 30, doc: "TTL of the worker lease" }),
  fencingMarginMillis: Setting.optional("fencing_margin_ms", PositiveInt, {
    doc: "Issuing stops this long before the lease could expire (default: TTL/6, at most 5 s)"
  }),
  requestTimeoutMillis: Setting.make("request_timeout_ms", IntBetween(100, 60_000), {
    default: 2000,
    doc: "Deadline of one etcd request"
  })
}, (etcd) => {
  // Keep-alives go out every third of the TTL; a node fences itself `ttl - margin` after the last one.
  const ttlMs = etcd.leaseTtlSeconds * 1000
  const margin = etcd.fencingMarginMillis ?? Math.min(5000, Math.floor(ttlMs / 6))
  return margin < ttlMs - ttlMs / 3
    ? { ...etcd, fencingMarginMillis: margin }
    : Section.refuse({
      key: "fencing_margin_ms",
      message: `${margin} ms leaves no room for keep-alives; ` +
        `it must be below two thirds of the lease TTL (${Math.ceil((ttlMs * 2) / 3)} ms)`
    })
})
