/**
 * The client's address for the Effect RPC handlers, which see only headers: the RPC routes
 * set `x-idgen-peer` on the HTTP request (the POST of `/rpc`, the upgrade of `/rpc/ws`)
 * to the client address the HTTP endpoints rate-limit by (`ClientAddress`: the connection's
 * peer, or `X-Forwarded-For` from a trusted proxy), replacing whatever the client sent there. The RPC server hands each
 * handler the transport's headers followed by the request message's own headers, and the
 * later entry wins, so the serialization (`RpcMessages`) also drops that header from every
 * request message (`isPeerHeader`): a client cannot choose the address it is limited as.
 */
import { Effect, Option, type Scope } from "effect"
import { Headers, type HttpServerResponse, HttpServerRequest } from "effect/http"
import type { ClientAddress } from "../net/ClientAddress.ts"

export const peerHeader = "x-idgen-peer"

/** The address `withPeer` put on the request, if the connection had one. */
export const peerOf = (headers: Headers.Headers): string | undefined => headers[peerHeader]

/** `httpEffect` with `x-idgen-peer` set to the client's address (removed when it is unknown). */
export const withPeer = <E, R>(
  clientAddress: ClientAddress,
  httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest | Scope.Scope> =>
  Effect.flatMap(Effect.service(HttpServerRequest.HttpServerRequest), (request) => {
    const address = clientAddress(Option.getOrUndefined(request.remoteAddress), request.headers["x-forwarded-for"])
    const headers = address === undefined
      ? Headers.remove(request.headers, peerHeader)
      : Headers.set(request.headers, peerHeader, address)
    return Effect.provideService(httpEffect, HttpServerRequest.HttpServerRequest, request.modify({ headers }))
  })

/** Whether a request message's header `name` is the one the routes set (dropped by `RpcMessages`). */
export const isPeerHeader = (name: string): boolean => name.toLowerCase() === peerHeader
