/**
 * The error contract (the IDGEN codes and their statuses), written out independently of
 * the server's own table so that fault drills can tell a contract error from anything else
 * (a stray 500, a stack trace, an HTML page, a dropped connection).
 */
import { status as GrpcStatus } from "@grpc/grpc-js"
import type { Reply } from "./GrpcClient.ts"
import type { Response } from "./ServerProcess.ts"

/** Every IDGEN code with its HTTP status. */
export const contractStatus: Readonly<Record<string, number>> = {
  "IDGEN-COMMON-0001": 400,
  "IDGEN-COMMON-0002": 401,
  "IDGEN-COMMON-0003": 429,
  "IDGEN-COMMON-0004": 500,
  "IDGEN-COMMON-0005": 503,
  "IDGEN-COMMON-0006": 403,
  "IDGEN-COMMON-0007": 404,
  "IDGEN-COMMON-0008": 409,
  "IDGEN-SEG-1001": 500,
  "IDGEN-SEG-1002": 500,
  "IDGEN-SEG-1003": 503,
  "IDGEN-SNOW-2001": 500,
  "IDGEN-SNOW-2002": 500,
  "IDGEN-SNOW-2003": 503,
  "IDGEN-UUID-3001": 500
}

/** Every IDGEN code with its gRPC status. */
export const contractGrpcStatus: Readonly<Record<string, GrpcStatus>> = {
  "IDGEN-COMMON-0001": GrpcStatus.INVALID_ARGUMENT,
  "IDGEN-COMMON-0002": GrpcStatus.UNAUTHENTICATED,
  "IDGEN-COMMON-0003": GrpcStatus.RESOURCE_EXHAUSTED,
  "IDGEN-COMMON-0004": GrpcStatus.INTERNAL,
  "IDGEN-COMMON-0005": GrpcStatus.UNAVAILABLE,
  "IDGEN-COMMON-0006": GrpcStatus.PERMISSION_DENIED,
  "IDGEN-COMMON-0007": GrpcStatus.NOT_FOUND,
  "IDGEN-COMMON-0008": GrpcStatus.ALREADY_EXISTS,
  "IDGEN-SEG-1001": GrpcStatus.RESOURCE_EXHAUSTED,
  "IDGEN-SEG-1002": GrpcStatus.INTERNAL,
  "IDGEN-SEG-1003": GrpcStatus.UNAVAILABLE,
  "IDGEN-SNOW-2001": GrpcStatus.INTERNAL,
  "IDGEN-SNOW-2002": GrpcStatus.RESOURCE_EXHAUSTED,
  "IDGEN-SNOW-2003": GrpcStatus.UNAVAILABLE,
  "IDGEN-UUID-3001": GrpcStatus.INTERNAL
}

/**
 * The gRPC counterpart of `contractViolation`: undefined for a success or a failure with
 * a known `idgen-error-code` and its contract status, otherwise what is wrong with it.
 */
export const grpcContractViolation = (reply: Reply): string | undefined => {
  if (reply.ok) return undefined
  const expected = reply.errorCode === undefined ? undefined : contractGrpcStatus[reply.errorCode]
  const problem = reply.errorCode === undefined
    ? "no idgen-error-code"
    : expected === undefined
    ? `unknown code ${reply.errorCode}`
    : expected !== reply.code
    ? `${reply.errorCode} with status ${GrpcStatus[reply.code]}`
    : reply.details.includes("    at ")
    ? "a stack trace leaked"
    : undefined
  return problem === undefined ? undefined : `${problem}: ${GrpcStatus[reply.code]} ${reply.details.slice(0, 300)}`
}

/**
 * Undefined when `response` is a success (2xx) or an error of the contract: a known code
 * with its status, the documented body fields, the request id echoed in `X-Request-Id`, no
 * stack trace. Otherwise what is wrong with it.
 */
export const contractViolation = (response: Response): string | undefined => {
  if (response.status >= 200 && response.status < 300) return undefined
  const error = response.json?.error
  const problem = error === undefined || typeof error !== "object"
    ? "not an error body"
    : contractStatus[error.code] === undefined
    ? `unknown code ${error.code}`
    : contractStatus[error.code] !== response.status
    ? `${error.code} with status ${response.status}`
    : Object.keys(error).sort().join(",") !== "code,details,message,request_id,timestamp"
    ? "error fields differ from the contract"
    : response.headers.get("x-request-id") !== error.request_id
    ? "X-Request-Id differs from the body's request_id"
    : response.text.includes("    at ")
    ? "a stack trace leaked"
    : undefined
  return problem === undefined ? undefined : `${problem}: ${response.status} ${response.text.slice(0, 300)}`
}
