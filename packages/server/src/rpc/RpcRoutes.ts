/**
 * The Effect RPC endpoints on the HTTP port: `/rpc` (one HTTP POST per batch of requests,
 * ndjson) and `/rpc/ws` (a WebSocket per client, ndjson frames), both serving the group
 * with the same handlers. In front of each, the front door (`RpcGate`: body limit, key
 * before body or upgrade, WebSocket cap), and the client's address for the handlers
 * (`PeerAddress`, for the per-IP rate limit HTTP and gRPC apply); every message is checked
 * before the RPC server sees it (`RpcMessages`).
 *
 * Tracing: with an exporter configured (`Tracing.isEnabled`), the RPC server makes one
 * server span per request, `rpc IdRpcs.<Tag>`, parented to the span the Effect client sent
 * in the request message (its trace id, span id and sampled flag), so the services' spans
 * nest beneath the caller's trace. Without one, tracing stays disabled: these are hot
 * paths, like HTTP generate, and a span per request would cost for nothing.
 */
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { RpcServer } from "effect/rpc"
import { ServerConfig } from "../config/ServerConfig.ts"
import * as Tracing from "../observability/Tracing.ts"
import { Admission } from "../requests/Admission.ts"
import type { ClientAddress } from "../net/ClientAddress.ts"
import * as IdRpcHandlers from "./IdRpcHandlers.ts"
import * as PeerAddress from "./PeerAddress.ts"
import * as RpcGate from "./RpcGate.ts"
import * as RpcMessages from "./RpcMessages.ts"
import { ServerRpcs } from "./ServerRpcs.ts"

export const rpcPath = "/rpc"
export const rpcWebSocketPath = "/rpc/ws"

const spanPrefix = "rpc IdRpcs"
const spanAttributes = { "rpc.service": "IdRpcs" }

/**
 * `RpcServer.layerHttp`'s protocol, its route behind the gate and `PeerAddress.withPeer`,
 * answering the lines `RpcMessages` could not read.
 */
const protocolLayer = (gate: ReturnType<typeof RpcGate.make>, clientAddress: ClientAddress, method: "POST" | "GET") =>
  Layer.effect(
    RpcServer.Protocol,
    Effect.gen(function*() {
      const router = yield* HttpRouter.HttpRouter
      if (method === "POST") {
        const { httpEffect, protocol } = yield* RpcServer.makeProtocolWithHttpEffect()
        yield* router.add("POST", rpcPath, gate.post(PeerAddress.withPeer(clientAddress, httpEffect)))
        return RpcMessages.answeringUnreadable(protocol)
      }
      const { httpEffect, protocol } = yield* RpcServer.makeProtocolWithHttpEffectWebsocket
      yield* router.add("GET", rpcWebSocketPath, gate.upgrade(PeerAddress.withPeer(clientAddress, httpEffect)))
      return RpcMessages.answeringUnreadable(protocol)
    })
  )

/** Routes for `HttpRouter.serve`, next to the HttpApi routes (needs `Admission` from `serve`). */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const context = yield* Effect.context<never>()
  const config = yield* ServerConfig
  const admission = yield* Admission
  const gate = RpcGate.make({
    admission,
    maxBodyBytes: config.http.maxBodyBytes,
    maxWebSockets: config.http.maxWebSockets
  })
  const options = { disableTracing: !Tracing.isEnabled(context), spanPrefix, spanAttributes }
  const tags = new Set(ServerRpcs.requests.keys())
  const server = (method: "POST" | "GET") =>
    RpcServer.layer(ServerRpcs, options).pipe(
      Layer.provide(protocolLayer(gate, admission.clientAddress, method)),
      // A POST's body is decoded whole; a WebSocket frame may hold the start of a line.
      Layer.provide(RpcMessages.serialization(config.http.maxBodyBytes, tags, { wholeBody: method === "POST" }))
    )
  return Layer.mergeAll(server("POST"), server("GET"))
})).pipe(Layer.provide(IdRpcHandlers.layer))
