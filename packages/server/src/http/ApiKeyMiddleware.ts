/**
 * Authentication of the ID endpoints: header `X-API-Key`. The request goes through the
 * node's one `Admission` (key, failed-attempt limit, rate limits), as on the fast path,
 * gRPC and RPC; a verified key gives handlers the workspace it belongs to, as
 * `CurrentWorkspace`.
 */
import type { Names } from "@idgen/core"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { HttpServerRequest } from "effect/http"
import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "effect/http-api"
import { Admission } from "../requests/Admission.ts"
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

export const ApiKeyAuthLive: Layer.Layer<ApiKeyAuth, never, Admission> = Layer.effect(
  ApiKeyAuth,
  Effect.map(Admission, (admission) =>
    ApiKeyAuth.of({
      apiKey: (httpEffect, { credential }) =>
        Effect.flatMap(Effect.service(HttpServerRequest.HttpServerRequest), (request) =>
          Effect.flatMap(
            admission.admit(
              Redacted.value(credential),
              admission.clientAddress(Option.getOrUndefined(request.remoteAddress), request.headers["x-forwarded-for"])
            ),
            (workspace) => Effect.provideService(httpEffect, CurrentWorkspace, workspace)
          ))
    }))
)
