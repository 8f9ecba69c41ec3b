/**
 * Rate limiting of the ID endpoints: a token bucket per workspace (its
 * stored `rate_limit`; none when null) and one per client IP (`rate_limit.per_ip_*`; off
 * at 0). Cluster-wide through Redis when it is configured (`RedisTokenBucket`), else — and
 * while Redis is down — per node (`LocalBuckets`). Over a limit: 429 IDGEN-COMMON-0003
 * with the seconds until a token is back (`Retry-After`).
 *
 * `admit` is synchronous for what the hot path needs to be cheap: a workspace without a
 * limit costs a map lookup, a request spending a leased token a few more. Only the first
 * request of a workspace (loading its limit) and a request that needs a new Redis lease
 * get an effect to wait for.
 */
import { Errors, Immediate, type Names, type TokenBucket } from "@idgen/core"
import { Clock, Context, Effect, Layer, Schedule } from "effect"
import { ServerConfig } from "../config/ServerConfig.ts"
import { RedisClient } from "../redis/RedisClient.ts"
import { plainIp } from "../net/ClientAddress.ts"
import { WorkspaceRepo } from "../storage/WorkspaceRepo.ts"
import { LocalBuckets } from "./LocalBuckets.ts"
import * as RedisTokenBucket from "./RedisTokenBucket.ts"
import * as WorkspaceLimits from "./WorkspaceLimits.ts"

export type Admission = RedisTokenBucket.Admission

/** Idle buckets are forgotten after this (per-IP buckets would otherwise pile up). */
const idleMillis = 10 * 60_000

/** Where the buckets live: `take` tokens (allowed, the 429, or an Effect deciding), `sweep` what is idle. */
interface Buckets {
  take(key: string, limit: TokenBucket.Limit, at: number, cost?: number): Admission
  sweep(at: number): void
}

/** What makes the buckets, given the node's own (the fallback of shared ones). */
type MakeBuckets<R> = (
  local: LocalBuckets,
  now: () => number,
  runFork: (effect: Effect.Effect<unknown>) => void
) => Effect.Effect<Buckets, never, R>

export class RateLimiter extends Context.Service<RateLimiter, {
  /**
   * Takes a token from the workspace's bucket and the client address's: undefined when
   * allowed, the 429 when refused, or an effect deciding it (see the module comment).
   */
  admit(workspace: Names.WorkspaceName, clientIp: string | undefined): Admission
  /** Takes `count` tokens from the workspace's IDs bucket (`rate_limit.ids_per_second`; none when unset), as `admit`. */
  admitIds(workspace: Names.WorkspaceName, count: number): Admission
}>()("@idgen/server/ratelimit/RateLimiter") {
  /** Every node enforces each limit on its own. */
  static readonly layerLocal: Layer.Layer<RateLimiter, never, WorkspaceRepo | ServerConfig> = layerWith(
    RateLimiter,
    (local) => Effect.succeed({ take: (key, limit, at, cost) => local.take(key, limit, at, cost), sweep: () => {} })
  )

  /** Cluster-wide through Redis (`RedisTokenBucket`), per node while Redis is down. */
  static readonly layerRedis: Layer.Layer<RateLimiter, never, WorkspaceRepo | ServerConfig | RedisClient> = layerWith(
    RateLimiter,
    (local, now, runFork) =>
      Effect.map(RedisClient, (redis) =>
        RedisTokenBucket.make(redis, local, now, (usingRedis, error) =>
          runFork(
            usingRedis
              ? Effect.logInfo("rate limiting is cluster-wide again (Redis is back)")
              : Effect.logWarning("Redis unavailable: rate limits are enforced per node until it is back", String(error ?? ""))
          )))
  )
}

function layerWith<R>(tag: typeof RateLimiter, makeBuckets: MakeBuckets<R>): Layer.Layer<RateLimiter, never, WorkspaceRepo | ServerConfig | R> {
  return Layer.effect(
    tag,
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const context = yield* Effect.context<never>()
      const clock = Context.get(context, Clock.Clock)
      const runFork = (effect: Effect.Effect<unknown>) => void Effect.runForkWith(context)(effect)
      const now = () => clock.currentTimeMillisUnsafe()

      const local = new LocalBuckets()
      const buckets = yield* makeBuckets(local, now, runFork)
      const take = (key: string, limit: TokenBucket.Limit, at: number, cost = 1): Admission => buckets.take(key, limit, at, cost)

      const limits = WorkspaceLimits.make(yield* WorkspaceRepo, runFork)
      const { perIpPerSecond, perIpBurst } = config.rateLimit
      const ipLimit = perIpPerSecond > 0 ? { perSecond: perIpPerSecond, burst: Math.max(1, perIpBurst) } : undefined

      yield* Effect.forkScoped(
        Effect.sync(() => {
          const at = now()
          local.sweep(at, idleMillis)
          buckets.sweep(at)
        }).pipe(Effect.repeat(Schedule.spaced("10 seconds")))
      )

      const admit = (workspace: Names.WorkspaceName, clientIp: string | undefined): Admission => {
        const at = now()
        const byIp = ipLimit === undefined || clientIp === undefined ? undefined : take(`ip:${plainIp(clientIp)}`, ipLimit, at)
        if (byIp instanceof Errors.RateLimitExceeded) return byIp
        const limit = limits.get(workspace, at)
        if (limit === null) return byIp
        if (Effect.isEffect(limit)) {
          return Effect.andThen(
            Immediate.toEffect(byIp),
            Effect.flatMap(limit, (loaded) => loaded === null ? Effect.void : Immediate.toEffect(take(`ws:${workspace}`, loaded, now())))
          )
        }
        const byWorkspace = take(`ws:${workspace}`, limit, at)
        return byIp === undefined || byWorkspace instanceof Errors.RateLimitExceeded
          ? byWorkspace
          : Effect.andThen(byIp, Immediate.toEffect(byWorkspace))
      }

      const admitIds = (workspace: Names.WorkspaceName, count: number): Admission => {
        const limit = limits.get(workspace, now())
        if (limit === null) return undefined
        if (Effect.isEffect(limit)) {
          return Effect.flatMap(limit, (loaded) =>
            loaded?.ids === undefined ? Effect.void : Immediate.toEffect(take(`id:${workspace}`, loaded.ids, now(), count)))
        }
        return limit.ids === undefined ? undefined : take(`id:${workspace}`, limit.ids, now(), count)
      }

      return tag.of({ admit, admitIds })
    })
  )
}
