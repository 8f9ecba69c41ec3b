/**
 * Health as metrics: `idgen_health_status` and `idgen_health_check_status{check}`
 * (0 healthy, 1 degraded, 2 unhealthy), refreshed by a supervised fiber every few seconds —
 * the report runs a database round trip, which a scrape or an alert tick should not wait on.
 */
import { Cause, Effect, Layer, Metric } from "effect"
import { tracked } from "../observability/EventLoopDelay.ts"
import { Health, type HealthStatus } from "./Health.ts"

export const healthStatus = Metric.gauge("idgen_health_status", {
  description: "Health of this node: 0 healthy, 1 degraded, 2 unhealthy (as /health reports it)"
})
export const healthCheckStatus = (check: string) =>
  Metric.gauge("idgen_health_check_status", {
    description: "Each health check: 0 healthy, 1 degraded, 2 unhealthy",
    attributes: { check }
  })

const refreshMillis = 5000

const value = (status: HealthStatus) => (status === "healthy" ? 0 : status === "degraded" ? 1 : 2)

export const layer: Layer.Layer<never, never, Health> = Layer.effectDiscard(
  Effect.gen(function*() {
    const health = yield* Health
    const refresh = Effect.gen(function*() {
      const report = yield* health.report
      yield* Metric.update(healthStatus, value(report.status))
      for (const [check, result] of Object.entries(report.checks)) {
        yield* Metric.update(healthCheckStatus(check), value(result.status))
      }
    }).pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause) : Effect.logWarning("health metrics refresh failed", cause)
      ),
      Effect.withTracerEnabled(false)
    )
    yield* refresh.pipe(
      tracked("health metrics refresh"),
      Effect.andThen(Effect.sleep(refreshMillis)),
      Effect.forever,
      Effect.forkScoped
    )
  })
)
