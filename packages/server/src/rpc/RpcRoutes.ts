/**
 * The Effect RPC endpoints on the HTTP port: `/rpc` (one HTTP POST per batch of requests,
 * ndjson) and `/rpc/ws` (a WebSocket per client, ndjson frames), both serving `IdRpcs` with
 * the same handlers. Both routes tell the handlers the client's address (`PeerAddress`),
 * for the per-IP rate limit HTTP and gRPC apply.
 *
 * Tracing: with an exporter configured (`Tracing.isEnabled`), the RPC server makes one
 * server span per request, `rpc IdRpcs.<Tag>`, parented to the span the Effect client sent
 * in the request message (its trace id, span id and sampled flag), so the services' spans
 * nest beneath the caller's trace. Without one, tracing stays disabled: these are hot
 * paths, like HTTP generate, and a span per request would cost for nothing.
 */
import { IdRpcs } from "@idgen/protocol"
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { RpcServer } from "effect/rpc"
import { IdRequests } from "../generate/IdRequests.ts"
import * as Tracing from "../observability/Tracing.ts"
import { IdRpcsLive } from "./IdRpcsLive.ts"
import * as PeerAddress from "./PeerAddress.ts"

export const rpcPath = "/rpc"
export const rpcWebSocketPath = "/rpc/ws"

const spanPrefix = "rpc IdRpcs"
const spanAttributes = { "rpc.service": "IdRpcs" }

/** `RpcServer.layerHttp`'s protocol, its route wrapped in `PeerAddress.withPeer`. */
const protocolLayer = (method: "POST" | "GET", path: typeof rpcPath | typeof rpcWebSocketPath) =>
  Layer.effect(
    RpcServer.Protocol,
    Effect.gen(function*() {
      const { httpEffect, protocol } = yield* (method === "POST"
        ? RpcServer.makeProtocolWithHttpEffect()
        : RpcServer.makeProtocolWithHttpEffectWebsocket)
      yield* (yield* HttpRouter.HttpRouter).add(method, path, PeerAddress.withPeer(httpEffect))
      return protocol
    })
  )

/** Routes for `HttpRouter.serve`, next to the HttpApi routes (needs `ApiKeys` from `serve`). */
export const RpcRoutesLive = Layer.unwrap(Effect.map(Effect.context<never>(), (context) => {
  const options = { disableTracing: !Tracing.isEnabled(context), spanPrefix, spanAttributes }
  return Layer.mergeAll(
    RpcServer.layer(IdRpcs, options).pipe(Layer.provide(protocolLayer("POST", rpcPath))),
    RpcServer.layer(IdRpcs, options).pipe(Layer.provide(protocolLayer("GET", rpcWebSocketPath)))
  )
})).pipe(
  Layer.provide([IdRpcsLive, PeerAddress.serialization]),
  Layer.provide(IdRequests.layer)
)
