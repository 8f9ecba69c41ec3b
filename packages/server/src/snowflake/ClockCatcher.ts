/**
 * The wait queue of the snowflake generator (design §3.1.3 / decision 4): a request that
 * must wait for the clock — the millisecond's 1024 sequences are used up, or the clock is
 * a few milliseconds behind the last issued timestamp — parks here instead of polling,
 * and one clock-catcher fiber watches the clock and releases every waiter whose
 * millisecond has come, in arrival order. The event loop is never blocked.
 *
 * The catcher runs only while someone waits. For a target more than a millisecond away
 * it sleeps; for the next millisecond it re-reads the clock on every turn of the
 * scheduler (`yieldNow`), because a 1 ms timer fires late and a late release would waste
 * most of the next millisecond's sequences — that is what keeps the generator at its
 * 1,024,000 IDs/s cap.
 *
 * A waiter is also released when the clock falls further back than the wait tier covers
 * (a second step back while waiting): its caller decides again (logical clock or
 * IDGEN-SNOW-2001) rather than sleeping through a long drift.
 */
import { Clock, Context, Effect, Latch, Layer } from "effect"
import { ServerConfig } from "../config/ServerConfig.ts"
import * as SnowflakeMetrics from "./SnowflakeMetrics.ts"

interface Waiter {
  readonly ms: number
  readonly resume: (effect: Effect.Effect<void>) => void
}

export class ClockCatcher extends Context.Service<ClockCatcher, {
  /**
   * Resumes once the clock reads `ms` or later — or once it reads more than the wait
   * threshold (+1 ms) before `ms`, when waiting no longer fits the wait tier.
   */
  readonly waitUntil: (ms: number) => Effect.Effect<void>
  /** How many requests wait right now. */
  readonly waiting: () => number
}>()("@idgen/server/snowflake/ClockCatcher") {
  static readonly layer = Layer.effect(
    ClockCatcher,
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const clock = yield* Clock.Clock
      // Targets are at most the wait threshold + 1 ms ahead (the next millisecond after a
      // used-up one); anything further means the clock moved back again.
      const abandonAheadMs = config.snowflake.clockWaitThresholdMillis + 1
      let waiters: Array<Waiter> = []
      const wake = Latch.makeUnsafe(false)

      /** Releases due waiters; yields the earliest remaining target (Infinity when none). */
      const release = (now: number): number => {
        let next = Infinity
        const kept: Array<Waiter> = []
        const due: Array<Waiter> = []
        for (const waiter of waiters) {
          if (waiter.ms <= now || waiter.ms - now > abandonAheadMs) due.push(waiter)
          else {
            kept.push(waiter)
            if (waiter.ms < next) next = waiter.ms
          }
        }
        waiters = kept
        for (const waiter of due) waiter.resume(Effect.void)
        return next
      }

      const catcher = Effect.gen(function*() {
        while (true) {
          if (waiters.length === 0) {
            Latch.closeUnsafe(wake)
            yield* wake.await
            continue
          }
          const now = clock.currentTimeMillisUnsafe()
          const next = release(now)
          if (next === Infinity) continue
          const remaining = next - now
          yield* remaining > 1 ? Effect.sleep(remaining) : Effect.yieldNow
        }
      })
      yield* Effect.forkScoped(catcher)
      // Nobody is left hanging when the node shuts down: waiters decide again.
      yield* Effect.addFinalizer(() => Effect.sync(() => release(Infinity)))
      yield* SnowflakeMetrics.gaugeFrom(SnowflakeMetrics.waitQueue, () => waiters.length)

      const enqueue = (ms: number) =>
        Effect.callback<void>((resume) => {
          const waiter: Waiter = { ms, resume }
          waiters.push(waiter)
          if (waiters.length === 1) Latch.openUnsafe(wake)
          return Effect.sync(() => {
            const index = waiters.indexOf(waiter)
            if (index >= 0) waiters.splice(index, 1)
          })
        })

      const waitUntil = (ms: number) => (clock.currentTimeMillisUnsafe() >= ms ? Effect.void : enqueue(ms))

      return ClockCatcher.of({ waitUntil, waiting: () => waiters.length })
    })
  )
}
