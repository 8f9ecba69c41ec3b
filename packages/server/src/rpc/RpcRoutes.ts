/**
 * The Effect RPC endpoints on the HTTP port: `/rpc` (one HTTP POST per batch of requests,
 * ndjson) and `/rpc/ws` (a WebSocket per client, ndjson frames), both serving `IdRpcs` with
 * the same handlers. Tracing is off: these are hot paths, like HTTP generate.
 */
import { IdRpcs } from "@idgen/protocol"
import { Layer } from "effect"
import { RpcSerialization, RpcServer } from "effect/rpc"
import { IdRequests } from "../generate/IdRequests.ts"
import { IdRpcsLive } from "./IdRpcsLive.ts"

export const rpcPath = "/rpc"
export const rpcWebSocketPath = "/rpc/ws"

/** Routes for `HttpRouter.serve`, next to the HttpApi routes (needs `ApiKeys` from `serve`). */
export const RpcRoutesLive = Layer.mergeAll(
  RpcServer.layerHttp({ group: IdRpcs, path: rpcPath, protocol: "http", disableTracing: true }),
  RpcServer.layerHttp({ group: IdRpcs, path: rpcWebSocketPath, protocol: "websocket", disableTracing: true })
).pipe(
  Layer.provide([IdRpcsLive, RpcSerialization.layerNdjson]),
  Layer.provide(IdRequests.layer)
)
