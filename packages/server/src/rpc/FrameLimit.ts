/**
 * What a `/rpc/ws` client that passes the size limit (`http.max_body_bytes`) is told, and
 * what the server makes of it. Two ways to pass it end in close code 1009: a frame over
 * the limit (the `ws` server's `maxPayload`, which closes before the frame reaches the RPC
 * layer) and a line that never ends within it (`RpcMessages`). Both closes carry the same
 * reason, naming the limit and the contract's code (a close reason holds at most 123
 * bytes). An oversized frame is the client's mistake, not the server's: `ws` reports it as
 * a read error of the socket, which would end as a logged defect with its stack; it is one
 * warning line instead.
 */
import * as NodeWS from "@effect/platform-node/NodeWS"
import { Cause, Effect, Predicate } from "effect"
import { HttpServerResponse } from "effect/http"
import { Socket } from "effect/socket"

/** "Message too big". */
const messageTooBig = 1009

export const closeReason = (maxBytes: number) =>
  `IDGEN-COMMON-0001 InvalidRequest: a message over ${maxBytes} bytes (http.max_body_bytes)`

/**
 * The `ws` server's WebSocket class (its `WebSocket` option): a 1009 close gets
 * `closeReason` — `ws` itself sends its own without one.
 */
export const webSocketClass = (maxBytes: number) => {
  const reason = closeReason(maxBytes)
  return class extends NodeWS.WebSocket {
    override close(code?: number, data?: string | Buffer) {
      super.close(code, code === messageTooBig ? reason : data)
    }
  }
}

/** `ws`'s error for a frame over `maxPayload`, as the RPC socket protocol dies with it. */
const isOversizedFrame = (defect: unknown) =>
  Socket.isSocketError(defect) && defect.reason._tag === "SocketReadError" &&
  Predicate.hasProperty(defect.reason.cause, "error") &&
  Predicate.hasProperty(defect.reason.cause.error, "code") &&
  defect.reason.cause.error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"

/** The WebSocket's `httpEffect`, an oversized frame ending it with a warning rather than a defect. */
export const warnOversized = <E, R>(
  maxBytes: number,
  httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) =>
  Effect.catchCause(httpEffect, (cause) =>
    isOversizedFrame(Cause.squash(cause))
      ? Effect.as(
        Effect.logWarning(`RPC WebSocket closed (1009): the client sent a frame over ${maxBytes} bytes`),
        HttpServerResponse.empty()
      )
      : Effect.failCause(cause))
