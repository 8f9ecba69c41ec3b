/**
 * Authentication of the ID endpoints: header `X-API-Key`. A verified key gives handlers
 * the workspace it belongs to, as `CurrentWorkspace`.
 */
import type { Names } from "@idgen/core"
import { Context, Effect, Layer, Redacted } from "effect"
import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "effect/http-api"
import { ApiKeys } from "../auth/ApiKeys.ts"
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
  error: [WireError.Unauthorized, WireError.Unavailable]
}) {}

export const ApiKeyAuthLive: Layer.Layer<ApiKeyAuth, never, ApiKeys> = Layer.effect(
  ApiKeyAuth,
  Effect.map(ApiKeys, (apiKeys) =>
    ApiKeyAuth.of({
      apiKey: (httpEffect, { credential }) =>
        Effect.flatMap(
          apiKeys.verify(Redacted.value(credential)),
          (workspace) => Effect.provideService(httpEffect, CurrentWorkspace, workspace)
        )
    }))
)
