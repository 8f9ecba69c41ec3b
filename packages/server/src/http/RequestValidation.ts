/**
 * The request-shape rules of the contract, as HttpApi middleware: a request body must be
 * `application/json` and at most `http.maxBodyBytes`; anything the endpoint schemas reject
 * (bad JSON, wrong types, bad names, out-of-range sizes, bad path parameters) becomes
 * 400 IDGEN-COMMON-0001 naming the offending field and why.
 */
import { Errors } from "@idgen/core"
import { RequestValidation } from "@idgen/protocol/http"
import { ByteSize, Context, Effect, Layer, type Types } from "effect"
import { HttpIncomingMessage, HttpMethod, HttpServerError, HttpServerRequest } from "effect/http"
import { HttpApiError } from "effect/http-api"
import { ServerConfig } from "../config/ServerConfig.ts"
import { invalidRequestFrom, tooLarge } from "../requests/RequestErrors.ts"

export const layer: Layer.Layer<RequestValidation, never, ServerConfig> = Layer.effect(
  RequestValidation,
  Effect.map(ServerConfig, (config) => {
    const maxBytes = config.http.maxBodyBytes
    const maxBodySize = ByteSize.bytes(maxBytes)

    /** A chunked body has no announced length: read it here, under the limit. */
    const readBounded = (request: HttpServerRequest.HttpServerRequest) =>
      request.text.pipe(
        Effect.provideService(HttpIncomingMessage.MaxBodySize, maxBodySize),
        Effect.mapError((error) =>
          HttpServerError.isHttpServerError(error) && error.reason._tag === "RequestParseError" &&
            error.reason.reason === "BodyTooLarge"
            ? tooLarge(maxBytes, undefined)
            : new Errors.InvalidRequest({ message: "Unreadable request body", details: { location: "body" } })
        )
      )

    return RequestValidation.of((httpEffect, { endpoint }) => {
      // `catchIf` cannot narrow HttpApi's opaque `unhandled` error type, hence the explicit re-fail.
      // @effect-diagnostics-next-line catchConditionalRefailToCatchIf:off
      const decoded = Effect.catch(
        httpEffect,
        (error): Effect.Effect<never, Errors.InvalidRequest | Types.unhandled> =>
          HttpApiError.HttpApiSchemaError.is(error) ? fromSchemaError(error) : Effect.fail(error)
      )
      if (endpoint.payload.size === 0 || !HttpMethod.hasBody(endpoint.method)) return decoded
      return Effect.withFiber((fiber) => {
        const request = Context.getUnsafe(fiber.context, HttpServerRequest.HttpServerRequest)
        const refused = refuseByHeaders(request.headers, maxBytes)
        if (refused !== undefined) return Effect.fail(refused)
        return request.headers["transfer-encoding"] !== undefined ? Effect.andThen(readBounded(request), decoded) : decoded
      })
    })
  })
)

/**
 * The body rules decided from the headers alone, before anything is read (here and on the
 * fast path): a body announced over `maxBytes` is 400, so is a Content-Type other than
 * JSON — even on an empty body, which must not reach the HttpApi's own 415. Without a
 * Content-Type, only a request that has a body is refused; an empty one is left to the
 * payload schema.
 */
export const refuseByHeaders = (
  headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>,
  maxBytes: number
): Errors.InvalidRequest | undefined => {
  const length = headers["content-length"]
  if (typeof length === "string" && length !== "0" && Number(length) > maxBytes) return tooLarge(maxBytes, Number(length))
  const contentType = headers["content-type"]
  if (typeof contentType === "string") return isJson(contentType) ? undefined : notJson(contentType)
  const hasBody = headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0")
  return hasBody ? notJson(undefined) : undefined
}

/** Whether a Content-Type header names JSON (parameters such as charset allowed). */
export const isJson = (contentType: string | undefined): boolean => {
  if (contentType === undefined) return false
  if (contentType === "application/json") return true
  const semi = contentType.indexOf(";")
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === "application/json"
}

export const notJson = (contentType: string | undefined) =>
  new Errors.InvalidRequest({
    message: contentType === undefined
      ? "Missing Content-Type; request bodies must be application/json"
      : `Unsupported Content-Type ${JSON.stringify(contentType)}; request bodies must be application/json`,
    details: { location: "headers", field: "content-type", expected: "application/json", actual: contentType ?? null }
  })

const locationOf = {
  Params: "path",
  Query: "query",
  Headers: "headers",
  Payload: "body",
  Body: "response",
  ResponseHeaders: "response"
} as const

/**
 * A request that does not decode is the caller's fault (400); a response that does not
 * encode is ours, so it stays a defect (500, logged by the error boundary).
 */
const fromSchemaError = (error: HttpApiError.HttpApiSchemaError) =>
  error.kind === "Body" || error.kind === "ResponseHeaders"
    ? Effect.die(error)
    : Effect.fail(invalidRequestFrom(locationOf[error.kind], error.cause.issue))
