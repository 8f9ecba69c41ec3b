/**
 * The last line of the HTTP stack: whatever no handler answered becomes an IDGEN error body.
 * Unknown routes are 404 IDGEN-COMMON-0007; unreadable requests 400 IDGEN-COMMON-0001;
 * defects and unexpected failures 500 IDGEN-COMMON-0004, logged here with their cause
 * (the client never sees a stack trace).
 */
import { Errors } from "@idgen/core"
import { WireError } from "@idgen/protocol/http"
import { Cause, Effect, Schema } from "effect"
import { HttpServerError, type HttpServerRequest, type HttpServerResponse } from "effect/http"

const isIdgenError = Schema.is(Errors.IdgenError)

const toIdgenError = (cause: Cause.Cause<unknown>): Errors.IdgenError | undefined => {
  const failure = Cause.findErrorOption(cause)
  const error = failure._tag === "Some" ? failure.value : Cause.squash(cause)
  if (isIdgenError(error)) return error
  if (HttpServerError.isHttpServerError(error)) {
    const reason = error.reason
    switch (reason._tag) {
      case "RouteNotFound":
        return new Errors.NotFound({
          message: `No route for ${reason.request.method} ${reason.request.url.split("?")[0]}`,
          details: { method: reason.request.method, path: reason.request.url.split("?")[0] }
        })
      case "RequestParseError":
        return new Errors.InvalidRequest({
          message: reason.reason === "BodyTooLarge" ? "Request body too large" : "Malformed request",
          details: {}
        })
    }
  }
  return undefined
}

const internal = new Errors.InternalError({ message: "Internal server error", details: {} })

/**
 * Answers every failure of `app` with an error body; only interruptions pass through
 * (the error type is kept so router middleware typing stays satisfied).
 */
export const recover = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
  Effect.catchCause(app, (cause) => {
    if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
    const error = toIdgenError(cause)
    if (error !== undefined && Errors.statusOf(error) < 500) return WireError.respond(error)
    return Effect.logError("HTTP request failed", cause).pipe(
      Effect.andThen(WireError.respond(error ?? internal))
    )
  })
