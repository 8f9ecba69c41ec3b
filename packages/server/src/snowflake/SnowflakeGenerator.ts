/**
 * The node's one stateful snowflake generator. The pure Sequencer decides which
 * (timestamp, sequence) pairs to issue; this service owns the state, reads the clock
 * through Effect's `Clock` and waits — without blocking the event loop — when the
 * millisecond's 1024 sequences are used up or the clock is slightly behind.
 */
import { Errors, Sequencer, Snowflake } from "@idgen/core"
import { Clock, Context, Effect, Layer } from "effect"
import { ServerConfig } from "../config/ServerConfig.ts"
import { WorkerIdentity } from "./WorkerIdentity.ts"

type Blocked = Sequencer.WaitUntil | Sequencer.ClockBackward | Errors.NoAvailableWorkerId

export class SnowflakeGenerator extends Context.Service<SnowflakeGenerator, {
  /** `n` IDs in increasing order, as decimal strings. */
  next(n: number): Effect.Effect<Array<string>, Errors.ClockBackward | Errors.NoAvailableWorkerId>
}>()("@idgen/server/snowflake/SnowflakeGenerator") {
  static readonly layer = Layer.effect(
    SnowflakeGenerator,
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const identity = yield* WorkerIdentity
      const clock = yield* Clock.Clock
      const composer = new Snowflake.DecimalComposer(config.snowflake.epochMs)
      let state = Sequencer.initialState()

      /** Issues synchronously into `out` until it holds `n` IDs or something blocks. */
      const fill = (n: number, out: Array<string>): Blocked | undefined => {
        const worker = identity.current()
        if (typeof worker !== "number") return worker
        const node = Snowflake.nodeBits(identity.datacenterId, worker)
        while (out.length < n) {
          const decision = Sequencer.take(state, clock.currentTimeMillisUnsafe(), n - out.length)
          if (decision._tag === "WaitUntil" || decision._tag === "ClockBackward") return decision
          state = decision.state
          const end = decision.sequence + decision.count
          for (let sequence = decision.sequence; sequence < end; sequence++) {
            out.push(composer.toDecimal(decision.timestampMs, node | sequence))
          }
        }
        return undefined
      }

      // The wait for the next millisecond yields to the event loop and re-reads the clock:
      // a 1 ms timer fires late and would waste most of the next millisecond's sequences.
      // Longer waits (clock behind) sleep.
      const waitUntil = (ms: number) =>
        Effect.whileLoop({
          while: () => clock.currentTimeMillisUnsafe() < ms,
          body: () => {
            const remaining = ms - clock.currentTimeMillisUnsafe()
            return remaining > 1 ? Effect.sleep(remaining) : Effect.yieldNow
          },
          step: () => {}
        })

      const waitAndFill = Effect.fnUntraced(function*(n: number, out: Array<string>, blocked: Blocked) {
        let current: Blocked | undefined = blocked
        while (current !== undefined) {
          if (current._tag === "NoAvailableWorkerId") return yield* current
          if (current._tag === "ClockBackward") {
            return yield* new Errors.ClockBackward({
              message: `clock moved back ${current.driftMs} ms, beyond the tolerated drift`,
              details: { drift_ms: current.driftMs }
            })
          }
          yield* waitUntil(current.ms)
          current = fill(n, out)
        }
        return out
      })

      const next = (n: number) => {
        const out: Array<string> = []
        const blocked = fill(n, out)
        return blocked === undefined ? Effect.succeed(out) : waitAndFill(n, out, blocked)
      }

      return SnowflakeGenerator.of({ next })
    })
  )
}
