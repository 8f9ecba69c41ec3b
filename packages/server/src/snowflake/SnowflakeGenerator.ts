/**
 * The node's one stateful snowflake generator. The pure Sequencer decides which
 * (timestamp, sequence) pairs to issue; this service owns the state, reads the clock
 * through Effect's `Clock`, checks the worker grant on every call and waits — in the
 * `ClockCatcher` queue, without blocking the event loop — when the millisecond's 1024
 * sequences are used up or the clock is slightly behind.
 *
 * Clock policy (thresholds from config; docs/architecture.md, "Snowflake"): behind by ≤ wait threshold →
 * wait; ≤ logical threshold → issue on the logical clock; beyond → IDGEN-SNOW-2001 (the
 * biz_tag's fallback chain takes over, `/health` reports the drift as degraded).
 */
import { Errors, Immediate, Sequencer, Snowflake } from "@idgen/core"
import { Clock, Context, Effect, Layer } from "effect"
import { ServerConfig } from "../config/ServerConfig.ts"
import { ClockCatcher } from "./ClockCatcher.ts"
import * as ScrapeTime from "../observability/ScrapeTime.ts"
import * as SnowflakeMetrics from "./SnowflakeMetrics.ts"
import { type WorkerGrant, WorkerIdentity } from "./WorkerIdentity.ts"

type SnowflakeError = Errors.ClockBackward | Errors.SequenceOverflow | Errors.NoAvailableWorkerId

type Blocked = Sequencer.WaitUntil | Sequencer.ClockBackward | Errors.NoAvailableWorkerId

/**
 * How long one request may wait for sequence space in total before IDGEN-SNOW-2002. A
 * batch of 10,000 needs about 10 ms; only a starved request (many concurrent batches)
 * or a clock that keeps stepping back comes near this.
 */
const MAX_WAIT_MS = 1000

