/**
 * Asks the database every `pollMillis`, for the scope's lifetime, what changed since its
 * last look — the path that holds whatever Redis does (down, not configured, a lost
 * message). The look-back overlaps by `overlapMillis`: a change is stamped with its
 * transaction's start, which may commit after a look that began later, so the same change
 * can come back for a while and `onLook` must be idempotent. While the database is down
 * nothing is learnt from it (and nothing can be changed in it either).
 */
import { Clock, Effect, Schedule, type Scope } from "effect"
import { tracked } from "../observability/EventLoopDelay.ts"

export const pollMillis = 1_000
export const overlapMillis = 5_000

export const pollChanges = <A extends { readonly checkedAt: Date }, E>(options: {
  /** For the log line of a skipped look. */
  readonly name: string
  /** How far back the first look reaches. */
  readonly lookBackMillis: number
  /** What changed after `since`, and when the database looked (its clock). */
  readonly changedSince: (since: Date) => Effect.Effect<A, E>
  readonly onLook: (result: A) => void
}): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    let since = new Date((yield* Clock.currentTimeMillis) - options.lookBackMillis)
    const look = Effect.map(options.changedSince(since), (result) => {
      options.onLook(result)
      since = new Date(result.checkedAt.getTime() - overlapMillis)
    }).pipe(Effect.catchCause((cause) => Effect.logDebug(`${options.name}: database look skipped`, cause)))
    // Untraced: a query a second per node would bury the request traces.
    yield* Effect.forkScoped(
      look.pipe(tracked(options.name), Effect.repeat(Schedule.spaced(pollMillis)), Effect.withTracerEnabled(false))
    )
  })
