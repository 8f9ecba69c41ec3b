/**
 * The front door of `/rpc` and `/rpc/ws`, in front of the RPC server's own HTTP handling
 * (which would read any body in full, and upgrade any client):
 *
 * - `/rpc` (POST): a body announced over `http.max_body_bytes` is refused before it is
 *   read, a longer chunked one as soon as it passes the limit (400 IDGEN-COMMON-0001); an
 *   `X-API-Key` header is checked by `Admission` before the body is read (401, or 429 for an
 *   address out of failed attempts), as on every HTTP endpoint: nothing of an
 *   unauthenticated client's body is read. Keys inside the messages (and a POST without the
 *   header) are each request's, refused in that request's ndjson answer like a rate limit.
 * - `/rpc/ws` (GET upgrade): the upgrade needs a valid `X-API-Key` header, and at most
 *   `http.max_websockets` are open at once (503 IDGEN-COMMON-0005 beyond); frames are
 *   bounded by the WebSocket server's `maxPayload` (`HttpServer.layer`), a larger one
 *   closing the socket with 1009 and a warning (`FrameLimit`).
 *
 * Refusals are the contract's HTTP error bodies; the connection is closed after them when
 * the body has not arrived (`CloseUnread`).
 */
import { Errors } from "@idgen/core"
import { WireError } from "@idgen/protocol/http"
import { ByteSize, Cause, Effect, Option, type Scope } from "effect"
import { HttpIncomingMessage, HttpServerError, HttpServerRequest, type HttpServerResponse } from "effect/http"
import { tooLarge } from "../requests/RequestErrors.ts"
import * as FrameLimit from "./FrameLimit.ts"
import type { Admission } from "../requests/Admission.ts"

type HttpEffect<E, R> = Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>

export interface RpcGateOptions {
  readonly admission: Admission["Service"]
  readonly maxBodyBytes: number
  readonly maxWebSockets: number
}

const isBodyTooLarge = (cause: Cause.Cause<unknown>) => {
  const error = Cause.squash(cause)
  return HttpServerError.isHttpServerError(error) && error.reason._tag === "RequestParseError" &&
    error.reason.reason === "BodyTooLarge"
}

const keyOf = (request: HttpServerRequest.HttpServerRequest) => request.headers["x-api-key"]

export const make = (options: RpcGateOptions) => {
  const maxBodySize = ByteSize.bytes(options.maxBodyBytes)
  let webSockets = 0
  const clientIpOf = (request: HttpServerRequest.HttpServerRequest) =>
    options.admission.clientAddress(Option.getOrUndefined(request.remoteAddress), request.headers["x-forwarded-for"])

  /** `/rpc`: the body limit, and the header key before the body. */
  const post = <E, R>(httpEffect: HttpEffect<E, R>): HttpEffect<E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.flatMap(Effect.service(HttpServerRequest.HttpServerRequest), (request) => {
      const length = request.headers["content-length"]
      if (length !== undefined && Number(length) > options.maxBodyBytes) {
        return WireError.respond(tooLarge(options.maxBodyBytes, Number(length)))
      }
      const bounded = httpEffect.pipe(
        Effect.provideService(HttpIncomingMessage.MaxBodySize, maxBodySize),
        Effect.catchCause((cause) =>
          isBodyTooLarge(cause) ? WireError.respond(tooLarge(options.maxBodyBytes, undefined)) : Effect.failCause(cause)
        )
      )
      const key = keyOf(request)
      if (key === undefined) return bounded
      return Effect.matchEffect(options.admission.authenticate(key, clientIpOf(request)), {
        onFailure: WireError.respond,
        onSuccess: () => bounded
      })
    })

  /** `/rpc/ws`: a valid key and a free slot before the upgrade. */
  const upgrade = <E, R>(
    httpEffect: HttpEffect<E, R>
  ): HttpEffect<E, R | HttpServerRequest.HttpServerRequest | Scope.Scope> =>
    Effect.flatMap(Effect.service(HttpServerRequest.HttpServerRequest), (request) =>
      Effect.matchEffect(options.admission.authenticate(keyOf(request) ?? "", clientIpOf(request)), {
        onFailure: WireError.respond,
        onSuccess: () => {
          if (webSockets >= options.maxWebSockets) return WireError.respond(tooManyWebSockets(options.maxWebSockets))
          webSockets++
          return Effect.ensuring(FrameLimit.warnOversized(options.maxBodyBytes, httpEffect), Effect.sync(() => webSockets--))
        }
      }))

  return { post, upgrade }
}

const tooManyWebSockets = (max: number) =>
  new Errors.ServiceUnavailable({
    message: `Too many WebSocket connections on this node (at most ${max}); retry later or use another node`,
    details: { max_websockets: max }
  })
