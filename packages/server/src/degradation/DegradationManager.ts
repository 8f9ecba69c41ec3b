/**
 * The node's degradation manager (docs/architecture.md, "Degradation chain"): holds the `DegradationFsm` state, which
 * the request path reads and feeds synchronously (no fiber hop per ID), and runs one
 * supervised fiber that probes generator health (database, worker id, clock) on an
 * interval and publishes every transition: log line, metric, audit row.
 *
 * Only failures that say something about the node count towards health (database down,
 * clock stepped back, no worker id, a failed allocation); a biz_tag whose range is used
 * up or a momentary sequence overflow still falls back for that request but never takes
 * the algorithm out for everyone.
 *
 * Health is each process's own (its generators, its database pool); the operator's actions —
 * degrade, recover, thresholds — are the instance's: with worker processes, the worker that
 * accepts one applies and audits it and every other worker applies it before the answer,
 * and a worker starts with the ones in force (`OperatorRelay`).
 */
import { DegradationFsm, Errors, type Names } from "@idgen/core"
import { Cause, Clock, Context, Effect, Layer, Metric, Queue, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { AuditLog } from "../audit/AuditLog.ts"
import { ServerConfig } from "../config/ServerConfig.ts"
import type { OperatorChange } from "../instance/OperatorChange.ts"
import { OperatorRelay } from "../instance/OperatorRelay.ts"
import { SnowflakeGenerator } from "../snowflake/SnowflakeGenerator.ts"
import { WorkerIdentity } from "../snowflake/WorkerIdentity.ts"

/**
 * Per the error's `health` trait. A formatted biz_tag fails with the worker id's errors
 * only when its own template uses `{WORKER}`: that says nothing about formatted tags
 * without it, so only its counter's (the store's) failures count against `formatted`.
 */
const countsAgainst = (algorithm: Names.Algorithm, error: Errors.IdgenError) => {
  const health = Errors.traitsOf(error).health
  return health === "store" || (health === "generator" && algorithm !== "formatted")
}

const modeValue: Record<DegradationFsm.Mode, number> = { Normal: 0, Degraded: 1, Critical: 2 }

const transitionsTotal = (algorithm: Names.Algorithm, to: DegradationFsm.Status, manual: boolean) =>
  Metric.counter("idgen_degradation_transitions_total", {
    description: "Algorithm health transitions of the degradation manager",
    incremental: true,
    attributes: { algorithm, to, manual: String(manual) }
  })
const modeGauge = Metric.gauge("idgen_degradation_mode", {
  description: "Degradation mode of this node: 0 Normal, 1 Degraded, 2 Critical"
})

export interface DegradationManagerShape {
  readonly snapshot: () => DegradationFsm.State
  /** The order in which to try a biz_tag's chain right now (see `DegradationFsm.route`). */
  readonly plan: (chain: ReadonlyArray<Names.Algorithm>) => ReadonlyArray<Names.Algorithm>
  readonly isHealthy: (algorithm: Names.Algorithm) => boolean
  /** Synchronous and allocation-free when nothing changes: called once per request. */
  readonly succeeded: (algorithm: Names.Algorithm) => void
  readonly failed: (algorithm: Names.Algorithm, error: Errors.IdgenError) => void
  /** Operator actions: the instance's other worker processes too, before they succeed (or 503, see `OperatorRelay`). */
  readonly degrade: (
    algorithm: Names.Algorithm,
    reason: string,
    actor: string
  ) => Effect.Effect<DegradationFsm.State, Errors.ServiceUnavailable>
  readonly recover: (algorithm: Names.Algorithm, actor: string) => Effect.Effect<DegradationFsm.State, Errors.ServiceUnavailable>
  /** Undefined when the merged thresholds are invalid (nothing changes then). */
  readonly setThresholds: (
    patch: Partial<DegradationFsm.Thresholds>,
    actor: string
  ) => Effect.Effect<DegradationFsm.State | undefined, Errors.ServiceUnavailable>
}

/** Generator health, independent of traffic: a problem description, or undefined when fine. */
export interface Probes {
  readonly database: Effect.Effect<string | undefined>
  readonly snowflake: () => string | undefined
}

/** The manager over the given probes; its fibers live as long as the scope. */
export const make = (probes: Probes) =>
  Effect.gen(function*() {
    const config = yield* ServerConfig
    const clock = yield* Clock.Clock
    const audit = yield* AuditLog
    const published = yield* Queue.unbounded<DegradationFsm.Transition>()
    // On the page from the start (0: normal), not only after the first transition.
    yield* Metric.value(modeGauge)

    let state = DegradationFsm.initial(clock.currentTimeMillisUnsafe(), {
      failureThreshold: config.degradation.failureThreshold,
      recoveryThreshold: config.degradation.recoveryThreshold,
      minUnhealthyMillis: config.degradation.minUnhealthyMillis
    })

    const apply = (event: DegradationFsm.Event) => {
      const next = DegradationFsm.step(state, event)
      state = next.state
      for (const transition of next.transitions) Queue.offerUnsafe(published, transition)
      return state
    }

    const succeeded = (algorithm: Names.Algorithm) => {
      const h = state.health[algorithm]
      if (h.status === "healthy" && h.consecutiveFailures === 0) return
      apply({ _tag: "Success", algorithm, now: clock.currentTimeMillisUnsafe() })
    }

    const failed = (algorithm: Names.Algorithm, error: Errors.IdgenError) => {
      if (!countsAgainst(algorithm, error)) return
      apply({ _tag: "Failure", algorithm, now: clock.currentTimeMillisUnsafe(), reason: `${error._tag}: ${error.message}` })
    }

    const plan = (chain: ReadonlyArray<Names.Algorithm>) =>
      state.mode === "Normal" ? chain : DegradationFsm.route(state, chain)

    const probeOnce = Effect.gen(function*() {
      const dbProblem = yield* probes.database
      const problems: Record<Names.Algorithm, string | undefined> = {
        segment: dbProblem,
        formatted: dbProblem,
        snowflake: probes.snowflake(),
        uuid_v7: undefined,
        uuid_v4: undefined
      }
      const now = clock.currentTimeMillisUnsafe()
      for (const algorithm of DegradationFsm.algorithms) {
        const problem = problems[algorithm]
        const h = state.health[algorithm]
        if (problem !== undefined) apply({ _tag: "Failure", algorithm, now, reason: problem })
        // A passing probe feeds recovery; for a healthy algorithm it would only hide
        // request failures still being counted.
        else if (h.status === "unhealthy") apply({ _tag: "Success", algorithm, now })
      }
    })

    const publish = (t: DegradationFsm.Transition) =>
      Effect.gen(function*() {
        const message = `degradation: ${t.algorithm} ${t.from} → ${t.to} (${t.reason}); mode ${t.modeFrom} → ${t.modeTo}`
        yield* t.to === "unhealthy" ? Effect.logWarning(message) : Effect.logInfo(message)
        yield* Metric.update(transitionsTotal(t.algorithm, t.to, t.manual), 1)
        yield* Metric.update(modeGauge, modeValue[t.modeTo])
        // Operator actions are audited by the endpoint with the operator's identity.
        if (!t.manual) {
          yield* audit.record({
            eventType: "degradation",
            actor: config.node.name,
            action: t.to === "unhealthy" ? "degrade" : "recover",
            resource: `algorithm:${t.algorithm}`,
            result: "success",
            metadata: { from: t.from, to: t.to, reason: t.reason, mode_from: t.modeFrom, mode_to: t.modeTo }
          })
        }
      })

    // Supervised: a defect in one round is logged and the loop goes on.
    const supervised = <A, E>(name: string, self: Effect.Effect<A, E>) =>
      self.pipe(
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause as never) : Effect.logError(`${name} failed`, cause)
        )
      )
    yield* Effect.forkScoped(
      Effect.forever(Effect.flatMap(Queue.take(published), (t) => supervised("degradation publish", publish(t))))
    )
    yield* Effect.forkScoped(
      supervised("degradation probe", probeOnce).pipe(
        Effect.repeat(Schedule.spaced(config.degradation.probeIntervalMillis))
      )
    )

    /** An operator's change, this worker's own or relayed from the one that accepted it (audited there). */
    const applyOperator = (change: OperatorChange) => {
      switch (change._tag) {
        case "Degrade":
          return apply({ _tag: "ManualDegrade", algorithm: change.algorithm, now: change.at, reason: change.reason })
        case "Recover":
          return apply({ _tag: "ManualRecover", algorithm: change.algorithm, now: change.at })
        case "Thresholds":
          return apply({ _tag: "SetThresholds", thresholds: change.thresholds })
        default:
          return state
      }
    }
    const relay = yield* OperatorRelay
    yield* relay.follow((change) => Effect.sync(() => applyOperator(change)))

    /** Runs `local` (apply, audit; the change it made, if any) as the instance's change. */
    const relayed = <A>(local: Effect.Effect<readonly [A, OperatorChange | undefined]>) =>
      Effect.map(relay.change(local, ([, change]) => change), ([next]) => next)

    const degrade = Effect.fn("DegradationManager.degrade")(function*(algorithm: Names.Algorithm, reason: string, actor: string) {
      return yield* relayed(Effect.gen(function*() {
        const change = { _tag: "Degrade", algorithm, reason: `${reason} (by ${actor})`, at: yield* Clock.currentTimeMillis } as const
        const next = applyOperator(change)
        yield* audit.record({
          eventType: "operator",
          actor,
          action: "degrade",
          resource: `algorithm:${algorithm}`,
          result: "success",
          metadata: { reason }
        })
        return [next, change] as const
      }))
    })

    const recover = Effect.fn("DegradationManager.recover")(function*(algorithm: Names.Algorithm, actor: string) {
      return yield* relayed(Effect.gen(function*() {
        const change = { _tag: "Recover", algorithm, at: yield* Clock.currentTimeMillis } as const
        const next = applyOperator(change)
        yield* audit.record({ eventType: "operator", actor, action: "recover", resource: `algorithm:${algorithm}`, result: "success", metadata: {} })
        return [next, change] as const
      }))
    })

    const setThresholds = Effect.fn("DegradationManager.setThresholds")(function*(
      patch: Partial<DegradationFsm.Thresholds>,
      actor: string
    ) {
      return yield* relayed(Effect.gen(function*() {
        // Merged with the thresholds in force once this change has the instance's turn.
        const thresholds = { ...state.thresholds, ...patch }
        if (!DegradationFsm.validThresholds(thresholds)) return [undefined, undefined] as const
        const change = { _tag: "Thresholds", thresholds } as const
        const next = applyOperator(change)
        yield* audit.record({ eventType: "operator", actor, action: "set_thresholds", resource: "degradation", result: "success", metadata: { ...thresholds } })
        return [next, change] as const
      }))
    })

    const manager: DegradationManagerShape = {
      snapshot: () => state,
      plan,
      isHealthy: (algorithm) => state.health[algorithm].status === "healthy",
      succeeded,
      failed,
      degrade,
      recover,
      setThresholds
    }
    return manager
  })

