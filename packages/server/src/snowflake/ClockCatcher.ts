/**
 * The wait queue of the snowflake generator (docs/architecture.md, "Snowflake"): a request that
 * must wait for the clock — the millisecond's 1024 sequences are used up, or the clock is
 * a few milliseconds behind the last issued timestamp — parks here instead of polling,
 * and one clock-catcher fiber (supervised by the layer's scope) watches the clock and
 * releases every waiter whose millisecond has come, in arrival order. The event loop is
 * never blocked.
 *
 * The catcher runs only while someone waits. For a target more than a millisecond away
 * it sleeps; for the next millisecond it re-reads the clock on every event-loop turn
 * (`setImmediate`), because a 1 ms timer fires late and a late release would waste most
 * of the next millisecond's sequences — that is what keeps the generator at its
 * 1,024,000 IDs/s cap.
 *
 * Those turns are plain callbacks inside one `Effect.callback`, so the fiber suspends
 * once per wait, not once per turn, and a turn allocates nothing. With the fiber yielding
 * on every turn (about 100 turns per wait, 1000 waits/s), about half the processes had V8
 * switch to allocation-site pretenuring: scavenges then took ~10 ms each and the generator
 * lost ~12 % of its milliseconds.
 *
 * A waiter is also released when the clock falls further back than the wait tier covers
 * (a second step back while waiting): its caller decides again (logical clock or
 * IDGEN-SNOW-2001) rather than sleeping through a long drift.
 */
import { Clock, Context, Effect, Latch, Layer } from "effect"
import { ServerConfig } from "../config/ServerConfig.ts"
import * as ScrapeTime from "../observability/ScrapeTime.ts"
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

      const leaves = (waiter: Waiter, now: number) => waiter.ms <= now || waiter.ms - now > abandonAheadMs

      const someoneLeaves = (now: number): boolean => {
        for (const waiter of waiters) if (leaves(waiter, now)) return true
        return false
      }

      /** Releases the waiters whose time has come (or that no longer fit the wait tier). */
      const release = (now: number): void => {
        // Most turns release nobody: allocate only when someone leaves.
        if (!someoneLeaves(now)) return
        const released = waiters
        waiters = released.filter((waiter) => !leaves(waiter, now))
        for (const waiter of released) if (leaves(waiter, now)) waiter.resume(Effect.void)
      }

      /** The earliest target among the waiters (Infinity when none). */
      const earliest = (): number => {
        let next = Infinity
        for (const waiter of waiters) if (waiter.ms < next) next = waiter.ms
        return next
      }

      /** Resumes on the first event-loop turn at which some waiter must leave (or none is left). */
      const untilSomeoneLeaves = Effect.callback<void>((resume) => {
        let handle: ReturnType<typeof setImmediate> | undefined
        const poll = () => {
          const now = clock.currentTimeMillisUnsafe()
          if (waiters.length === 0 || someoneLeaves(now)) resume(Effect.void)
          else handle = setImmediate(poll)
        }
        handle = setImmediate(poll)
        return Effect.sync(() => clearImmediate(handle))
      })

      const catcher = Effect.gen(function*() {
        while (true) {
          if (waiters.length === 0) {
            Latch.closeUnsafe(wake)
            yield* wake.await
            continue
          }
          const now = clock.currentTimeMillisUnsafe()
          release(now)
          const remaining = earliest() - now
          if (remaining === Infinity) continue
          yield* remaining > 1 ? Effect.sleep(remaining) : untilSomeoneLeaves
        }
      })
      yield* Effect.forkScoped(catcher)
      // Nobody is left hanging when the node shuts down: waiters decide again.
      yield* Effect.addFinalizer(() => Effect.sync(() => release(Infinity)))
      yield* ScrapeTime.gauge(SnowflakeMetrics.waitQueue, () => waiters.length)

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
