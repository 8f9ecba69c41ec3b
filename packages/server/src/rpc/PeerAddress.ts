/**
 * The client's address for the Effect RPC handlers, which see only headers: the RPC routes
 * set `x-idgen-peer` on the HTTP request (the POST of `/rpc`, the upgrade of `/rpc/ws`)
 * from the connection's remote address — the address the HTTP endpoints rate-limit by, no
 * `X-Forwarded-For` — replacing whatever the client sent there. The RPC server hands each
 * handler the transport's headers followed by the request message's own headers, and the
 * later entry wins, so the serialization (`RpcMessages`) also drops that header from every
 * request message (`stripPeer`): a client cannot choose the address it is limited as.
 */
import { Effect, Option, type Scope } from "effect"
import { Headers, type HttpServerResponse, HttpServerRequest } from "effect/http"

export const peerHeader = "x-idgen-peer"

/** The address `withPeer` put on the request, if the connection had one. */
export const peerOf = (headers: Headers.Headers): string | undefined => headers[peerHeader]

/** `httpEffect` with `x-idgen-peer` set from the connection (removed when the address is unknown). */
export const withPeer = <E, R>(
  httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest | Scope.Scope> =>
  Effect.flatMap(Effect.service(HttpServerRequest.HttpServerRequest), (request) => {
    const address = Option.getOrUndefined(request.remoteAddress)
    const headers = address === undefined
      ? Headers.remove(request.headers, peerHeader)
      : Headers.set(request.headers, peerHeader, address)
    return Effect.provideService(httpEffect, HttpServerRequest.HttpServerRequest, request.modify({ headers }))
  })

/** Removes any `x-idgen-peer` a request message carries. */
export const stripPeer = (message: unknown): void => {
  if (typeof message !== "object" || message === null) return
  const m = message as { _tag?: unknown; headers?: unknown }
  if (m._tag !== "Request" || !Array.isArray(m.headers)) return
  if (m.headers.some(isPeerEntry)) m.headers = m.headers.filter((entry) => !isPeerEntry(entry))
}

const isPeerEntry = (entry: unknown): boolean =>
  Array.isArray(entry) && typeof entry[0] === "string" && entry[0].toLowerCase() === peerHeader
