/**
 * The HTTP form of an IDGEN error:
 * `{"error":{"code","message","details","timestamp","request_id"}}` with the status of its
 * class. One schema per status, built by `make`, declares these bodies to HttpApi (and so
 * to OpenAPI); its type side is the core error classes, so handlers simply fail with them.
 */
import { Errors } from "@idgen/core"
import { Clock, Effect, Schema, SchemaIssue, SchemaTransformation } from "effect"
import { HttpEffect, HttpServerResponse } from "effect/http"
import { HttpApiSchema } from "effect/http-api"
import { CurrentRequestId } from "./CurrentRequestId.ts"

export const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    code: Schema.String.annotate({ description: "IDGEN error code, e.g. IDGEN-COMMON-0001" }),
    message: Schema.String,
    details: Schema.Record(Schema.String, Schema.Unknown),
    timestamp: Schema.String.annotate({ description: "RFC 3339" }),
    request_id: Schema.String.annotate({ description: "Also in the X-Request-Id response header" })
  })
}).annotate({ identifier: "ErrorBody" })
export type ErrorBody = typeof ErrorBody.Type

type ErrorClass = (typeof Errors.errorClasses)[number]

const classByCode = new Map<string, ErrorClass>(Errors.errorClasses.map((c) => [c.code, c]))

/** The wire body of an error, at `nowMs`, for request `requestId`. */
export const toBody = (error: Errors.IdgenError, requestId: string, nowMs: number): ErrorBody => ({
  error: {
    code: Errors.codeOf(error),
    message: error.message,
    details: error._tag === "RateLimitExceeded"
      ? { ...error.details, retry_after_seconds: error.retryAfterSeconds }
      : error.details ?? {},
    timestamp: new Date(nowMs).toISOString(),
    request_id: requestId
  }
})

/** Back from the wire (clients): the core error named by the body's code, if it names one. */
export const fromBody = (body: ErrorBody): Errors.IdgenError | undefined => {
  const cls = classByCode.get(body.error.code)
  if (cls === undefined) return undefined
  const { message, details } = body.error
  if (cls === Errors.RateLimitExceeded) {
    const retry = details.retry_after_seconds
    return new Errors.RateLimitExceeded({ message, details, retryAfterSeconds: typeof retry === "number" ? retry : 1 })
  }
  return new (cls as typeof Errors.InvalidRequest)({ message, details })
}

/** `Retry-After` for 429s; a no-op outside a server request. */
const addRetryAfter = (error: Errors.IdgenError) => {
  const retryAfter = Errors.retryAfterOf(error)
  return retryAfter === undefined
    ? Effect.void
    : Effect.withFiber((fiber) => {
      HttpEffect.appendPreResponseHandlerUnsafe(
        fiber.context,
        (_request, response) => Effect.succeed(HttpServerResponse.setHeader(response, "retry-after", String(retryAfter)))
      )
      return Effect.void
    })
}

/** The wire body of `error` for the current request, now. */
export const currentBody = (error: Errors.IdgenError): Effect.Effect<ErrorBody> =>
  Effect.withFiber((fiber) =>
    Effect.succeed(toBody(error, fiber.getRef(CurrentRequestId), fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()))
  )

/**
 * The response schema of all error classes sharing one HTTP status (given in the same
 * order as the contract's table; they must agree on the status).
 */
export const make = <const Classes extends ReadonlyArray<ErrorClass>>(...classes: Classes) => {
  const status = classes[0]!.status
  if (classes.some((c) => c.status !== status)) throw new Error(`WireError.make: mixed statuses in ${classes}`)
  type E = InstanceType<Classes[number]>
  const isError = (u: unknown): u is E => classes.some((c) => u instanceof c)
  const codes = classes.map((c) => c.code).join(", ")
  return ErrorBody.pipe(
    Schema.decodeTo(
      Schema.declare(isError, { identifier: `Error${status}` }),
      SchemaTransformation.transformEffect<E, ErrorBody>({
        decode: (body, options) => {
          const error = fromBody(body)
          return error !== undefined && isError(error)
            ? Effect.succeed(error)
            : Effect.fail(new SchemaIssue.InvalidValue({ message: `Expected one of ${codes}` }, body, options))
        },
        encode: (error) => Effect.andThen(addRetryAfter(error), currentBody(error))
      })
    ),
    HttpApiSchema.status(status)
  ).annotate({ description: `${codes}` })
}

export const BadRequest = make(Errors.InvalidRequest)
export const Unauthorized = make(Errors.Unauthorized)
export const Forbidden = make(Errors.Forbidden)
export const NotFound = make(Errors.NotFound)
export const Conflict = make(Errors.Conflict)
export const TooManyRequests = make(Errors.RateLimitExceeded)
export const ServerError = make(
  Errors.InternalError,
  Errors.SegmentExhausted,
  Errors.SegmentAllocateFailed,
  Errors.ClockBackward,
  Errors.SequenceOverflow,
  Errors.UuidGenerateFailed
)
export const Unavailable = make(Errors.ServiceUnavailable, Errors.DatabaseUnavailable, Errors.NoAvailableWorkerId)

/** Errors any endpoint can answer once storage or a generator is involved. */
export const common = [ServerError, Unavailable] as const

/** Every status, for endpoints that pass `Errors.IdgenError` through unchanged. */
export const all = [BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooManyRequests, ServerError, Unavailable] as const

/** A complete response for `error`, outside HttpApi (router fallbacks). */
export const respond = (error: Errors.IdgenError): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.andThen(addRetryAfter(error), currentBody(error)).pipe(
    Effect.map((body) => HttpServerResponse.jsonUnsafe(body, { status: Errors.statusOf(error) }))
  )
