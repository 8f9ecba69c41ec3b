/**
 * The operator API (`Authorization: Bearer <admin token>`): workspaces, biz_tags, API keys,
 * the audit log. Bodies use the contract's snake_case names; timestamps are RFC 3339
 * strings. The newer lists (API keys, audit log) are paged: `limit`, `cursor` → `next_cursor`.
 */
import { AuditActions, Names } from "@idgen/core"
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { AdminAuth } from "./AdminAuth.ts"
import { RequestValidation } from "./RequestValidation.ts"
import { StoredText } from "./StoredText.ts"
import * as WireError from "./WireError.ts"

const Timestamp = Schema.String.annotate({ description: "RFC 3339" })
const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/** The largest value of a PostgreSQL `integer` column (the rate limits). */
const MAX_INTEGER_COLUMN = 2_147_483_647

/** An integer from 1 to `maximum`, whose column (or the setting in force) holds no more. */
const PositiveIntUpTo = (maximum: number) =>
  Schema.Int.check(
    Schema.isGreaterThanOrEqualTo(1, { message: "must be at least 1" }),
    Schema.isLessThanOrEqualTo(maximum, { message: `must be at most ${maximum}` })
  )

const RateValue = PositiveIntUpTo(MAX_INTEGER_COLUMN)

export const RateLimit = Schema.Struct({
  per_second: RateValue.annotate({ description: `Requests per second (1..${MAX_INTEGER_COLUMN})` }),
  burst: RateValue.annotate({ description: `Requests at once (1..${MAX_INTEGER_COLUMN})` }),
  ids_per_second: Schema.optional(RateValue).annotate({
    description: "IDs per second (a batch of n counts n); unset: no limit on IDs"
  }),
  ids_burst: Schema.optional(RateValue).annotate({ description: "IDs at once; defaults to ids_per_second" })
}).annotate({ identifier: "RateLimit" })

const Fallback = Schema.Array(Names.Algorithm).check(Schema.isMaxLength(4)).annotate({
  description: "Algorithms tried in order when the primary one fails; must not contain the primary"
})

const workspaceSettings = {
  default_algorithm: Schema.optional(Names.Algorithm).annotate({
    description: "Defaults to segment; not formatted (an auto-created biz_tag has no template)"
  }),
  auto_create_biz_tags: Schema.optional(Schema.Boolean).annotate({ description: "Defaults to true" }),
  max_auto_biz_tags: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1_000_000 }))).annotate({
    description: "How many biz_tags may be auto-created (operator-created ones do not count); defaults to 10000"
  }),
  rate_limit: Schema.optional(Schema.NullOr(RateLimit)).annotate({ message: "must be an object or null" }),
  default_fallback: Schema.optional(Fallback).annotate({
    description: "Fallback chain of the biz_tags this workspace auto-creates (not formatted: they have no template)"
  })
}

/** A field a PATCH cannot change: sending it is a 400 that says so, not a silent no-op. */
const Unchangeable = (message: string) => Schema.optional(Schema.Never).annotate({ description: message, message })

export const CreateWorkspaceRequest = Schema.Struct({
  name: Names.WorkspaceName,
  ...workspaceSettings
}).annotate({ identifier: "CreateWorkspaceRequest" })

export const UpdateWorkspaceRequest = Schema.Struct({
  name: Unchangeable("a workspace's name cannot be changed"),
  ...workspaceSettings
}).annotate({ identifier: "UpdateWorkspaceRequest" })

export const Workspace = Schema.Struct({
  name: Schema.String,
  default_algorithm: Names.Algorithm,
  auto_create_biz_tags: Schema.Boolean,
  max_auto_biz_tags: Schema.Int,
  default_fallback: Schema.Array(Names.Algorithm),
  rate_limit: Schema.NullOr(RateLimit),
  created_at: Timestamp
}).annotate({ identifier: "Workspace" })
const FormatTemplate = StoredText.check(Schema.isMinLength(1), Schema.isMaxLength(200)).annotate({
  description: "e.g. WB{YYYYMMDD}{SEQ:8}; required for algorithm formatted. Tokens: {YYYY} {MM} {DD} {HH} {mm} {ss} " +
    "{YYYYMMDD} (UTC, zero-padded), {SEQ} (the counter, unpadded), {SEQ:n} (zero-padded to n digits), {DC} (datacenter id, " +
    "one digit 0-7), {WORKER} (worker id, three digits 000-255); anything else is literal"
})
const OptionalFormatTemplate = Schema.optional(Schema.NullOr(FormatTemplate)).annotate({
  message: "must be a string or null"
})

