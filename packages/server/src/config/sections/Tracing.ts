import { HttpUrl, NonEmptyString, Ratio, StringRecord } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

export const section = Section.make("tracing", {
  otlpEndpoint: Setting.optional("otlp_endpoint", HttpUrl, {
    doc: "OTLP/HTTP endpoint; traces are exported to `{endpoint}/v1/traces` only when set"
  }),
  serviceName: Setting.make("service_name", NonEmptyString, { default: "idgen", doc: "`service.name` of exported spans" }),
  otlpHeaders: Setting.make("otlp_headers", StringRecord, {
    default: {},
    secret: true,
    doc: "Headers of OTLP requests, e.g. authentication (secret: redacted in the operator API)"
  }),
  sampleRatio: Setting.make("sample_ratio", Ratio, {
    default: 1,
    doc: "Share of root traces exported (parent-based: a caller's `traceparent` sampling flag wins)"
  })
})
