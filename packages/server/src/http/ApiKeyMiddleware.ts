/**
 * Authentication of the ID endpoints: header `X-API-Key`. A verified key gives handlers
 * the workspace it belongs to, as `CurrentWorkspace`. The workspace's and the client
 * address's rate limits are taken here too (`RateLimiter`, as on the fast path).
 */
import type { Names } from "@idgen/core"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { HttpServerRequest } from "effect/http"
import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "effect/http-api"
import { ApiKeys } from "../auth/ApiKeys.ts"
import { RateLimiter, toEffect } from "../ratelimit/RateLimiter.ts"
import * as WireError from "./WireError.ts"

/** The workspace of the request's API key. */
export class CurrentWorkspace extends Context.Service<CurrentWorkspace, Names.WorkspaceName>()(
  "@idgen/server/http/CurrentWorkspace"
) {}

export const apiKeySecurity = HttpApiSecurity.apiKey({ key: "X-API-Key", in: "header" }).pipe(
  HttpApiSecurity.annotate(
    OpenApi.Description,
    "idgen_<workspace>_<32 lowercase hex>, created through the operator API"
  )
)

export class ApiKeyAuth extends HttpApiMiddleware.Service<ApiKeyAuth, {
  provides: CurrentWorkspace
}>()("@idgen/server/http/ApiKeyAuth", {
  security: { apiKey: apiKeySecurity },
  error: [WireError.Unauthorized, WireError.TooManyRequests, WireError.Unavailable]
}) {}

export const ApiKeyAuthLive: Layer.Layer<ApiKeyAuth, never, ApiKeys | RateLimiter> = Layer.effect(
  ApiKeyAuth,
  Effect.gen(function*() {
    const apiKeys = yield* ApiKeys
    const limiter = yield* RateLimiter
    return ApiKeyAuth.of({
      apiKey: (httpEffect, { credential }) =>
        Effect.flatMap(apiKeys.verify(Redacted.value(credential)), (workspace) =>
          Effect.flatMap(Effect.service(HttpServerRequest.HttpServerRequest), (request) =>
            Effect.andThen(
              toEffect(limiter.admit(workspace, Option.getOrUndefined(request.remoteAddress))),
              Effect.provideService(httpEffect, CurrentWorkspace, workspace)
            )))
    })
  })
)
