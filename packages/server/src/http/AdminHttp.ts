/**
 * Handlers of the operator API. Requests are already authenticated and shape-checked;
 * here live the cross-field rules (fallback chains, format templates) and the mapping
 * between storage records and the snake_case wire bodies.
 */
import { Errors, type Names } from "@idgen/core"
import { Api, type RateLimit } from "@idgen/protocol/http"
import * as Template from "@idgen/core/formatted/Template"
import { Effect, Layer, Result } from "effect"
import { HttpApiBuilder, type HttpApiGroup } from "effect/http-api"
import type { AuditLog } from "../audit/AuditLog.ts"
import { AuditQuery } from "../audit/AuditQuery.ts"
import { audited } from "../audit/Operator.ts"
import type { AdminToken } from "../auth/AdminToken.ts"
import { ApiKeys } from "../auth/ApiKeys.ts"
import { currentConfig, type LiveConfig } from "../config/HotReload.ts"
import { ServerConfig } from "../config/ServerConfig.ts"
import { TagResolver } from "../generate/TagResolver.ts"
import { ApiKeyRepo } from "../storage/ApiKeyRepo.ts"
import { BizTagRepo, type BizTagSettings } from "../storage/BizTagRepo.ts"
import * as Page from "../storage/Page.ts"
import type { ApiKeyListing, BizTagRecord, RateLimit as RateLimitRecord, WorkspaceRecord } from "../storage/Records.ts"
import { SegmentRepo } from "../storage/SegmentRepo.ts"
import { WorkspaceRepo } from "../storage/WorkspaceRepo.ts"
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

/** Algorithms whose IDs come from the biz_tag's segment counter. */
const usesSegments = (algorithm: Names.Algorithm) => algorithm === "segment" || algorithm === "formatted"

const invalid = (field: string, message: string, extra: Record<string, unknown> = {}) =>
  new Errors.InvalidRequest({
    message: `Invalid request body: ${field}: ${message}`,
    details: { location: "body", errors: [{ field, message }], ...extra }
  })

/** The rules a biz_tag's settings must satisfy as a whole (create, and after a patch). */
const validateSettings = (settings: BizTagSettings): Result.Result<BizTagSettings, Errors.InvalidRequest> => {
  const { algorithm, fallback, formatTemplate } = settings
  if (fallback.includes(algorithm)) {
    return Result.fail(invalid("fallback", `must not contain the primary algorithm ${algorithm}`))
  }
  if (new Set(fallback).size !== fallback.length) {
    return Result.fail(invalid("fallback", "must not repeat an algorithm"))
  }
  const needsTemplate = algorithm === "formatted" || fallback.includes("formatted")
  if (formatTemplate === null) {
    return needsTemplate
      ? Result.fail(invalid("format_template", "is required for the formatted algorithm"))
      : Result.succeed(settings)
  }
  const compiled = Template.compile(formatTemplate)
  if (Result.isFailure(compiled)) {
    return Result.fail(invalid("format_template", compiled.failure.message, { template: formatTemplate }))
  }
  const decimal = [algorithm, ...fallback].find((a) => a === "segment" || a === "snowflake")
  if (needsTemplate && decimal !== undefined && Template.rendersOnlyDigits(compiled.success)) {
    return Result.fail(invalid(
      "format_template",
      `format template ${JSON.stringify(formatTemplate)} renders plain numbers, which could equal the ${decimal} IDs ` +
        `of the same biz_tag; give it a non-digit literal (e.g. a prefix) or take ${decimal} out of the chain`,
      { template: formatTemplate }
    ))
  }
  return Result.succeed(settings)
}

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

