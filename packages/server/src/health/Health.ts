/**
 * Liveness, readiness and the health report of this node.
 */
import { Context, type Effect } from "effect"

export type HealthStatus = "healthy" | "degraded" | "unhealthy"

export interface CheckResult {
  readonly status: HealthStatus
  readonly message?: string | undefined
}

export interface HealthReport {
  readonly status: HealthStatus
  readonly checks: Readonly<Record<string, CheckResult>>
}

export class Health extends Context.Service<Health, {
  readonly report: Effect.Effect<HealthReport>
  /** Storage reachable and worker id held. */
  readonly ready: Effect.Effect<boolean>
}>()("@idgen/server/health/Health") {}
