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

export class RateLimiter extends Context.Service<RateLimiter, {
  /**
   * Takes a token from the workspace's bucket and the client address's: undefined when
   * allowed, the 429 when refused, or an effect deciding it (see the module comment).
   */
  admit(workspace: Names.WorkspaceName, clientIp: string | undefined): Admission
  /** Takes `count` tokens from the workspace's IDs bucket (`rate_limit.ids_per_second`; none when unset), as `admit`. */
  admitIds(workspace: Names.WorkspaceName, count: number): Admission
}>()("@idgen/server/ratelimit/RateLimiter") {
  static readonly layer: Layer.Layer<RateLimiter, never, WorkspaceRepo | ServerConfig | RedisClient> = Layer.effect(
    RateLimiter,
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const redis = yield* RedisClient
      const context = yield* Effect.context<never>()
      const clock = Context.get(context, Clock.Clock)
      const runFork = (effect: Effect.Effect<unknown>) => void Effect.runForkWith(context)(effect)
      const now = () => clock.currentTimeMillisUnsafe()

      const local = new LocalBuckets()
      const shared = redis === undefined ? undefined : RedisTokenBucket.make(redis, local, now, (usingRedis, error) =>
        runFork(
          usingRedis
            ? Effect.logInfo("rate limiting is cluster-wide again (Redis is back)")
            : Effect.logWarning("Redis unavailable: rate limits are enforced per node until it is back", String(error ?? ""))
        ))
      const take = (key: string, limit: TokenBucket.Limit, at: number, cost = 1): Admission =>
        shared === undefined ? local.take(key, limit, at, cost) : shared.take(key, limit, at, cost)

      const limits = WorkspaceLimits.make(yield* WorkspaceRepo, runFork)
      const { perIpPerSecond, perIpBurst } = config.rateLimit
      const ipLimit = perIpPerSecond > 0 ? { perSecond: perIpPerSecond, burst: Math.max(1, perIpBurst) } : undefined

      yield* Effect.forkScoped(
        Effect.sync(() => {
          const at = now()
          local.sweep(at, idleMillis)
          shared?.sweep(at)
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

      return RateLimiter.of({ admit, admitIds })
    })
  )
}