/**
 * A biz_tag's base step: a positive safe integer here (its column is a bigint); the server
 * refuses one above the largest step in force (`segment.max_step`), naming it.
 */
const Step = PositiveIntUpTo(Number.MAX_SAFE_INTEGER)

export const CreateBizTagRequest = Schema.Struct({
  group: Names.GroupName,
  name: Names.BizTagName,
  algorithm: Names.Algorithm,
  fallback: Schema.optional(Fallback),
  step: Schema.optional(Step).annotate({ description: "Base step of segment allocation (at most segment.max_step)" }),
  format_template: OptionalFormatTemplate
}).annotate({ identifier: "CreateBizTagRequest" })

export const UpdateBizTagRequest = Schema.Struct({
  group: Unchangeable("a biz_tag cannot be moved to another group (create one there instead)"),
  name: Unchangeable("a biz_tag cannot be renamed (create one with the new name instead)"),
  algorithm: Schema.optional(Names.Algorithm),
  fallback: Schema.optional(Fallback),
  step: Schema.optional(Step),
  format_template: OptionalFormatTemplate
}).annotate({ identifier: "UpdateBizTagRequest" })

export const BizTag = Schema.Struct({
  workspace: Schema.String,
  group: Schema.String,
  name: Schema.String,
  algorithm: Names.Algorithm,
  fallback: Schema.Array(Names.Algorithm),
  step: Schema.Int,
  format_template: Schema.NullOr(Schema.String),
  created_at: Timestamp,
  updated_at: Timestamp
}).annotate({ identifier: "BizTag" })

export const BizTagWithCapacity = Schema.Struct({
  ...BizTag.fields,
  remaining: Schema.NullOr(Schema.Finite).annotate({
    description: "Numbers left in this datacenter's range (segment and formatted tags), else null"
  })
}).annotate({ identifier: "BizTagWithCapacity" })

export const CreateApiKeyRequest = Schema.Struct({
  name: Schema.optional(Schema.NullOr(StoredText.check(Schema.isMaxLength(200)))).annotate({
    message: "must be a string or null"
  }),
  expires_at: Schema.optional(Schema.NullOr(
    Schema.String.check(Schema.isPattern(rfc3339, { message: "must be an RFC 3339 date-time" }))
  )).annotate({ message: "must be a string or null" })
}).annotate({ identifier: "CreateApiKeyRequest" })

export const CreatedApiKey = Schema.Struct({
  id: Schema.String,
  key: Schema.String.annotate({ description: "Shown only in this response" }),
  prefix: Schema.String,
  expires_at: Schema.NullOr(Timestamp)
}).annotate({ identifier: "CreatedApiKey" })

export const ApiKeyInfo = Schema.Struct({
  id: Schema.String,
  prefix: Schema.String,
  name: Schema.NullOr(Schema.String),
  created_at: Timestamp,
  expires_at: Schema.NullOr(Timestamp),
  last_used_at: Schema.NullOr(Timestamp).annotate({ description: "Written at most once a minute per key and node" }),
  revoked_at: Schema.NullOr(Timestamp)
}).annotate({ identifier: "ApiKeyInfo" })

export const AuditEntry = Schema.Struct({
  id: Schema.String,
  occurred_at: Timestamp,
  event_type: Schema.String.annotate({ description: "operator, key_use_failure or degradation" }),
  actor: Schema.NullOr(Schema.String),
  action: Schema.String,
  resource: Schema.String,
  result: Schema.String,
  node: Schema.String,
  workspace: Schema.NullOr(Schema.String),
  details: Schema.Unknown
}).annotate({ identifier: "AuditEntry" })

const page = <S extends Schema.Top>(item: S, identifier: string) =>
  Schema.Struct({
    items: Schema.Array(item),
    next_cursor: Schema.NullOr(Schema.String).annotate({ description: "Pass as cursor for the next page; null on the last" })
  }).annotate({ identifier })

const QueryTimestamp = Schema.String.check(Schema.isPattern(rfc3339, { message: "must be an RFC 3339 date-time" }))
const pageQuery = (maximum: number) => ({
  limit: Schema.optional(Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum }))).annotate({
    description: `Items per page, 1..${maximum} (default 100)`
  }),
  cursor: Schema.optional(Schema.String).annotate({ description: "next_cursor of the previous page" })
})

