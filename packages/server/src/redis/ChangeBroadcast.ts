/**
 * Tells every node that something it caches changed, within about `pollMillis` whatever
 * Redis does. The node that made the change publishes the thing's id on a Redis channel
 * (every node hears it in milliseconds); since messages published while a node is
 * disconnected are lost, and Redis may not be configured at all, every node also asks the
 * database each `pollMillis` what changed since its last look.
 *
 * The database's answer is a version per id (its change time). The look-back overlaps by
 * `overlapMillis` — a change is stamped with its transaction's start, which may commit
 * after a look that began later — so the same version comes back for a while; it is
 * reported once. The first look reports what changed in the last `overlapMillis`, which
 * costs a needless drop at most. While the database is down nothing is learnt from it
 * (and nothing can be changed in it either).
 */
import { Clock, Effect, Schedule, type Scope } from "effect"
import { RedisClient } from "./RedisClient.ts"

const pollMillis = 1_000
const overlapMillis = 5_000

export interface Changes {
  /** Ids changed after `since`, each with its version (Unix ms, the database's clock). */
  readonly changed: ReadonlyArray<{ readonly id: string; readonly version: number }>
  /** When the database looked (its clock): the next look starts from here. */
  readonly checkedAt: Date
}

export interface ChangeBroadcast {
  /** Id `id` just changed (committed): tell the other nodes now. Best effort, never fails. */
  changed(id: string): Effect.Effect<void>
}

/** Watches for the scope's lifetime, calling `onChanged` (idempotent) for every id changed on any node. */
export const make = <E>(options: {
  readonly channel: string
  readonly changedSince: (since: Date) => Effect.Effect<Changes, E>
  readonly onChanged: (id: string) => void
}): Effect.Effect<ChangeBroadcast, never, Scope.Scope | RedisClient> =>
  Effect.gen(function*() {
    const { channel, changedSince, onChanged } = options
    const redis = yield* RedisClient
    if (redis !== undefined) yield* redis.subscribe(channel, onChanged)

    /** Versions already reported, kept while the look-back can return them. */
    const reported = new Map<string, number>()
    let since = new Date((yield* Clock.currentTimeMillis) - overlapMillis)
    const look = Effect.gen(function*() {
      const { changed, checkedAt } = yield* changedSince(since)
      for (const { id, version } of changed) {
        if (reported.get(id) === version) continue
        reported.set(id, version)
        onChanged(id)
      }
      since = new Date(checkedAt.getTime() - overlapMillis)
      for (const [id, version] of reported) {
        if (version < since.getTime()) reported.delete(id)
      }
    }).pipe(Effect.catchCause((cause) => Effect.logDebug(`change broadcast ${channel}: database look skipped`, cause)))
    // Untraced: a query a second per node would bury the request traces.
    yield* Effect.forkScoped(look.pipe(Effect.repeat(Schedule.spaced(pollMillis)), Effect.withTracerEnabled(false)))

    return {
      changed: (id) =>
        redis === undefined || !redis.isReady() ? Effect.void : Effect.tryPromise(() => redis.client.publish(channel, id)).pipe(
          Effect.asVoid,
          Effect.catch((error) => Effect.logDebug(`change broadcast ${channel}: publish failed`, String(error)))
        )
    }
  })