export class SnowflakeGenerator extends Context.Service<SnowflakeGenerator, {
  /** `n` IDs in increasing order, as decimal strings. */
  next(n: number): Effect.Effect<Array<string>, SnowflakeError>
  /** `next`, taken at the call: the IDs, or the Effect that waits for sequence space (or fails). */
  nextUnsafe(n: number): Immediate.Immediate<Array<string>, SnowflakeError>
  /** How far the clock is behind the last issued timestamp right now (0 when it is not). */
  clockDriftMs(): number
}>()("@idgen/server/snowflake/SnowflakeGenerator") {
  static readonly layer = Layer.effect(
    SnowflakeGenerator,
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const identity = yield* WorkerIdentity
      const catcher = yield* ClockCatcher
      const clock = yield* Clock.Clock
      const context = yield* Effect.context<never>()
      const policy: Sequencer.Policy = {
        waitThresholdMs: config.snowflake.clockWaitThresholdMillis,
        logicalThresholdMs: config.snowflake.clockLogicalThresholdMillis
      }
      const composer = new Snowflake.DecimalComposer(config.snowflake.epochMs)
      let state = Sequencer.initialState()
      let grant: WorkerGrant | undefined
      let node = 0

      /**
       * A grant of a new generation is a (re)acquired worker id: continue strictly above
       * both what this node issued (IDs stay increasing per node) and what the id's
       * previous holders may have issued (no duplicate after a takeover).
       */
      const adopt = (next: WorkerGrant) => {
        if (grant === undefined || grant.generation !== next.generation) {
          state = Sequencer.initialState(Math.max(state.lastMs, next.afterMs))
          node = Snowflake.nodeBits(identity.datacenterId, next.workerId)
        }
        grant = next
      }

      const ceilingReached = (held: WorkerGrant) =>
        new Errors.NoAvailableWorkerId({
          message: `worker ${held.workerId}: the reserved timestamp ceiling is used up and could not be extended yet`,
          details: { worker_id: held.workerId, ceiling_ms: held.ceilingMs }
        })

      const observeBackward = (decision: Sequencer.Decision) => {
        switch (decision._tag) {
          case "Logical":
            SnowflakeMetrics.backwardLogical.updateUnsafe(1, context)
            SnowflakeMetrics.driftObserved.updateUnsafe(decision.driftMs / 1000, context)
            return
          case "ClockBackward":
            SnowflakeMetrics.backwardRefused.updateUnsafe(1, context)
            SnowflakeMetrics.driftObserved.updateUnsafe(decision.driftMs / 1000, context)
            return
          case "WaitUntil":
            if (decision.reason === "ClockBehind") {
              SnowflakeMetrics.backwardWait.updateUnsafe(1, context)
              SnowflakeMetrics.driftObserved.updateUnsafe((decision.ms - clock.currentTimeMillisUnsafe()) / 1000, context)
              SnowflakeMetrics.waitClock.updateUnsafe(1, context)
            } else {
              SnowflakeMetrics.waitSequence.updateUnsafe(1, context)
            }
        }
      }

      /** Issues synchronously into `out` until it holds `n` IDs or something blocks. */
      const fill = (n: number, out: Array<string>): Blocked | undefined => {
        const held = identity.grant()
        if (held._tag !== "WorkerGrant") return held
        if (held !== grant) adopt(held)
        while (out.length < n) {
          const decision = Sequencer.take(state, clock.currentTimeMillisUnsafe(), n - out.length, policy)
          if (decision._tag === "WaitUntil" || decision._tag === "ClockBackward") {
            observeBackward(decision)
            return decision
          }
          if (decision.timestampMs > held.ceilingMs) return ceilingReached(held)
          if (decision._tag === "Logical") {
            observeBackward(decision)
            SnowflakeMetrics.logicalIds.updateUnsafe(decision.count, context)
          }
          state = decision.state
          const end = decision.sequence + decision.count
          for (let sequence = decision.sequence; sequence < end; sequence++) {
            out.push(composer.toDecimal(decision.timestampMs, node | sequence))
          }
        }
        return undefined
      }

      const waitAndFill = Effect.fnUntraced(function*(n: number, out: Array<string>, blocked: Blocked) {
        let current: Blocked | undefined = blocked
        let waited = 0
        while (current !== undefined) {
          if (current._tag === "NoAvailableWorkerId") return yield* current
          if (current._tag === "ClockBackward") {
            return yield* new Errors.ClockBackward({
              message: `clock moved back ${current.driftMs} ms, beyond the tolerated ${policy.logicalThresholdMs} ms`,
              details: { drift_ms: current.driftMs, tolerated_ms: policy.logicalThresholdMs }
            })
          }
          const before = clock.currentTimeMillisUnsafe()
          if (waited > MAX_WAIT_MS) {
            SnowflakeMetrics.sequenceOverflows.updateUnsafe(1, context)
            return yield* new Errors.SequenceOverflow({
              message: `no sequence became free within ${MAX_WAIT_MS} ms`,
              details: { waited_ms: waited, issued: out.length, requested: n }
            })
          }
          yield* catcher.waitUntil(current.ms)
          // Counted in clock time actually waited (a clock step does not inflate it).
          waited += Math.max(1, clock.currentTimeMillisUnsafe() - before)
          current = fill(n, out)
        }
        return out
      })

      const nextUnsafe = (n: number): Immediate.Immediate<Array<string>, SnowflakeError> => {
        const out: Array<string> = []
        const blocked = fill(n, out)
        return blocked === undefined ? out : waitAndFill(n, out, blocked)
      }

      const clockDriftMs = () => Math.max(0, state.lastMs - clock.currentTimeMillisUnsafe())

      yield* ScrapeTime.gauge(SnowflakeMetrics.clockDrift, () => clockDriftMs() / 1000)
      yield* ScrapeTime.gauge(SnowflakeMetrics.workerId, () => {
        const worker = identity.current()
        return typeof worker === "number" ? worker : -1
      })
      yield* ScrapeTime.gauge(SnowflakeMetrics.workerHeld, () => (typeof identity.current() === "number" ? 1 : 0))
      // Runs before the identity's release (layers close in reverse): the release then
      // records the highest timestamp actually issued, not the whole reservation.
      yield* Effect.addFinalizer(() => Effect.sync(() => identity.retire(state.lastMs)))

      return SnowflakeGenerator.of({ next: Immediate.lazy(nextUnsafe), nextUnsafe, clockDriftMs })
    })
  ).pipe(Layer.provide(ClockCatcher.layer))
}
