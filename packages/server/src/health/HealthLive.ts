/**
 * Health of this node: storage reachable within a second, and a worker id held.
 */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { WorkerIdentity } from "../snowflake/WorkerIdentity.ts"
import { type CheckResult, Health, type HealthStatus } from "./Health.ts"

const healthy: CheckResult = { status: "healthy" }
const unhealthy = (message: string): CheckResult => ({ status: "unhealthy", message })

export const HealthLive = Layer.effect(
  Health,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const identity = yield* WorkerIdentity

    const storage = sql`SELECT 1`.pipe(
      Effect.timeout("1 second"),
      Effect.as(healthy),
      Effect.catchCause(() => Effect.succeed(unhealthy("database not reachable")))
    )

    const worker = Effect.sync(() => {
      const held = identity.current()
      return typeof held === "number" ? healthy : unhealthy(held.message)
    })

    const report = Effect.gen(function*() {
      const [database, workerId] = yield* Effect.all([storage, worker], { concurrency: "unbounded" })
      const checks = { database, worker_id: workerId }
      // Without a worker id only snowflake is affected: the node still serves other algorithms.
      const status: HealthStatus = database.status === "unhealthy"
        ? "unhealthy"
        : workerId.status === "healthy"
        ? "healthy"
        : "degraded"
      return { status, checks }
    })

    const ready = Effect.map(
      Effect.all([storage, worker]),
      ([database, workerId]) => database.status === "healthy" && workerId.status === "healthy"
    )

    return Health.of({ report, ready })
  })
)
