/**
 * Handlers of the operator API. Requests are already authenticated and shape-checked;
 * the tenancy rules (defaults, fallback chains, format templates, cache invalidation) are
 * `tenancy/`'s. Here: the mapping between records and the snake_case wire bodies, and the
 * audit trail of each action.
 */
import { Errors } from "@idgen/core"
import { Api, type RateLimit } from "@idgen/protocol/http"
import { Effect, Layer, Result } from "effect"
import { HttpApiBuilder, type HttpApiGroup } from "effect/http-api"
import type { AuditLog } from "../audit/AuditLog.ts"
import { AuditQuery } from "../audit/AuditQuery.ts"
import { audited } from "../audit/Operator.ts"
import type { AdminToken } from "../auth/AdminToken.ts"
import { ApiKeys } from "../auth/ApiKeys.ts"
import type { ServerConfig } from "../config/ServerConfig.ts"
import { ApiKeyRepo } from "../storage/ApiKeyRepo.ts"
import * as Page from "../storage/Page.ts"
import type { ApiKeyListing, BizTagRecord, RateLimit as RateLimitRecord, WorkspaceRecord } from "../storage/Records.ts"
import { BizTags } from "../tenancy/BizTags.ts"
import { invalidField } from "../tenancy/InvalidField.ts"
import { Workspaces } from "../tenancy/Workspaces.ts"
import * as AdminMiddleware from "./AdminMiddleware.ts"
import * as RequestValidation from "./RequestValidation.ts"

const toWorkspace = (record: WorkspaceRecord) => ({
  name: record.name,
  default_algorithm: record.defaultAlgorithm,
  auto_create_biz_tags: record.autoCreateBizTags,
  max_auto_biz_tags: record.maxAutoBizTags,
  default_fallback: record.defaultFallback,
  rate_limit: record.rateLimit === null ? null : {
    per_second: record.rateLimit.perSecond,
    burst: record.rateLimit.burst,
    ...(record.rateLimit.ids === undefined
      ? {}
      : { ids_per_second: record.rateLimit.ids.perSecond, ids_burst: record.rateLimit.ids.burst })
  },
  created_at: record.createdAt.toISOString()
})

const rateLimitOf = (wire: typeof RateLimit.Type): RateLimitRecord => ({
  perSecond: wire.per_second,
  burst: wire.burst,
  ids: wire.ids_per_second === undefined
    ? undefined
    : { perSecond: wire.ids_per_second, burst: wire.ids_burst ?? wire.ids_per_second }
})

const bizTagResource = (tag: { readonly workspace: string; readonly group: string; readonly name: string }) =>
  `biz_tag:${tag.workspace}/${tag.group}/${tag.name}`

const toBizTag = (record: BizTagRecord) => ({
  workspace: record.workspace,
  group: record.group,
  name: record.name,
  algorithm: record.algorithm,
  fallback: record.fallback,
  step: record.step,
  format_template: record.formatTemplate,
  created_at: record.createdAt.toISOString(),
  updated_at: record.updatedAt.toISOString()
})

const toApiKey = (key: ApiKeyListing) => ({
  id: key.id,
  prefix: key.prefix,
  name: key.name,
  created_at: key.createdAt.toISOString(),
  expires_at: key.expiresAt?.toISOString() ?? null,
  last_used_at: key.lastUsedAt?.toISOString() ?? null,
  revoked_at: key.revokedAt?.toISOString() ?? null
})

const toWirePage = <A, B>(page: Page.Page<A>, toItem: (a: A) => B) => ({
  items: page.items.map(toItem),
  next_cursor: page.next === null ? null : Page.encode(page.next)
})

