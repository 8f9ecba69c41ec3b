/**
 * Handlers of the Effect RPC group: the API key from the RPC header `x-api-key`, the rest
 * through `IdRequests`, so every rule (and every error) is the one HTTP and gRPC apply.
 */
import { IdRpcs, Rpcs } from "@idgen/protocol"
import { Effect } from "effect"
import { IdRequests } from "../generate/IdRequests.ts"
import { Health } from "../health/Health.ts"

export const IdRpcsLive = IdRpcs.toLayer(
  Effect.gen(function*() {
    const requests = yield* IdRequests
    const health = yield* Health
    return IdRpcs.of({
      Generate: (payload, { headers }) =>
        Effect.map(requests.generate(headers[Rpcs.apiKeyHeader] ?? "", payload), (result) => ({
          id: result.ids[0]!,
          algorithm: result.algorithm,
          timestamp: new Date(result.timestampMs).toISOString()
        })),
      BatchGenerate: (payload, { headers }) =>
        Effect.map(requests.batchGenerate(headers[Rpcs.apiKeyHeader] ?? "", payload), (result) => ({
          ids: result.ids,
          algorithm: result.algorithm,
          count: result.ids.length
        })),
      // ParsedId is the contract's parse body already; the RPC schema checks it on the way out.
      Parse: (payload, { headers }) =>
        requests.parse(headers[Rpcs.apiKeyHeader] ?? "", payload) as Effect.Effect<Rpcs.IdInfo, never>,
      HealthCheck: () => health.report
    })
  })
)
