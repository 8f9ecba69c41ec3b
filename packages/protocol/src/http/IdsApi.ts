/**
 * The ID endpoints (`X-API-Key`): generate one, generate a batch, parse.
 */
import { Names } from "@idgen/core"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { ApiKeyAuth } from "./ApiKeyAuth.ts"
import { RequestValidation } from "./RequestValidation.ts"
import * as WireError from "./WireError.ts"

export const maxBatchSize = 10_000

const sequenceFields = {
  workspace: Names.WorkspaceName,
  group: Names.GroupName,
  biz_tag: Names.BizTagName
}

export const GenerateRequest = Schema.Struct(sequenceFields).annotate({ identifier: "GenerateRequest" })

export const BatchGenerateRequest = Schema.Struct({
  ...sequenceFields,
  size: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: maxBatchSize })).annotate({
    description: `How many IDs, 1..${maxBatchSize}`
  })
}).annotate({ identifier: "BatchGenerateRequest" })

export const ParseRequest = Schema.Struct({
  id: Schema.NonEmptyString,
  workspace: Schema.optional(Names.WorkspaceName),
  group: Schema.optional(Names.GroupName),
  biz_tag: Schema.optional(Names.BizTagName)
}).annotate({
  identifier: "ParseRequest",
  description: "workspace, group and biz_tag give the context segment and formatted IDs need"
})

const IdString = Schema.String.annotate({ description: "Decimal string or RFC 9562 text; never a JSON number" })

export const GenerateResponse = Schema.Struct({
  id: IdString,
  algorithm: Names.Algorithm,
  timestamp: Schema.String.annotate({ description: "RFC 3339" })
}).annotate({ identifier: "GenerateResponse" })

export const BatchGenerateResponse = Schema.Struct({
  ids: Schema.Array(IdString).annotate({ description: "Increasing for segment, snowflake and uuid_v7" }),
  algorithm: Names.Algorithm,
  count: Schema.Int
}).annotate({ identifier: "BatchGenerateResponse" })

export const ParseResponse = Schema.Struct({
  id: IdString,
  algorithm: Names.Algorithm,
  timestamp: Schema.optional(Schema.String),
  timestamp_ms: Schema.optional(Schema.Finite),
  datacenter_id: Schema.optional(Schema.Int),
  worker_id: Schema.optional(Schema.Int),
  sequence: Schema.optional(Schema.Int),
  version: Schema.optional(Schema.Int)
}).annotate({ identifier: "ParseResponse" })

/** `IdService` may fail with any IDGEN error; each is answered with its own status. */
const generateErrors = WireError.all

export class IdsApi extends HttpApiGroup.make("ids")
  .add(
    HttpApiEndpoint.post("generate", "/generate", {
      payload: GenerateRequest,
      success: GenerateResponse,
      error: generateErrors
    }),
    HttpApiEndpoint.post("generateBatch", "/generate/batch", {
      payload: BatchGenerateRequest,
      success: BatchGenerateResponse,
      error: generateErrors
    }),
    HttpApiEndpoint.post("parse", "/parse", {
      payload: ParseRequest,
      success: ParseResponse,
      error: generateErrors
    })
  )
  .middleware(RequestValidation)
  .middleware(ApiKeyAuth)
  .prefix("/api/v1")
  .annotateMerge(OpenApi.annotations({ title: "IDs", description: "Issue and decode IDs (X-API-Key)" }))
{}
