/**
 * Handlers of the probes. `/health` answers the report with 503 when the node is
 * unhealthy; `/ready` is 503 IDGEN-COMMON-0005 until storage is reachable and a worker id
 * is held.
 */
import { Errors } from "@idgen/core"
import { Api } from "@idgen/protocol/http"
import { Effect, Layer } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder, type HttpApiGroup } from "effect/http-api"
import { Health } from "../health/Health.ts"

const notReady = new Errors.ServiceUnavailable({
  message: "Not ready: storage unreachable or no worker id held",
  details: {}
})

export const layer: Layer.Layer<HttpApiGroup.Service<"idgen", "system">, never, Health> = HttpApiBuilder.group(
  Api,
  "system",
  Effect.fnUntraced(function*(handlers) {
    const health = yield* Health
    return handlers
      .handle("health", () =>
        Effect.map(health.report, (report) =>
          HttpServerResponse.jsonUnsafe(report, { status: report.status === "unhealthy" ? 503 : 200 })))
      .handle("live", () => Effect.succeed({ status: "live" as const }))
      .handle("ready", () =>
        Effect.flatMap(health.ready, (ready) => ready ? Effect.succeed({ status: "ready" as const }) : Effect.fail(notReady)))
  })
)
