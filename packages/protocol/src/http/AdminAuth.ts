/**
 * Authentication of the operator API, as an HttpApi middleware tag:
 * `Authorization: Bearer <admin token>`. An accepted request gets its `Operator`. The
 * server implements it.
 */
import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "effect/http-api"
import { Operator } from "./Operator.ts"
import * as WireError from "./WireError.ts"

export const adminSecurity = HttpApiSecurity.bearer.pipe(
  HttpApiSecurity.annotate(OpenApi.Description, "The admin token (config admin.token / IDGEN_ADMIN_TOKEN)")
)

export class AdminAuth extends HttpApiMiddleware.Service<AdminAuth, {
  provides: Operator
}>()("@idgen/protocol/http/AdminAuth", {
  security: { adminToken: adminSecurity },
  error: WireError.Unauthorized
}) {}
