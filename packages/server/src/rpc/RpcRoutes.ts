/**
 * The Effect RPC endpoints on the HTTP port: `/rpc` (one HTTP POST per batch of requests,
 * ndjson) and `/rpc/ws` (a WebSocket per client, ndjson frames), both serving `IdRpcs` with
 * the same handlers.
 *
 * Tracing: with an exporter configured (`Tracing.isEnabled`), the RPC server makes one
 * server span per request, `rpc IdRpcs.<Tag>`, parented to the span the Effect client sent
 * in the request message (its trace id, span id and sampled flag), so the services' spans
 * nest beneath the caller's trace. Without one, tracing stays disabled: these are hot
 * paths, like HTTP generate, and a span per request would cost for nothing.
 */
import { IdRpcs } from "@idgen/protocol"
import { Effect, Layer } from "effect"
import { RpcSerialization, RpcServer } from "effect/rpc"
import { IdRequests } from "../generate/IdRequests.ts"
import * as Tracing from "../observability/Tracing.ts"
import { IdRpcsLive } from "./IdRpcsLive.ts"

export const rpcPath = "/rpc"
export const rpcWebSocketPath = "/rpc/ws"

const spanPrefix = "rpc IdRpcs"
const spanAttributes = { "rpc.service": "IdRpcs" }

/** Routes for `HttpRouter.serve`, next to the HttpApi routes (needs `ApiKeys` from `serve`). */
export const RpcRoutesLive = Layer.unwrap(Effect.map(Effect.context<never>(), (context) => {
  const disableTracing = !Tracing.isEnabled(context)
  return Layer.mergeAll(
    RpcServer.layerHttp({ group: IdRpcs, path: rpcPath, protocol: "http", disableTracing, spanPrefix, spanAttributes }),
    RpcServer.layerHttp({ group: IdRpcs, path: rpcWebSocketPath, protocol: "websocket", disableTracing, spanPrefix, spanAttributes })
  )
})).pipe(
  Layer.provide([IdRpcsLive, RpcSerialization.layerNdjson]),
  Layer.provide(IdRequests.layer)
)
