/**
 * `@idgen/protocol/http`: idgen's HTTP contract as one `HttpApi` — the endpoints, their
 * request and response schemas, the error body of every IDGEN error and the middleware
 * tags (authentication, request validation). The server implements it; clients derive
 * theirs from it with `HttpApiClient.make(Api)`. No Node-only code.
 */
export * from "./AdminApi.ts"
export { AdminAuth, adminSecurity } from "./AdminAuth.ts"
export { Api } from "./Api.ts"
export { ApiKeyAuth, apiKeySecurity, CurrentWorkspace } from "./ApiKeyAuth.ts"
export { CurrentRequestId } from "./CurrentRequestId.ts"
export * from "./DegradationApi.ts"
export * from "./IdsApi.ts"
export * from "./OperationsApi.ts"
export { Operator, type OperatorAction } from "./Operator.ts"
export { RequestValidation } from "./RequestValidation.ts"
export * from "./SystemApi.ts"
export * as WireError from "./WireError.ts"
