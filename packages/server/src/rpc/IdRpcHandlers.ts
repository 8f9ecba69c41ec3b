/**
 * Handlers of the Effect RPC group: the API key from the RPC header `x-api-key` and the
 * client's address from the one the routes set (`PeerAddress`), the rest through
 * `IdRequests`, so every rule (and every error, the per-IP 429 included) is the one HTTP
 * and gRPC apply.
 */
import { Rpcs } from "@idgen/protocol"
import type { Errors } from "@idgen/core"
import { Effect } from "effect"
import type { Headers } from "effect/http"
import { type Caller, IdRequests } from "../requests/IdRequests.ts"
import { Health } from "../health/Health.ts"
import * as RequestMetrics from "../generate/RequestMetrics.ts"
import * as Outcome from "../requests/Outcome.ts"
import { peerOf } from "./PeerAddress.ts"
import { ServerRpcs } from "./ServerRpcs.ts"

/**
 * RPC's outcome mapper: an IDGEN error is the typed error, an interruption stays one, a
 * defect is logged and answered as InternalError (its message never reaches the client).
 */
const failed = Outcome.answer<undefined, Effect.Effect<never, Errors.IdgenError>>({
  error: (_, error) => Effect.fail(error),
  interrupted: (_, cause) => Effect.failCause(cause),
  defect: (_, cause) => Effect.andThen(Effect.logError("RPC request failed", cause), Effect.fail(Outcome.internalError))
})

const answered = <A>(effect: Effect.Effect<A, Errors.IdgenError>) => Effect.catchCause(effect, (cause) => failed(undefined, cause))

const callerOf = (headers: Headers.Headers): Caller => ({ apiKey: headers[Rpcs.apiKeyHeader] ?? "", clientIp: peerOf(headers) })

export const layer = ServerRpcs.toLayer(
  Effect.gen(function*() {
    const requests = yield* IdRequests
    const health = yield* Health
    const observed = RequestMetrics.observe("rpc")
    return ServerRpcs.of({
      Generate: (payload, { headers }) =>
        Effect.map(answered(observed(requests.generate(callerOf(headers), payload))), (result) => ({
          id: result.ids[0]!,
          algorithm: result.algorithm,
          timestamp: new Date(result.timestampMs).toISOString()
        })),
      BatchGenerate: (payload, { headers }) =>
        Effect.map(answered(observed(requests.batchGenerate(callerOf(headers), payload))), (result) => ({
          ids: result.ids,
          algorithm: result.algorithm,
          count: result.ids.length
        })),
      // ParsedId is the contract's parse body already; the RPC schema checks it on the way out.
      Parse: (payload, { headers }) =>
        answered(requests.parse(callerOf(headers), payload)) as Effect.Effect<Rpcs.IdInfo, Errors.IdgenError>,
      HealthCheck: () => health.report
    })
  })
)
