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
 * Best effort throughout: with Redis down (or not configured) `get` misses, `put` and
 * `revoked` do nothing, and what bounds a revocation is the local TTL
 * (`auth.cacheTtlMillis`) and the database, which stays the authority: a tombstone that
 * could not be written is made up for by `RevocationWatch`.
 */
import type { Names } from "@idgen/core"
import { Context, Effect, Layer, type Scope } from "effect"
import { RedisClient } from "../redis/RedisClient.ts"

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

export class SharedKeyCache extends Context.Service<SharedKeyCache, {
  /** The verified key with this hash, or undefined (miss, tombstoned, Redis down). */
  get(hash: string): Effect.Effect<SharedKey | undefined>
  /** Shares a key the database just verified; `ttlMillis` caps the entry's life (key expiry). */
  put(hash: string, key: SharedKey, ttlMillis: number): Effect.Effect<void>
  /** Tombstones key `id` and tells every node (`onRevoked`). */
  revoked(id: string): Effect.Effect<void>
  /** Calls `handler` with the id of every key revoked on any node, for the scope's lifetime. */
  onRevoked(handler: (id: string) => void): Effect.Effect<void, never, Scope.Scope>
}>()("@idgen/server/auth/SharedKeyCache") {
  /** The longest a shared entry lives. */
  static readonly entryTtlMillis = entryTtlMillis
  static readonly layer: Layer.Layer<SharedKeyCache, never, RedisClient> = Layer.effect(
    SharedKeyCache,
    Effect.gen(function*() {
      const redis = yield* RedisClient
      if (redis === undefined) {
        return SharedKeyCache.of({
          get: () => Effect.undefined,
          put: () => Effect.void,
          revoked: () => Effect.void,
          onRevoked: () => Effect.void
        })
      }
      const client = redis.client
      client.defineCommand("idgenGetKey", { numberOfKeys: 1, lua: getScript })
      client.defineCommand("idgenPutKey", { numberOfKeys: 2, lua: putScript })
      const commands = client as unknown as Record<"idgenGetKey" | "idgenPutKey", Call>
      /** A Redis call that never fails: Redis down is a miss, logged at debug. */
      const attempt = <A>(what: string, call: () => Promise<A>, orElse: A) =>
        !redis.isReady() ? Effect.succeed(orElse) : Effect.tryPromise(call).pipe(
          Effect.catch((error) => Effect.as(Effect.logDebug(`shared key cache: ${what} failed`, String(error)), orElse))
        )

      return SharedKeyCache.of({
        get: (hash) =>
          Effect.map(
            attempt("get", () => commands.idgenGetKey(entryKey(hash), tombstonePrefix), null),
            (value) => typeof value === "string" ? JSON.parse(value) as SharedKey : undefined
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
        // The publish goes out even when the tombstone could not be written, and vice versa.
        revoked: (id) =>
          Effect.all([
            attempt("tombstone", () => client.set(tombstonePrefix + id, "1", "PX", tombstoneTtlMillis), null),
            attempt("publish", () => client.publish(channel, id), 0)
          ], { discard: true }),
        onRevoked: (handler) => redis.subscribe(channel, handler)
      })
    })
  )
}
