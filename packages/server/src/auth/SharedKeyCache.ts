/**
 * The API-key cache shared by the nodes in Redis, between each node's local
 * cache and the database, and the revocation broadcast that keeps those local caches
 * honest. Keyed by the key's SHA-256 hash (never the key); an entry is written only after
 * the database verified the key.
 *
 * Revocation: `revoked(id)` writes a tombstone for the key id and publishes the id; every
 * node drops its local entry on the message, and reads and writes of the shared entry
 * check the tombstone inside one script — so a node that read the key from the database
 * just before the revocation cannot put it back. Tombstones outlive entries.
 *
 * Best effort throughout: with Redis down `get` misses, `put` and `revoked` do nothing,
 * and what bounds a revocation is the local TTL (`auth.cacheTtlMillis`) and the database,
 * which stays the authority: a tombstone that could not be written is made up for by the
 * `RevocationWatch` this cache keeps, and a shared entry is trusted only while the watch
 * has heard from the database recently.
 *
 * Without Redis (`layerLocal`) there is nothing to share: `get` misses, the rest does nothing.
 */
import type { Names } from "@idgen/core"
import { Clock, Context, Effect, Layer, type Scope } from "effect"
import { ServerConfig } from "../config/ServerConfig.ts"
import { RedisClient } from "../redis/RedisClient.ts"
import { ApiKeyRepo } from "../storage/ApiKeyRepo.ts"
import { pollMillis } from "../storage/ChangePoll.ts"
import * as RevocationWatch from "./RevocationWatch.ts"

export interface SharedKey {
  readonly id: string
  readonly workspace: Names.WorkspaceName
  /** Unix ms, or null for a key that never expires. */
  readonly expiresAtMs: number | null
}

const entryTtlMillis = 5 * 60_000
const tombstoneTtlMillis = 2 * entryTtlMillis
const channel = "idgen:apikey:revoked"
const entryKey = (hash: string) => `idgen:apikey:${hash}`
const tombstonePrefix = "idgen:apikey:revoked:"