const workspaceParams = { ws: Names.WorkspaceName }
const bizTagParams = { ...workspaceParams, group: Names.GroupName, name: Names.BizTagName }

export class AdminApi extends HttpApiGroup.make("admin")
  .add(
    HttpApiEndpoint.post("createWorkspace", "/workspaces", {
      payload: CreateWorkspaceRequest,
      success: Workspace.pipe(HttpApiSchema.status(201)),
      error: [WireError.Conflict, ...WireError.common]
    }),
    HttpApiEndpoint.get("listWorkspaces", "/workspaces", {
      success: Schema.Array(Workspace),
      error: WireError.common
    }),
    HttpApiEndpoint.get("getWorkspace", "/workspaces/:ws", {
      params: workspaceParams,
      success: Workspace,
      error: [WireError.NotFound, ...WireError.common]
    }),
    HttpApiEndpoint.patch("updateWorkspace", "/workspaces/:ws", {
      params: workspaceParams,
      payload: UpdateWorkspaceRequest,
      success: Workspace,
      error: [WireError.BadRequest, WireError.NotFound, ...WireError.common]
    }),
    HttpApiEndpoint.post("createBizTag", "/workspaces/:ws/biz-tags", {
      params: workspaceParams,
      payload: CreateBizTagRequest,
      success: BizTag.pipe(HttpApiSchema.status(201)),
      error: [WireError.BadRequest, WireError.NotFound, WireError.Conflict, ...WireError.common]
    }),
    HttpApiEndpoint.get("listBizTags", "/workspaces/:ws/biz-tags", {
      params: workspaceParams,
      success: Schema.Array(BizTagWithCapacity),
      error: [WireError.NotFound, ...WireError.common]
    }),
    HttpApiEndpoint.patch("updateBizTag", "/workspaces/:ws/biz-tags/:group/:name", {
      params: bizTagParams,
      payload: UpdateBizTagRequest,
      success: BizTag,
      error: [WireError.BadRequest, WireError.NotFound, WireError.Conflict, ...WireError.common]
    }),
    HttpApiEndpoint.delete("deleteBizTag", "/workspaces/:ws/biz-tags/:group/:name", {
      params: bizTagParams,
      success: HttpApiSchema.NoContent,
      error: [WireError.NotFound, ...WireError.common]
    }),
    HttpApiEndpoint.post("createApiKey", "/workspaces/:ws/api-keys", {
      params: workspaceParams,
      // The body is optional: an empty one means "no name, never expires".
      payload: [CreateApiKeyRequest, Schema.Null],
      success: CreatedApiKey.pipe(HttpApiSchema.status(201)),
      error: [WireError.BadRequest, WireError.NotFound, ...WireError.common]
    }),
    HttpApiEndpoint.get("listApiKeys", "/workspaces/:ws/api-keys", {
      params: workspaceParams,
      query: pageQuery(1000),
      success: page(ApiKeyInfo, "ApiKeyPage"),
      error: [WireError.BadRequest, WireError.NotFound, ...WireError.common]
    }),
    HttpApiEndpoint.delete("revokeApiKey", "/workspaces/:ws/api-keys/:id", {
      params: { ...workspaceParams, id: Schema.NonEmptyString },
      success: HttpApiSchema.NoContent,
      error: [WireError.NotFound, ...WireError.common]
    }),
    HttpApiEndpoint.get("listAudit", "/audit", {
      query: {
        since: Schema.optional(QueryTimestamp).annotate({ description: "Events at or after (RFC 3339)" }),
        until: Schema.optional(QueryTimestamp).annotate({ description: "Events before (RFC 3339)" }),
        action: Schema.optional(AuditActions.Action).annotate({ description: "One of the audit log's actions, e.g. create_workspace, delete_biz_tag" }),
        actor: Schema.optional(StoredText),
        workspace: Schema.optional(Names.WorkspaceName),
        ...pageQuery(1000)
      },
      success: page(AuditEntry, "AuditPage"),
      error: [WireError.BadRequest, ...WireError.common]
    })
  )
  // An unknown field (a typo of an optional one) is refused, not silently dropped as a no-op.
  .annotate(HttpApi.PayloadParseOptions, { onExcessProperty: "error" })
  .middleware(RequestValidation)
  .middleware(AdminAuth)
  .prefix("/api/v1/admin")
  .annotateMerge(OpenApi.annotations({ title: "Operator", description: "Workspaces, biz_tags, API keys, audit log (admin token)" }))
{}