/** The page a list request asks for; 400 for a cursor that is not one of ours. */
const pageRequest = (
  query: { readonly limit?: number | undefined; readonly cursor?: string | undefined },
  idFormat: RegExp
): Result.Result<Page.PageRequest, Errors.InvalidRequest> => {
  const limit = query.limit ?? 100
  if (query.cursor === undefined) return Result.succeed({ limit, after: undefined })
  const after = Page.decode(query.cursor, idFormat)
  return after === undefined
    ? Result.fail(
      new Errors.InvalidRequest({
        message: "Invalid request query: cursor: not a cursor of this list (pass next_cursor as given)",
        details: { location: "query", errors: [{ field: "cursor", message: "not a cursor of this list" }] }
      })
    )
    : Result.succeed({ limit, after })
}

const uuidFormat = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const auditIdFormat = /^[1-9][0-9]{0,18}$/

/** A timestamp from the query (its shape already checked); 400 when it is not a real date. */
const queryDate = (field: string, text: string | undefined): Result.Result<Date | undefined, Errors.InvalidRequest> => {
  if (text === undefined) return Result.succeed(undefined)
  const date = new Date(text)
  return Number.isNaN(date.getTime())
    ? Result.fail(
      new Errors.InvalidRequest({
        message: `Invalid request query: ${field}: is not a valid date-time`,
        details: { location: "query", errors: [{ field, message: "is not a valid date-time" }] }
      })
    )
    : Result.succeed(date)
}