/** The entry unless its key id has a tombstone (then the entry goes too). Standalone Redis: the tombstone key is derived in the script. */
const getScript = `
local v = redis.call('GET', KEYS[1])
if not v then return nil end
local ok, entry = pcall(cjson.decode, v)
if not ok or type(entry) ~= 'table' or redis.call('EXISTS', ARGV[1] .. tostring(entry.id)) == 1 then
  redis.call('DEL', KEYS[1])
  return nil
end
return v
`
/** SET PX unless the key id has a tombstone. */
const putScript = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`

type Call = (...args: Array<unknown>) => Promise<unknown>

/** A shared key this node may trust now. */
export interface TrustedKey {
  readonly id: string
  readonly workspace: Names.WorkspaceName
  /** Unix ms, Infinity for a key that never expires. */
  readonly expiresAtMs: number
  /** When the database last told this node which keys were revoked (Unix ms, its clock). */
  readonly confirmedAtMs: number
}

/** Where news of a revocation came from. */
export type RevokedBy = "broadcast" | "database"

export class SharedKeyCache extends Context.Service<SharedKeyCache, {
  /**
   * The verified key with this hash, when trusted now: not expired, not revoked as far as
   * this node knows, and the database heard from within the grace; else undefined (miss,
   * tombstoned, Redis down, no Redis).
   */
  get(hash: string): Effect.Effect<TrustedKey | undefined>
  /** Shares a key the database just verified; `ttlMillis` caps the entry's life (key expiry). */
  put(hash: string, key: SharedKey, ttlMillis: number): Effect.Effect<void>
  /** Key `id` is revoked, as this node learnt otherwise (the database refused it): its shared entry is no longer trusted here. */
  learn(id: string): void
  /** Key `id` was revoked here: `learn`, tombstone it and tell every node (`onRevoked`). */
  revoked(id: string): Effect.Effect<void>
  /** Calls `handler` with the id of every key revoked on any node, for the scope's lifetime. */
  onRevoked(handler: (id: string, by: RevokedBy) => void): Effect.Effect<void, never, Scope.Scope>
}>()("@idgen/server/auth/SharedKeyCache") {
  /** Nothing shared: each node verifies keys against the database itself. */
  static readonly layerLocal: Layer.Layer<SharedKeyCache> = Layer.succeed(
    SharedKeyCache,
    SharedKeyCache.of({
      get: () => Effect.undefined,
      put: () => Effect.void,
      learn: () => {},
      revoked: () => Effect.void,
      onRevoked: () => Effect.void
    })
  )

  /** Shared through Redis, with the database's revocations watched (see the module comment). */
  static readonly layerRedis: Layer.Layer<SharedKeyCache, never, RedisClient | ApiKeyRepo | ServerConfig> = Layer.effect(
    SharedKeyCache,
    Effect.gen(function*() {
      const redis = yield* RedisClient
      const clock = yield* Clock.Clock
      // Shared entries need the watch's word; while the database answers it looks every poll.
      const graceMillis = Math.max((yield* ServerConfig).auth.outageGraceMillis, 2 * pollMillis)
      const handlers = new Set<(id: string, by: RevokedBy) => void>()
      const watch = yield* RevocationWatch.make(yield* ApiKeyRepo, entryTtlMillis, (id) => {
        for (const handler of handlers) handler(id, "database")
      })
      const client = redis.client
      client.defineCommand("idgenGetKey", { numberOfKeys: 1, lua: getScript })
      client.defineCommand("idgenPutKey", { numberOfKeys: 2, lua: putScript })
      const commands = client as unknown as Record<"idgenGetKey" | "idgenPutKey", Call>
      /** A Redis call that never fails: Redis down is a miss, logged at debug. */
      const attempt = <A>(what: string, call: () => Promise<A>, orElse: A) =>
        !redis.isReady() ? Effect.succeed(orElse) : Effect.tryPromise(call).pipe(
          Effect.catch((error) => Effect.as(Effect.logDebug(`shared key cache: ${what} failed`, String(error)), orElse))
        )

      /** The entry, when this node may trust it now. */
      const trusted = (key: SharedKey): TrustedKey | undefined => {
        if (watch.isRevoked(key.id)) return undefined
        const now = clock.currentTimeMillisUnsafe()
        const expiresAtMs = key.expiresAtMs ?? Infinity
        // Not revoked as far as the database told this node at its watch's last look.
        const confirmedAtMs = watch.lastLookMillis()
        return expiresAtMs > now && now - confirmedAtMs < graceMillis
          ? { id: key.id, workspace: key.workspace, expiresAtMs, confirmedAtMs }
          : undefined
      }

      return SharedKeyCache.of({
        get: (hash) =>
          Effect.map(
            attempt("get", () => commands.idgenGetKey(entryKey(hash), tombstonePrefix), null),
            (value) => typeof value === "string" ? trusted(JSON.parse(value) as SharedKey) : undefined
          ),
        put: (hash, key, ttlMillis) =>
          attempt(
            "put",
            () =>
              commands.idgenPutKey(
                entryKey(hash),
                tombstonePrefix + key.id,
                JSON.stringify(key),
                Math.max(1, Math.min(entryTtlMillis, Math.floor(ttlMillis)))
              ),
            0
          ).pipe(Effect.asVoid),
        learn: watch.learn,
        // The publish goes out even when the tombstone could not be written, and vice versa.
        revoked: (id) =>
          Effect.suspend(() => {
            watch.learn(id)
            return Effect.all([
              attempt("tombstone", () => client.set(tombstonePrefix + id, "1", "PX", tombstoneTtlMillis), null),
              attempt("publish", () => client.publish(channel, id), 0)
            ], { discard: true })
          }),
        onRevoked: (handler) =>
          Effect.andThen(
            Effect.acquireRelease(Effect.sync(() => handlers.add(handler)), () => Effect.sync(() => handlers.delete(handler))),
            redis.subscribe(channel, (id) => {
              watch.learn(id)
              handler(id, "broadcast")
            })
          )
      })
    })
  )
}
