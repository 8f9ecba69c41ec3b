import { Port, PositiveInt } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const section = Section.make("grpc", {
  port: Setting.make("port", Port, { default: 50051, doc: "gRPC port" }),
  maxConnections: Setting.make("max_connections", PositiveInt, {
    default: 10_000,
    doc: "Open connections of the gRPC port; more are closed as soon as they are accepted (one that sends nothing in its first `http.headers_timeout_ms` is closed too)"
  }),
  maxConcurrentStreams: Setting.make("max_concurrent_streams", PositiveInt, {
    default: 100,
    doc: "Calls at once on one gRPC connection"
  })
})
