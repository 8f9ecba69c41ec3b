/**
 * The wait at (re)acquisition of a worker id, leased or static: nothing may be issued
 * until the clock is past the timestamp ceiling the id's previous holders recorded. The
 * wait is said once, as a warning with the gap, and exported while it lasts
 * (`idgen_snowflake_ceiling_wait_seconds`).
 *
 * A gap beyond `maxWaitMs` is not waited for: the caller grants at once with that ceiling
 * as `afterMs`, and the generator's clock policy treats it as a clock stepped back —
 * IDGEN-SNOW-2001 while the gap exceeds the tolerated drift (fallbacks serve, `/health`
 * degraded), the logical clock within it.
 */
import { Clock, Effect, type Scope } from "effect"
import * as ScrapeTime from "../observability/ScrapeTime.ts"
import * as SnowflakeMetrics from "./SnowflakeMetrics.ts"

export interface CeilingWaitShape {
  /**
   * True once the clock is past `ceilingMs` (at once when it already is); false, without
   * waiting, when it is more than `maxWaitMs` behind. `publish` is told why issuing waits.
   */
  readonly waitPast: (input: {
    readonly workerId: number
    readonly ceilingMs: number
    readonly maxWaitMs: number
    readonly publish: (message: string, details: Record<string, unknown>) => void
  }) => Effect.Effect<boolean>
}

/** `toleratedMs`: the logical clock's threshold, beyond which the gap hints at a clock problem. */
export const make = (toleratedMs: number): Effect.Effect<CeilingWaitShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    let waitingFor: number | undefined
    const gapTo = (ceilingMs: number) => ceilingMs - clock.currentTimeMillisUnsafe()
    yield* ScrapeTime.gauge(
      SnowflakeMetrics.ceilingWait,
      () => (waitingFor === undefined ? 0 : Math.max(0, gapTo(waitingFor)) / 1000)
    )

    const waitPast: CeilingWaitShape["waitPast"] = ({ ceilingMs, maxWaitMs, publish, workerId }) =>
      Effect.gen(function*() {
        let gapMs = gapTo(ceilingMs)
        if (gapMs < 0) return true
        const behind = `worker ${workerId}: the clock is ${gapMs} ms behind the timestamp ceiling ${ceilingMs} ` +
          `recorded by the id's previous holder`
        const drift = gapMs > toleratedMs
          ? ` — more than the tolerated ${toleratedMs} ms drift: check this node's time sync`
          : ""
        if (gapMs > maxWaitMs) {
          yield* Effect.logWarning(
            `${behind}, more than the ${maxWaitMs} ms this node waits at start: snowflake refuses with ` +
              `IDGEN-SNOW-2001 (fallbacks serve) until the clock is within ${toleratedMs} ms of it${drift}`
          )
          return false
        }
        const message = `${behind}; waiting until it passes`
        publish(message, { worker_id: workerId, ceiling_ms: ceilingMs, gap_ms: gapMs })
        yield* Effect.logWarning(message + drift)
        waitingFor = ceilingMs
        while (gapMs >= 0) {
          yield* Effect.sleep(Math.min(gapMs + 1, 1000))
          gapMs = gapTo(ceilingMs)
        }
        return true
      }).pipe(Effect.ensuring(Effect.sync(() => (waitingFor = undefined))))

    return { waitPast }
  })
