/**
 * Authentication of the ID endpoints, as an HttpApi middleware tag: header `X-API-Key`. A
 * verified key gives handlers the workspace it belongs to, as `CurrentWorkspace`. The
 * server implements it.
 */
import type { Names } from "@idgen/core"
import { Context } from "effect"
import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "effect/http-api"
import * as WireError from "./WireError.ts"

/** The workspace of the request's API key. */
export class CurrentWorkspace extends Context.Service<CurrentWorkspace, Names.WorkspaceName>()(
  "@idgen/protocol/http/CurrentWorkspace"
) {}

export const apiKeySecurity = HttpApiSecurity.apiKey({ key: "X-API-Key", in: "header" }).pipe(
  HttpApiSecurity.annotate(
    OpenApi.Description,
    "idgen_<workspace>_<32 lowercase hex>, created through the operator API"
  )
)

export class ApiKeyAuth extends HttpApiMiddleware.Service<ApiKeyAuth, {
  provides: CurrentWorkspace
}>()("@idgen/protocol/http/ApiKeyAuth", {
  security: { apiKey: apiKeySecurity },
  error: [WireError.Unauthorized, WireError.TooManyRequests, WireError.Unavailable]
}) {}
