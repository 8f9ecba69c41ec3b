/**
 * IDGEN errors as gRPC statuses, per the contract's error table: the status code of the
 * error's row, its message as the status details, and its IDGEN code in trailing metadata
 * `idgen-error-code` (plus `retry-after`, in seconds, for IDGEN-COMMON-0003, as HTTP does).
 * The message in gRPC's words: the pipeline behind every interface (`IdRequests`,
 * `Admission`) speaks of a request body and the X-API-Key header; gRPC has request messages
 * and carries the key in metadata `x-api-key`.
 */
import { Metadata, type StatusObject, status as Status } from "@grpc/grpc-js"
import { Errors } from "@idgen/core"

export const errorCodeKey = "idgen-error-code"
export const retryAfterKey = "retry-after"

const statusByTag: { readonly [K in Errors.IdgenError["_tag"]]: Status } = {
  InvalidRequest: Status.INVALID_ARGUMENT,
  Unauthorized: Status.UNAUTHENTICATED,
  RateLimitExceeded: Status.RESOURCE_EXHAUSTED,
  InternalError: Status.INTERNAL,
  ServiceUnavailable: Status.UNAVAILABLE,
  Forbidden: Status.PERMISSION_DENIED,
  NotFound: Status.NOT_FOUND,
  Conflict: Status.ALREADY_EXISTS,
  SegmentExhausted: Status.RESOURCE_EXHAUSTED,
  SegmentAllocateFailed: Status.INTERNAL,
  DatabaseUnavailable: Status.UNAVAILABLE,
  ClockBackward: Status.INTERNAL,
  SequenceOverflow: Status.RESOURCE_EXHAUSTED,
  NoAvailableWorkerId: Status.UNAVAILABLE,
  UuidGenerateFailed: Status.INTERNAL
}

const grpcWording: ReadonlyArray<readonly [RegExp, string]> = [
  [/^Missing X-API-Key header$/, "Missing x-api-key metadata"],
  [/^Invalid request body\b/, "Invalid request message"],
  [/^Request body too large\b/, "Request message too large"]
]

/** `message` with HTTP's words for what gRPC calls otherwise replaced. */
const inGrpcWords = (message: string): string =>
  grpcWording.reduce((text, [http, grpc]) => text.replace(http, grpc), message)

/** The gRPC status code of an IDGEN error. */
export const statusOf = (error: Errors.IdgenError): Status => statusByTag[error._tag]

/** The status a handler answers with for `error`. */
export const toStatus = (error: Errors.IdgenError): StatusObject => {
  const metadata = new Metadata()
  metadata.set(errorCodeKey, Errors.codeOf(error))
  const retryAfter = Errors.retryAfterOf(error)
  if (retryAfter !== undefined) metadata.set(retryAfterKey, String(retryAfter))
  return { code: statusOf(error), details: inGrpcWords(error.message), metadata }
}
