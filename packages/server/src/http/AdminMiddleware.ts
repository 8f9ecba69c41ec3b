/**
 * Authentication of the operator API: `Authorization: Bearer <admin token>`. An accepted
 * request gets its `Operator` (for the audit of what it changes); a refused one — token
 * missing or wrong — is audited as a key-use failure, sampled like bad API keys (`AuditLog`).
 */
import { AdminAuth, Operator } from "@idgen/protocol/http"
import { Effect, Layer, Option, Redacted } from "effect"
import { HttpServerRequest } from "effect/http"
import { AuditLog } from "../audit/AuditLog.ts"
import { fingerprint, make as makeOperator } from "../audit/Operator.ts"
import { AdminToken } from "../auth/AdminToken.ts"

export const layer: Layer.Layer<AdminAuth, never, AdminToken | AuditLog> = Layer.effect(
  AdminAuth,
  Effect.gen(function*() {
    const token = yield* AdminToken
    const audit = yield* AuditLog

    const refused = (presented: string, endpoint: string) =>
      Effect.flatMap(Effect.service(HttpServerRequest.HttpServerRequest), (request) =>
        audit.record({
          eventType: "key_use_failure",
          // A wrong token by its fingerprint only (it may be a mistyped or rotated real one).
          actor: presented === "" ? null : fingerprint(presented),
          action: "verify_admin_token",
          resource: "admin_token",
          result: "failure",
          metadata: {
            reason: presented === "" ? "missing" : "invalid",
            endpoint,
            remote_address: Option.getOrNull(request.remoteAddress)
          }
        }))

    return AdminAuth.of({
      adminToken: (httpEffect, { credential, endpoint }) => {
        const presented = Redacted.value(credential)
        return token.verify(credential).pipe(
          Effect.tapError(() => refused(presented, endpoint.identifier)),
          Effect.andThen(Effect.provideService(httpEffect, Operator, makeOperator(audit, presented)))
        )
      }
    })
  })
)
