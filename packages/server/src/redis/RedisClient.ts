/**
 * The optional Redis connection (`IDGEN_REDIS_URL`). Redis is a cache and a coordinator
 * here, never an authority: every user of it has a node-local answer for when it is down.
 * So this connection never makes anyone wait for Redis to come back — commands fail at
 * once while it is disconnected (no offline queue, one attempt, a short command timeout)
 * — and it reconnects by itself, forever, in the background. Errors are logged, never
 * thrown: the process does not go down with Redis.
 *
 * Built only when `redis.url` is set: `App.ts` then picks the Redis-backed layer of each
 * service that has one (`layerRedis`), else their node-local ones (`layerLocal`) — except on
 * the embedded store, whose one node shares no verified key and hears of no change (`Peers`).
 */
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import type { Redis } from "ioredis"
import { ServerConfig } from "../config/ServerConfig.ts"

export interface RedisConnection {
  /** Commands; they fail immediately while Redis is unreachable. */
  readonly client: Redis
  /** Connected and ready to take commands now (plain and synchronous: hot paths ask). */
  readonly isReady: () => boolean
  /** Why the connection is not ready (the last connection error), for `/health`; "" once ready. */
  readonly lastError: () => string
  /**
   * Calls `onMessage` for every message on `channel` for the lifetime of the scope. The
   * subscription survives reconnects; messages published while disconnected are lost, so
   * subscribers must have a bound of their own (a TTL) on what a lost message costs.
   */
  readonly subscribe: (channel: string, onMessage: (message: string) => void) => Effect.Effect<void, never, Scope.Scope>
}

export class RedisClient extends Context.Service<RedisClient, RedisConnection>()(
  "@idgen/server/redis/RedisClient"
) {
  static readonly layer: Layer.Layer<RedisClient, never, ServerConfig> = Layer.effect(
    RedisClient,
    Effect.gen(function*() {
      const url = (yield* ServerConfig).redis.url
      if (url === undefined) return yield* Effect.die(new Error("RedisClient.layer needs redis.url"))
      // Loaded here: a node without Redis does not spend its start-up loading the client.
      const ioredis = yield* Effect.promise(() => import("ioredis"))
      const context = yield* Effect.context<never>()
      const log = (message: string) => (error: Error) =>
        Effect.runForkWith(context)(Effect.logWarning(message, error.message))

      const connect = (name: string, offlineQueue: boolean) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            const client = new ioredis.Redis(Redacted.value(url), {
              connectionName: name,
              enableOfflineQueue: offlineQueue,
              maxRetriesPerRequest: 0,
              commandTimeout: commandTimeoutMillis,
              connectTimeout: 2_000,
              // Reconnect forever, backing off to one attempt per 2 s.
              retryStrategy: (times) => Math.min(times * 100, 2_000)
            })
            // Without an error listener, ioredis' errors would crash the process.
            let lastError = ""
            client.on("error", (error: Error) => {
              if (error.message !== lastError) log(`redis ${name}: error`)(error)
              lastError = error.message
            })
            client.on("ready", () => {
              if (lastError !== "") Effect.runForkWith(context)(Effect.logInfo(`redis ${name}: reconnected`))
              lastError = ""
            })
            return { client, lastError: () => lastError }
          }),
          ({ client }) =>
            Effect.promise(() => client.quit().then(() => undefined, () => client.disconnect())).pipe(
              Effect.timeoutOrElse({ duration: "2 seconds", orElse: () => Effect.sync(() => client.disconnect()) })
            )
        )

      const { client, lastError } = yield* connect("idgen", false)
      // Subscriptions are queued until the first connection and replayed on reconnect.
      const { client: subscriber } = yield* connect("idgen-sub", true)
      const handlers = new Map<string, Set<(message: string) => void>>()
      subscriber.on("message", (channel: string, message: string) => {
        const set = handlers.get(channel)
        if (set !== undefined) for (const handler of set) handler(message)
      })

      const subscribe = (channel: string, onMessage: (message: string) => void) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            let set = handlers.get(channel)
            if (set === undefined) {
              set = new Set()
              handlers.set(channel, set)
              subscriber.subscribe(channel).catch(log(`redis: subscribe ${channel} failed`))
            }
            set.add(onMessage)
          }),
          () => Effect.sync(() => handlers.get(channel)?.delete(onMessage))
        ).pipe(Effect.asVoid)

      return { client, isReady: () => client.status === "ready", lastError, subscribe } satisfies RedisConnection
    })
  )
}

/** A command slower than this counts as Redis being unavailable. */
const commandTimeoutMillis = 500