export class DegradationManager extends Context.Service<DegradationManager, DegradationManagerShape>()(
  "@idgen/server/degradation/DegradationManager"
) {
  /** Probes: `SELECT 1` within the probe interval (≤ 1 s); worker id held and clock drift tolerated. */
  static readonly layer = Layer.effect(
    DegradationManager,
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const sql = yield* SqlClient.SqlClient
      const identity = yield* WorkerIdentity
      const snowflake = yield* SnowflakeGenerator
      const toleratedDriftMs = config.snowflake.clockLogicalThresholdMillis
      const database = sql`SELECT 1`.pipe(
        Effect.timeout(Math.max(200, Math.min(1000, config.degradation.probeIntervalMillis))),
        Effect.as<string | undefined>(undefined),
        Effect.catchCause(() => Effect.succeed("DatabaseUnavailable: database not reachable"))
      )
      const snowflakeProblem = (): string | undefined => {
        const held = identity.current()
        if (typeof held !== "number") return `NoAvailableWorkerId: ${held.message}`
        const drift = snowflake.clockDriftMs()
        return drift > toleratedDriftMs ? `ClockBackward: clock ${drift} ms behind` : undefined
      }
      return DegradationManager.of(yield* make({ database, snowflake: snowflakeProblem }))
    })
  )
}
