/**
 * The Effect RPC form of the contract: the same four operations as gRPC, served on the HTTP
 * port at `/rpc` (HTTP, ndjson) and `/rpc/ws` (WebSocket, ndjson). The API key travels in
 * the RPC header `x-api-key`; failures are the IDGEN errors of `@idgen/core`, typed, and
 * carry their code on the wire (`RpcError`).
 *
 * Requests are structural here (strings and a number): the server applies the contract's
 * rules — name patterns, size 1..10000 — itself, so a bad field comes back as
 * `InvalidRequest` naming it, exactly as over HTTP and gRPC, rather than as a transport
 * failure of the RPC layer.
 */
import { Errors, Names } from "@idgen/core"
import { Schema, SchemaTransformation } from "effect"
import { Rpc, RpcGroup } from "effect/rpc"

/** The RPC header that carries the API key (`idgen_<workspace>_<32 hex>`). */
export const apiKeyHeader = "x-api-key"

const sequence = {
  workspace: Schema.String,
  group: Schema.String,
  biz_tag: Schema.String
}

export const GenerateResult = Schema.Struct({
  id: Schema.String,
  algorithm: Names.Algorithm,
  /** RFC 3339. */
  timestamp: Schema.String
})
export type GenerateResult = typeof GenerateResult.Type

const isIdArray = (u: unknown): u is ReadonlyArray<string> => Array.isArray(u)

/**
 * A batch of IDs. On the wire the IDs of every algorithm but `formatted` travel as one
 * comma-joined string (decimal and UUID text never contain a comma): parsing a JSON array of
 * short numeric strings costs the client ~0.5 µs per ID in V8 (it interns each one), a split
 * ~60 ns. Formatted IDs, whose template literals may hold anything, stay a JSON array. In
 * code, `ids` is always the array.
 */
export const BatchGenerateResult = Schema.Struct({
  ids: Schema.Union([Schema.String, Schema.Array(Schema.String)]),
  algorithm: Names.Algorithm,
  count: Schema.Number
}).pipe(
  Schema.decodeTo(
    Schema.Struct({
      /** Increasing for segment, snowflake and uuid_v7. */
      ids: Schema.declare(isIdArray, { identifier: "Ids" }),
      algorithm: Names.Algorithm,
      count: Schema.Number
    }),
    SchemaTransformation.transform({
      decode: (wire) => ({
        ...wire,
        ids: typeof wire.ids !== "string" ? wire.ids : wire.ids === "" ? [] : wire.ids.split(",")
      }),
      encode: (batch) => ({ ...batch, ids: batch.algorithm === "formatted" ? batch.ids : batch.ids.join(",") })
    })
  )
)
export type BatchGenerateResult = typeof BatchGenerateResult.Type

/** The parse response of the contract; which fields are present depends on the algorithm. */
export const IdInfo = Schema.Struct({
  id: Schema.String,
  algorithm: Names.Algorithm,
  timestamp: Schema.optionalKey(Schema.String),
  timestamp_ms: Schema.optionalKey(Schema.Number),
  datacenter_id: Schema.optionalKey(Schema.Number),
  worker_id: Schema.optionalKey(Schema.Number),
  sequence: Schema.optionalKey(Schema.Number),
  version: Schema.optionalKey(Schema.Number)
})
export type IdInfo = typeof IdInfo.Type

const HealthStatus = Schema.Literals(["healthy", "degraded", "unhealthy"])

export const HealthReport = Schema.Struct({
  status: HealthStatus,
  checks: Schema.Record(Schema.String, Schema.Struct({ status: HealthStatus, message: Schema.optional(Schema.String) }))
})
export type HealthReport = typeof HealthReport.Type

type ErrorClass = (typeof Errors.errorClasses)[number]

/**
 * An IDGEN error as it travels: its fields plus its contract code (`"code":"IDGEN-…"`),
 * so a client that does not decode the tag still sees the code. Decoding ignores the code
 * (the class knows its own), so a client reads errors of servers that do not send it.
 */
const withCode = <C extends ErrorClass>(errorClass: C) =>
  Schema.Struct({ ...errorClass.fields, code: Schema.optionalKey(Schema.String) }).pipe(
    Schema.decodeTo(
      errorClass,
      SchemaTransformation.transform({
        // The class's own fields plus the code, which its decoding leaves out as an excess key.
        decode: (wire) => wire as C["Encoded"],
        encode: (error) => ({ ...error, code: errorClass.code })
      })
    )
  )

/** The failures of the operations: every IDGEN error class, each with its code on the wire. */
export const RpcError = Schema.Union(Errors.errorClasses.map(withCode))

export const Generate = Rpc.make("Generate", {
  payload: sequence,
  success: GenerateResult,
  error: RpcError
})

export const BatchGenerate = Rpc.make("BatchGenerate", {
  payload: { ...sequence, size: Schema.Number },
  success: BatchGenerateResult,
  error: RpcError
})

export const Parse = Rpc.make("Parse", {
  payload: {
    id: Schema.String,
    workspace: Schema.optionalKey(Schema.String),
    group: Schema.optionalKey(Schema.String),
    biz_tag: Schema.optionalKey(Schema.String)
  },
  success: IdInfo,
  error: RpcError
})

/** The node's health report; needs no API key. */
export const HealthCheck = Rpc.make("HealthCheck", { success: HealthReport })

export class IdRpcs extends RpcGroup.make(Generate, BatchGenerate, Parse, HealthCheck) {}
