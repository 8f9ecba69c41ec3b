/**
 * Tells every node that something it caches changed, within about `pollMillis` whatever
 * Redis does. With Redis (`layerRedis`), the node that made the change publishes the thing's
 * id on a Redis channel (every node hears it in milliseconds); since messages published
 * while a node is disconnected are lost, and without Redis (`layerLocal`) there is no
 * channel at all, every node also asks the database each `pollMillis` what changed since
 * its last look. On the embedded store (`layerSoleOwner`) there are no other nodes: its one
 * owner made every change itself and dropped its own copies then, so nothing is watched.
 *
 * The database's answer is a version per id (its change time); since the look-back
 * overlaps (`storage/ChangePoll.ts`), the same version comes back for a while and is
 * reported once. The first look reports what changed in the last `overlapMillis`, which
 * costs a needless drop at most.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { overlapMillis, pollChanges } from "../storage/ChangePoll.ts"
import { RedisClient } from "./RedisClient.ts"

export interface Changes {
  /** Ids changed after `since`, each with its version (Unix ms, the database's clock). */
  readonly changed: ReadonlyArray<{ readonly id: string; readonly version: number }>
  /** When the database looked (its clock): the next look starts from here. */
  readonly checkedAt: Date
}

export interface ChangeWatch {
  /** Id `id` just changed (committed): tell the other nodes now. Best effort, never fails. */
  changed(id: string): Effect.Effect<void>
}

export interface WatchOptions<E> {
  readonly channel: string
  readonly changedSince: (since: Date) => Effect.Effect<Changes, E>
  readonly onChanged: (id: string) => void
}

/** How a change reaches the other nodes at once, if anyhow. */
interface Channel {
  readonly subscribe: (channel: string, onMessage: (id: string) => void) => Effect.Effect<void, never, Scope.Scope>
  readonly publish: (channel: string, id: string) => Effect.Effect<void>
}

export class ChangeBroadcast extends Context.Service<ChangeBroadcast, {
  /** Watches for the scope's lifetime, calling `onChanged` (idempotent) for every id changed on any node. */
  watch<E>(options: WatchOptions<E>): Effect.Effect<ChangeWatch, never, Scope.Scope>
}>()("@idgen/server/redis/ChangeBroadcast") {
  /** The database poll alone. */
  static readonly layerLocal: Layer.Layer<ChangeBroadcast> = Layer.succeed(
    ChangeBroadcast,
    ChangeBroadcast.of({ watch: (options) => watchWith({ subscribe: () => Effect.void, publish: () => Effect.void }, options) })
  )

  /**
   * No other node writes the store (the embedded store: one owner, `storage/DataDirLock.ts`,
   * which the CLI's offline commands take too): nothing to watch, nobody to tell.
   */
  static readonly layerSoleOwner: Layer.Layer<ChangeBroadcast> = Layer.succeed(
    ChangeBroadcast,
    ChangeBroadcast.of({ watch: () => Effect.succeed({ changed: () => Effect.void }) })
  )

  /** A Redis channel per watch, and the database poll for what it misses. */
  static readonly layerRedis: Layer.Layer<ChangeBroadcast, never, RedisClient> = Layer.effect(
    ChangeBroadcast,
    Effect.map(RedisClient, (redis) => {
      const channel: Channel = {
        subscribe: redis.subscribe,
        publish: (channel, id) =>
          !redis.isReady() ? Effect.void : Effect.tryPromise(() => redis.client.publish(channel, id)).pipe(
            Effect.asVoid,
            Effect.catch((error) => Effect.logDebug(`change broadcast ${channel}: publish failed`, String(error)))
          )
      }
      return ChangeBroadcast.of({ watch: (options) => watchWith(channel, options) })
    })
  )
}

const watchWith = <E>(
  transport: Channel,
  { channel, changedSince, onChanged }: WatchOptions<E>
): Effect.Effect<ChangeWatch, never, Scope.Scope> =>
  Effect.gen(function*() {
    yield* transport.subscribe(channel, onChanged)

    /** Versions already reported, kept while the look-back can return them. */
    const reported = new Map<string, number>()
    yield* pollChanges({
      name: `change broadcast ${channel}`,
      lookBackMillis: overlapMillis,
      changedSince,
      onLook: ({ changed, checkedAt }) => {
        for (const { id, version } of changed) {
          if (reported.get(id) === version) continue
          reported.set(id, version)
          onChanged(id)
        }
        const oldest = checkedAt.getTime() - overlapMillis
        for (const [id, version] of reported) {
          if (version < oldest) reported.delete(id)
        }
      }
    })

    return { changed: (id) => transport.publish(channel, id) }
  })