const AdminHandlers = HttpApiBuilder.group(
  Api,
  "admin",
  Effect.fnUntraced(function*(handlers) {
    const workspaces = yield* Workspaces
    const bizTags = yield* BizTags
    const apiKeys = yield* ApiKeys
    const keyRepo = yield* ApiKeyRepo
    const auditQuery = yield* AuditQuery

    return handlers
      .handle("createWorkspace", ({ payload }) =>
        Effect.map(
          workspaces.create({
            name: payload.name,
            defaultAlgorithm: payload.default_algorithm,
            autoCreateBizTags: payload.auto_create_biz_tags,
            maxAutoBizTags: payload.max_auto_biz_tags,
            defaultFallback: payload.default_fallback,
            rateLimit: payload.rate_limit == null ? null : rateLimitOf(payload.rate_limit)
          }),
          toWorkspace
        ).pipe(audited("create_workspace", (created) => ({
          resource: `workspace:${created.name}`,
          details: {
            default_algorithm: created.default_algorithm,
            auto_create_biz_tags: created.auto_create_biz_tags,
            max_auto_biz_tags: created.max_auto_biz_tags,
            default_fallback: created.default_fallback,
            rate_limit: created.rate_limit
          }
        }))))
      .handle("listWorkspaces", () => Effect.map(workspaces.list(), (all) => all.map(toWorkspace)))
      .handle("getWorkspace", ({ params }) => Effect.map(workspaces.get(params.ws), toWorkspace))
      .handle("updateWorkspace", ({ params, payload }) =>
        workspaces.update(params.ws, {
          ...(payload.default_algorithm === undefined ? {} : { defaultAlgorithm: payload.default_algorithm }),
          ...(payload.auto_create_biz_tags === undefined ? {} : { autoCreateBizTags: payload.auto_create_biz_tags }),
          ...(payload.max_auto_biz_tags === undefined ? {} : { maxAutoBizTags: payload.max_auto_biz_tags }),
          ...(payload.default_fallback === undefined ? {} : { defaultFallback: payload.default_fallback }),
          ...(payload.rate_limit === undefined
            ? {}
            : { rateLimit: payload.rate_limit === null ? null : rateLimitOf(payload.rate_limit) })
        }).pipe(
          Effect.map(toWorkspace),
          // The fields the request changed, as sent.
          audited("update_workspace", (updated) => ({ resource: `workspace:${updated.name}`, details: { ...payload } }))
        ))
      .handle("createBizTag", ({ params, payload }) =>
        Effect.map(
          bizTags.create({ workspace: params.ws, group: payload.group, bizTag: payload.name }, {
            algorithm: payload.algorithm,
            fallback: payload.fallback,
            step: payload.step,
            formatTemplate: payload.format_template
          }),
          toBizTag
        ).pipe(audited("create_biz_tag", (created) => ({
          resource: bizTagResource(created),
          details: {
            algorithm: created.algorithm,
            fallback: created.fallback,
            step: created.step,
            format_template: created.format_template
          }
        }))))
      .handle("listBizTags", ({ params }) =>
        Effect.map(
          bizTags.list(params.ws),
          (all) => all.map(({ record, remaining }) => ({ ...toBizTag(record), remaining }))
        ))
      .handle("updateBizTag", ({ params, payload }) =>
        bizTags.update({ workspace: params.ws, group: params.group, bizTag: params.name }, {
          ...(payload.algorithm === undefined ? {} : { algorithm: payload.algorithm }),
          ...(payload.fallback === undefined ? {} : { fallback: payload.fallback }),
          ...(payload.step === undefined ? {} : { step: payload.step }),
          ...(payload.format_template === undefined ? {} : { formatTemplate: payload.format_template })
        }).pipe(
          Effect.map(toBizTag),
          // The fields the request changed, as sent.
          audited("update_biz_tag", (updated) => ({ resource: bizTagResource(updated), details: { ...payload } }))
        ))
      .handle("deleteBizTag", ({ params }) =>
        bizTags.remove({ workspace: params.ws, group: params.group, bizTag: params.name }).pipe(
          audited("delete_biz_tag", () => ({
            resource: bizTagResource({ workspace: params.ws, group: params.group, name: params.name }),
            details: {}
          }))
        ))
      .handle("createApiKey", ({ params, payload }) => {
        const expiresAt = payload?.expires_at == null ? null : new Date(payload.expires_at)
        if (expiresAt !== null && Number.isNaN(expiresAt.getTime())) {
          return Effect.fail(invalidField("expires_at", "is not a valid date-time"))
        }
        return apiKeys.create(params.ws, { name: payload?.name ?? null, expiresAt }).pipe(
          // The key itself is a secret: only its id and public prefix go into the trail.
          audited("create_api_key", (created) => ({
            resource: `api_key:${created.id}`,
            details: { workspace: params.ws, name: payload?.name ?? null, prefix: created.prefix, expires_at: created.expires_at }
          }))
        )
      })
      .handle("listApiKeys", ({ params, query }) =>
        Effect.fromResult(pageRequest(query, uuidFormat)).pipe(
          Effect.flatMap((page) => keyRepo.list(params.ws, page)),
          Effect.map((page) => toWirePage(page, toApiKey))
        ))
      .handle("listAudit", ({ query }) =>
        Effect.gen(function*() {
          const page = yield* Effect.fromResult(pageRequest(query, auditIdFormat))
          const since = yield* Effect.fromResult(queryDate("since", query.since))
          const until = yield* Effect.fromResult(queryDate("until", query.until))
          const found = yield* auditQuery.list(
            { since, until, action: query.action, actor: query.actor, workspace: query.workspace },
            page
          )
          return toWirePage(found, (row) => ({
            id: row.id,
            occurred_at: row.occurred_at.toISOString(),
            event_type: row.event_type,
            actor: row.actor,
            action: row.action,
            resource: row.resource,
            result: row.result,
            node: row.node,
            workspace: row.workspace,
            details: row.metadata
          }))
        }))
      .handle("revokeApiKey", ({ params }) =>
        apiKeys.revoke(params.ws, params.id).pipe(
          audited("revoke_api_key", () => ({ resource: `api_key:${params.id}`, details: { workspace: params.ws } }))
        ))
  })
)

/** The operator endpoints with their middleware (admin token, request validation). */
export const layer: Layer.Layer<
  HttpApiGroup.Service<"idgen", "admin">,
  never,
  Workspaces | BizTags | ApiKeys | ApiKeyRepo | AdminToken | AuditLog | ServerConfig | AuditQuery
> = AdminHandlers.pipe(Layer.provide([AdminMiddleware.layer, RequestValidation.layer]))
