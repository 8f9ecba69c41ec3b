/**
 * Handlers of the Effect RPC group: the API key from the RPC header `x-api-key` and the
 * client's address from the one the routes set (`PeerAddress`), the rest through
 * `IdRequests`, so every rule (and every error, the per-IP 429 included) is the one HTTP
 * and gRPC apply.
 */
import { Rpcs } from "@idgen/protocol"
import { Effect } from "effect"
import type { Headers } from "effect/http"
import { type Caller, IdRequests } from "../generate/IdRequests.ts"
import { Health } from "../health/Health.ts"
import * as RequestMetrics from "../generate/RequestMetrics.ts"
import { peerOf } from "./PeerAddress.ts"
import { ServerRpcs } from "./ServerRpcs.ts"

const callerOf = (headers: Headers.Headers): Caller => ({ apiKey: headers[Rpcs.apiKeyHeader] ?? "", clientIp: peerOf(headers) })

export const layer = ServerRpcs.toLayer(
  Effect.gen(function*() {
    const requests = yield* IdRequests
    const health = yield* Health
    const observed = RequestMetrics.observe("rpc")
    return ServerRpcs.of({
      Generate: (payload, { headers }) =>
        Effect.map(observed(requests.generate(callerOf(headers), payload)), (result) => ({
          id: result.ids[0]!,
          algorithm: result.algorithm,
          timestamp: new Date(result.timestampMs).toISOString()
        })),
      BatchGenerate: (payload, { headers }) =>
        Effect.map(observed(requests.batchGenerate(callerOf(headers), payload)), (result) => ({
          ids: result.ids,
          algorithm: result.algorithm,
          count: result.ids.length
        })),
      // ParsedId is the contract's parse body already; the RPC schema checks it on the way out.
      Parse: (payload, { headers }) =>
        requests.parse(callerOf(headers), payload) as Effect.Effect<Rpcs.IdInfo, never>,
      HealthCheck: () => health.report
    })
  })
)
