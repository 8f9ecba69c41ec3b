/**
 * A request answered before its body arrived (too large, bad key, rate limited) must not
 * keep its connection for long: otherwise a client that announces a body and trickles it —
 * or never sends it — holds a socket until Node's request timeout. Once the answer is
 * written, the rest of the body gets a moment to arrive (and is discarded, as Node does);
 * a client that sends it promptly keeps its keep-alive connection, any other loses it.
 */
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect } from "effect"
import { HttpServerRequest, type HttpServerResponse } from "effect/http"
import type { IncomingMessage, ServerResponse } from "node:http"

/** How long the rest of a refused request's body may take, after the answer. */
const graceMillis = 500

/**
 * Once `res` is written: if the body of `req` has not fully arrived, waits `graceMillis`
 * for it, then ends the connection (and destroys it shortly after, whatever the client
 * still sends).
 */
export const closeIfUnread = (req: IncomingMessage, res: ServerResponse): void => {
  res.once("finish", () => {
    if (req.complete) return
    const socket = req.socket
    const timer = setTimeout(() => {
      if (req.complete || socket.destroyed) return
      socket.end()
      setTimeout(() => socket.destroy(), graceMillis).unref()
    }, graceMillis)
    timer.unref()
    req.once("end", () => clearTimeout(timer))
  })
}

/** Router middleware: `closeIfUnread` for every error response. */
export const closeUnread = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(app, (response) => {
    if (response.status < 400) return Effect.succeed(response)
    return Effect.map(Effect.service(HttpServerRequest.HttpServerRequest), (request) => {
      const incoming = NodeHttpServerRequest.toIncomingMessage(request)
      // Node's HTTP/1.1 requests only (not web requests in tests, not HTTP/2, not upgrades).
      if ("complete" in incoming && "socket" in incoming && request.headers["upgrade"] === undefined) {
        closeIfUnread(incoming as IncomingMessage, NodeHttpServerRequest.toServerResponse(request) as ServerResponse)
      }
      return response
    })
  })
