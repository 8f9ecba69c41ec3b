/**
 * Authentication of the ID endpoints: header `X-API-Key`. The request goes through the
 * node's one `Admission` (key, failed-attempt limit, rate limits), as on the fast path,
 * gRPC and RPC; a verified key gives handlers the workspace it belongs to, as
 * `CurrentWorkspace`.
 */
import { ApiKeyAuth, CurrentWorkspace } from "@idgen/protocol/http"
import { Effect, Layer, Option, Redacted } from "effect"
import { HttpServerRequest } from "effect/http"
import { Admission } from "../requests/Admission.ts"

export const layer: Layer.Layer<ApiKeyAuth, never, Admission> = Layer.effect(
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