/** A workspace's default fallback chain (of the biz_tags it auto-creates), with its default algorithm. */
const validateDefaults = (
  algorithm: Names.Algorithm,
  fallback: ReadonlyArray<Names.Algorithm>
): Result.Result<void, Errors.InvalidRequest> => {
  if (fallback.includes("formatted")) {
    return Result.fail(invalid("default_fallback", "must not contain formatted (auto-created biz_tags have no template)"))
  }
  if (fallback.includes(algorithm)) {
    return Result.fail(invalid("default_fallback", `must not contain the default algorithm ${algorithm}`))
  }
  if (new Set(fallback).size !== fallback.length) return Result.fail(invalid("default_fallback", "must not repeat an algorithm"))
  return Result.succeed(undefined)
}

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
    const workspaces = yield* WorkspaceRepo
    const bizTags = yield* BizTagRepo
    const resolver = yield* TagResolver
    const segments = yield* SegmentRepo
    const apiKeys = yield* ApiKeys
    const keyRepo = yield* ApiKeyRepo
    const auditQuery = yield* AuditQuery
    const config = yield* ServerConfig
    const current = yield* currentConfig

    const requireWorkspace = (name: Names.WorkspaceName) =>
      Effect.flatMap(workspaces.findByName(name), (found) =>
        found._tag === "Some"
          ? Effect.succeed(found.value)
          : Effect.fail(
            new Errors.NotFound({ message: `Workspace ${name} does not exist`, details: { workspace: name } })
          ))

    const withCapacity = (
      record: BizTagRecord
    ): Effect.Effect<ReturnType<typeof toBizTag> & { remaining: number | null }, Errors.DatabaseUnavailable> =>
      usesSegments(record.algorithm)
        ? Effect.map(segments.remaining(record.id, config.node.datacenterId), (remaining) => ({
          ...toBizTag(record),
          remaining
        }))
        : Effect.succeed({ ...toBizTag(record), remaining: null })

    return handlers
      .handle("createWorkspace", ({ payload }) =>
        Effect.map(
          workspaces.create({
            name: payload.name,
            defaultAlgorithm: payload.default_algorithm ?? "segment",
            autoCreateBizTags: payload.auto_create_biz_tags ?? true,
            maxAutoBizTags: payload.max_auto_biz_tags,
            rateLimit: payload.rate_limit == null ? null : rateLimitOf(payload.rate_limit)
          }),
          toWorkspace
        ).pipe(audited("create_workspace", (created) => ({
          resource: `workspace:${created.name}`,
          details: {
            default_algorithm: created.default_algorithm,
            auto_create_biz_tags: created.auto_create_biz_tags,
            max_auto_biz_tags: created.max_auto_biz_tags,
            rate_limit: created.rate_limit
          }
        }))))
      .handle("listWorkspaces", () => Effect.map(workspaces.list(), (all) => all.map(toWorkspace)))
      .handle("getWorkspace", ({ params }) => Effect.map(requireWorkspace(params.ws), toWorkspace))
      .handle("updateWorkspace", ({ params, payload }) =>
        requireWorkspace(params.ws).pipe(
          Effect.flatMap((current) =>
            Effect.fromResult(validateDefaults(
              payload.default_algorithm ?? current.defaultAlgorithm,
              payload.default_fallback ?? current.defaultFallback
            ))
          ),
          Effect.andThen(workspaces.update(params.ws, {
            ...(payload.default_algorithm === undefined ? {} : { defaultAlgorithm: payload.default_algorithm }),
            ...(payload.auto_create_biz_tags === undefined ? {} : { autoCreateBizTags: payload.auto_create_biz_tags }),
            ...(payload.max_auto_biz_tags === undefined ? {} : { maxAutoBizTags: payload.max_auto_biz_tags }),
            ...(payload.default_fallback === undefined ? {} : { defaultFallback: payload.default_fallback }),
            ...(payload.rate_limit === undefined
              ? {}
              : {
                rateLimit: payload.rate_limit === null ? null : rateLimitOf(payload.rate_limit)
              })
          })),
          Effect.map(toWorkspace),
          // The fields the request changed, as sent.
          audited("update_workspace", (updated) => ({ resource: `workspace:${updated.name}`, details: { ...payload } }))
        ))
      .handle("createBizTag", ({ params, payload }) =>
        Effect.flatMap(
          Effect.fromResult(validateSettings({
            algorithm: payload.algorithm,
            fallback: payload.fallback ?? [],
            step: payload.step ?? current().segment.defaultStep,
            formatTemplate: payload.format_template ?? null
          })),
          (settings) =>
            Effect.map(
              bizTags.create({ workspace: params.ws, group: payload.group, bizTag: payload.name }, settings),
              toBizTag
            )
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
        requireWorkspace(params.ws).pipe(
          Effect.andThen(bizTags.list(params.ws)),
          Effect.flatMap((all) => Effect.forEach(all, withCapacity, { concurrency: 4 }))
        ))
      .handle("updateBizTag", ({ params, payload }) => {
        const key = { workspace: params.ws, group: params.group, bizTag: params.name }
        return bizTags.find(key).pipe(
          Effect.flatMap((found) =>
            found._tag === "Some"
              ? Effect.succeed(found.value)
              : Effect.fail(
                new Errors.NotFound({
                  message: `Biz tag ${params.group}/${params.name} does not exist in workspace ${params.ws}`,
                  details: { workspace: params.ws, group: params.group, biz_tag: params.name }
                })
              )
          ),
          Effect.flatMap((current) =>
            Effect.fromResult(validateSettings({
              algorithm: payload.algorithm ?? current.algorithm,
              fallback: payload.fallback ?? current.fallback,
              step: payload.step ?? current.step,
              formatTemplate: payload.format_template === undefined ? current.formatTemplate : payload.format_template
            }))
          ),
          Effect.andThen(
            bizTags.update(key, {
              ...(payload.algorithm === undefined ? {} : { algorithm: payload.algorithm }),
              ...(payload.fallback === undefined ? {} : { fallback: payload.fallback }),
              ...(payload.step === undefined ? {} : { step: payload.step }),
              ...(payload.format_template === undefined ? {} : { formatTemplate: payload.format_template })
            })
          ),
          // Every node drops its cached copy (TagResolver: within 2 s).
          Effect.tap(() => resolver.changed(key)),
          Effect.map(toBizTag),
          // The fields the request changed, as sent.
          audited("update_biz_tag", (updated) => ({ resource: bizTagResource(updated), details: { ...payload } }))
        )
      })
      .handle("deleteBizTag", ({ params }) => {
        const key = { workspace: params.ws, group: params.group, bizTag: params.name }
        return bizTags.remove(key).pipe(
          // Every node stops answering for it (TagResolver: within 2 s).
          Effect.andThen(resolver.changed(key)),
          audited("delete_biz_tag", () => ({
            resource: bizTagResource({ workspace: params.ws, group: params.group, name: params.name }),
            details: {}
          }))
        )
      })
      .handle("createApiKey", ({ params, payload }) => {
        const expiresAt = payload?.expires_at == null ? null : new Date(payload.expires_at)
        if (expiresAt !== null && Number.isNaN(expiresAt.getTime())) {
          return Effect.fail(invalid("expires_at", "is not a valid date-time"))
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
          return toWirePage(found, (entry) => ({
            id: entry.id,
            occurred_at: entry.occurredAt.toISOString(),
            event_type: entry.eventType,
            actor: entry.actor,
            action: entry.action,
            resource: entry.resource,
            result: entry.result,
            node: entry.node,
            workspace: entry.workspace,
            details: entry.details
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
  | WorkspaceRepo
  | BizTagRepo
  | SegmentRepo
  | ApiKeys
  | ApiKeyRepo
  | AdminToken
  | AuditLog
  | ServerConfig
  | LiveConfig
  | TagResolver
  | AuditQuery
> = AdminHandlers.pipe(Layer.provide([AdminMiddleware.layer, RequestValidation.layer]))
