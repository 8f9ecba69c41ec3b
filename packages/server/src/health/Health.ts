/**
 * Liveness, readiness and the health report of this node: storage reachable within a second,
 * a worker id held, and the clock not stepped back beyond the tolerated drift (snowflake
 * refuses then, IDGEN-SNOW-2001). The storage probe is shared: at most one a second.
 * `replication` reports the database's replication mode (`ReplicationMode`): information,
 * it never degrades the node. With Redis configured (`layerRedis`), `redis` says whether it
 * answers: down, it degrades the node but leaves it ready — every user of Redis has a
 * node-local answer (`RedisClient`).
 */
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { ServerConfig } from "../config/ServerConfig.ts"
import { DegradationManager } from "../degradation/DegradationManager.ts"
import { RedisClient, type RedisConnection } from "../redis/RedisClient.ts"
import { SnowflakeGenerator } from "../snowflake/SnowflakeGenerator.ts"
import { WorkerIdentity } from "../snowflake/WorkerIdentity.ts"
import { ReplicationMode } from "../storage/ReplicationMode.ts"

export type HealthStatus = "healthy" | "degraded" | "unhealthy"

export interface CheckResult {
  readonly status: HealthStatus
  readonly message?: string | undefined
}

export interface HealthReport {
  readonly status: HealthStatus
  readonly checks: Readonly<Record<string, CheckResult>>
}

const healthy: CheckResult = { status: "healthy" }
const unhealthy = (message: string): CheckResult => ({ status: "unhealthy", message })

const redisDown = (why: string): CheckResult => ({
  status: "degraded",
  message: `redis ${why}: serving without it (node-local caches and rate limits, segments straight from the database)`
})

/** Probed at most once a second, as storage is: a PING when connected, none while it reconnects. */
const redisProbe = (redis: RedisConnection) =>
  Effect.cachedWithTTL(
    Effect.suspend(() =>
      redis.isReady()
        ? Effect.promise(() =>
          redis.client.ping().then(
            (): CheckResult => healthy,
            (error: Error) => redisDown(`did not answer PING (${error.message})`)
          )
        )
        : Effect.succeed(redisDown(`not connected (${redis.lastError() || "connecting"})`))
    ),
    "1 second"
  )

/** The node's checks; `redisCheck` when Redis is configured. */
const make = Effect.fnUntraced(function*(redisCheck: Effect.Effect<CheckResult> | undefined) {
  const sql = yield* SqlClient.SqlClient
  const identity = yield* WorkerIdentity
  const snowflake = yield* SnowflakeGenerator
  const degradation = yield* DegradationManager
  const replicationMode = yield* ReplicationMode
  const toleratedMs = (yield* ServerConfig).snowflake.clockLogicalThresholdMillis

  // Probed at most once a second, whatever the callers (`/health`, `/ready`, both
  // HealthCheck RPCs, the gRPC health service; none needs a key): concurrent callers
  // share the probe in flight, later ones its result until it is a second old.
  const storage = yield* Effect.cachedWithTTL(
    sql`SELECT 1`.pipe(
      Effect.timeout("1 second"),
      Effect.as(healthy),
      Effect.catchCause(() => Effect.succeed(unhealthy("database not reachable")))
    ),
    "1 second"
  )

  const worker = Effect.sync(() => {
    const held = identity.current()
    return typeof held === "number" ? healthy : unhealthy(held.message)
  })

  // Degraded, not unhealthy: the clock catches up by itself and other algorithms (and
  // the biz_tags' fallback chains) keep serving meanwhile.
  const clock = Effect.sync((): CheckResult => {
    const driftMs = snowflake.clockDriftMs()
    return driftMs > toleratedMs
      ? {
        status: "degraded",
        message: `clock is ${driftMs} ms behind the last issued snowflake timestamp ` +
          `(tolerated ${toleratedMs} ms): snowflake refuses with IDGEN-SNOW-2001 until it catches up`
      }
      : healthy
  })

  // The degradation manager's mode and which algorithms it keeps out of the chains.
  const degradationCheck = Effect.sync((): CheckResult => {
    const state = degradation.snapshot()
    if (state.mode === "Normal") return healthy
    const down = Object.entries(state.health)
      .filter(([, h]) => h.status === "unhealthy")
      .map(([algorithm, h]) => `${algorithm}${h.manual ? " (operator)" : ""}: ${h.reason ?? "unhealthy"}`)
    return { status: "degraded", message: `${state.mode}; ${down.join("; ")}` }
  })

  const report = Effect.gen(function*() {
    const [database, workerId, clockCheck, redis] = yield* Effect.all(
      [storage, worker, clock, redisCheck ?? Effect.succeed(undefined)],
      { concurrency: "unbounded" }
    )
    const degradationResult = yield* degradationCheck
    const checks: Record<string, CheckResult> = {
      database,
      worker_id: workerId,
      clock: clockCheck,
      degradation: degradationResult,
      replication: { status: "healthy", message: replicationMode.current()?.message ?? "not read yet" },
      ...(redis === undefined ? {} : { redis })
    }
    // Without a worker id or with a stepped-back clock only snowflake is affected, without
    // Redis nothing stops: the node still serves.
    const status: HealthStatus = database.status === "unhealthy"
      ? "unhealthy"
      : [workerId, clockCheck, degradationResult, redis ?? healthy].every((check) => check.status === "healthy")
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

export class Health extends Context.Service<Health, {
  readonly report: Effect.Effect<HealthReport>
  /** Storage reachable and worker id held. */
  readonly ready: Effect.Effect<boolean>
}>()("@idgen/server/health/Health") {
  /** Without Redis (`redis.url` unset). */
  static readonly layer = Layer.effect(Health, make(undefined))

  /** With the configured Redis as the check `redis`. */
  static readonly layerRedis = Layer.effect(
    Health,
    Effect.flatMap(RedisClient, redisProbe).pipe(Effect.flatMap(make))
  )
}
