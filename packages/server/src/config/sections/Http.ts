import { Schema } from "effect"
import { IntBetween, Port, PositiveInt } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

const Timeout = IntBetween(100, 600_000)

export const section = Section.make("http", {
  host: Setting.make("host", Schema.String, { default: "0.0.0.0", doc: "Address the HTTP (and gRPC) server binds" }),
  port: Setting.make("port", Port, { default: 8080, doc: "HTTP port" }),
  maxBodyBytes: Setting.make("max_body_bytes", PositiveInt, {
    default: 64 * 1024,
    doc: "Larger requests are refused before they are read, with IDGEN-COMMON-0001: HTTP bodies, `/rpc` bodies, `/rpc/ws` frames and messages, gRPC messages"
  }),
  headersTimeoutMillis: Setting.make("headers_timeout_ms", Timeout, {
    default: 5000,
    doc: "A client must send its request headers within this (slow clients: 400 IDGEN-COMMON-0001, connection closed)"
  }),
  requestTimeoutMillis: Setting.make("request_timeout_ms", Timeout, {
    default: 10_000,
    doc: "…and its whole request within this (never below `headers_timeout_ms`)"
  }),
  maxConnections: Setting.make("max_connections", PositiveInt, {
    default: 10_000,
    doc: "Open connections of the HTTP port; more are closed as soon as they are accepted"
  }),
  maxWebSockets: Setting.make("max_websockets", PositiveInt, {
    default: 1000,
    doc: "Open `/rpc/ws` WebSockets; more upgrades are refused with 503 IDGEN-COMMON-0005"
  })
}, (http) => ({ ...http, requestTimeoutMillis: Math.max(http.requestTimeoutMillis, http.headersTimeoutMillis) }))
