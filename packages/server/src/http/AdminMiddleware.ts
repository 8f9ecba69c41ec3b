/**
 * Authentication of the operator API: `Authorization: Bearer <admin token>`.
 */
import { Effect, Layer } from "effect"
import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "effect/http-api"
import { AdminToken } from "../auth/AdminToken.ts"
import * as WireError from "./WireError.ts"

export const adminSecurity = HttpApiSecurity.bearer.pipe(
  HttpApiSecurity.annotate(OpenApi.Description, "The admin token (config admin.token / IDGEN_ADMIN_TOKEN)")
)

export class AdminAuth extends HttpApiMiddleware.Service<AdminAuth>()("@idgen/server/http/AdminAuth", {
  security: { adminToken: adminSecurity },
  error: WireError.Unauthorized
}) {}

export const AdminAuthLive: Layer.Layer<AdminAuth, never, AdminToken> = Layer.effect(
  AdminAuth,
  Effect.map(AdminToken, (token) =>
    AdminAuth.of({
      adminToken: (httpEffect, { credential }) => Effect.andThen(token.verify(credential), httpEffect)
    }))
)
