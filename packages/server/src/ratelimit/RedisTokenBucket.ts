/**
 * Cluster-wide token buckets in Redis, with the hot path kept off the network: each node
 * takes tokens from the shared bucket in small leases (an atomic Lua script) and spends
 * them locally; only when a lease runs out does a request wait for the next one, and a
 * refusal from Redis is remembered until its retry-after, so a flood of refused requests
 * costs no round trips either. Leased tokens have left the shared bucket, so the cluster
 * as a whole never exceeds the limit; unused ones expire with the lease (at worst a node
 * under-uses its share for a moment).
 *
 * While Redis is unreachable (not connected, or a script call failed in the last second)
 * every bucket falls back to `LocalBuckets`, and back to Redis once it answers again.
 */
import { type Errors, Immediate, type TokenBucket } from "@idgen/core"
import { Effect } from "effect"
import type { RedisConnection } from "../redis/RedisClient.ts"
import { type LocalBuckets, rateLimited } from "./LocalBuckets.ts"

/** `TokenBucket.take` for `want` tokens at once, granting what there is (Redis clock). */
const takeScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) / 1000 * rate)
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
if granted > 0 then
  return {granted, 0}
end
return {0, math.ceil((1 - tokens) / rate * 1000)}
`

const commandName = "idgenTakeTokens"
/** Leased tokens not spent within this are dropped (they would otherwise burst later). */
const leaseMillis = 1_000
/** After a failed script call, how long to stay on the local buckets before trying Redis again. */
const backoffMillis = 1_000

/** About 50 ms of the limit per lease, never more than a quarter of the burst. */
export const leaseSize = (limit: TokenBucket.Limit): number =>
  Math.max(1, Math.min(Math.floor(limit.burst / 4), Math.ceil(limit.perSecond / 20)))

interface Lease {
  tokens: number
  expiresAt: number
  /** Redis refused until then: answer 429 without asking again. */
  refusedUntil: number
  pending: Promise<void> | undefined
}

/** Allowed (undefined), the 429, or the Effect deciding it (a lease to wait for). */
export type Admission = Immediate.Immediate<void, Errors.RateLimitExceeded>

export interface RedisTokenBucket {
  take(key: string, limit: TokenBucket.Limit, now: number, cost?: number): Admission
  sweep(now: number): void
}

export const make = (
  connection: RedisConnection,
  fallback: LocalBuckets,
  currentTimeMillis: () => number,
  onModeChange: (usingRedis: boolean, error?: unknown) => void
): RedisTokenBucket => {
  const client = connection.client
  client.defineCommand(commandName, { numberOfKeys: 1, lua: takeScript })
  const evalTake = (client as unknown as Record<string, (...args: Array<unknown>) => Promise<[number, number]>>)[commandName]!
    .bind(client)
  const leases = new Map<string, Lease>()
  let downUntil = 0
  let usingRedis = true

  const usable = (now: number): boolean => {
    const ok = now >= downUntil && connection.isReady()
    if (ok !== usingRedis) {
      usingRedis = ok
      onModeChange(ok)
    }
    return ok
  }

  const acquire = (key: string, lease: Lease, limit: TokenBucket.Limit, want: number): Promise<void> => {
    const pending = evalTake(`idgen:ratelimit:${key}`, limit.perSecond, limit.burst, want).then(
      ([granted, retryMillis]) => {
        const now = currentTimeMillis()
        if (granted > 0) {
          lease.tokens = (lease.expiresAt > now ? lease.tokens : 0) + granted
          lease.expiresAt = now + leaseMillis
        } else {
          lease.refusedUntil = now + retryMillis
        }
      },
      (error: unknown) => {
        downUntil = currentTimeMillis() + backoffMillis
        if (usingRedis) {
          usingRedis = false
          onModeChange(false, error)
        }
      }
    ).finally(() => {
      lease.pending = undefined
    })
    lease.pending = pending
    return pending
  }

  /** `asked`: a lease was already requested for this request (a batch asks once, then is refused). */
  const take = (key: string, limit: TokenBucket.Limit, now: number, cost = 1, asked = false): Admission => {
    if (!usable(now)) return fallback.take(key, limit, now, cost)
    // More than the bucket holds can never be granted: refused as the bucket would (no round trip).
    if (cost > limit.burst) return rateLimited(key, (cost - limit.burst) / limit.perSecond)
    let lease = leases.get(key)
    if (lease === undefined) {
      lease = { tokens: 0, expiresAt: 0, refusedUntil: 0, pending: undefined }
      leases.set(key, lease)
    }
    if (lease.tokens >= cost && lease.expiresAt > now) {
      lease.tokens -= cost
      // Large leases are refilled ahead of need; small ones (low limits) are not, so a
      // node does not hoard the few tokens the others need.
      const size = leaseSize(limit)
      if (size >= 4 && lease.tokens <= size / 4 && lease.pending === undefined) acquire(key, lease, limit, size)
      return undefined
    }
    if (lease.refusedUntil > now) return rateLimited(key, (lease.refusedUntil - now) / 1000)
    const held = lease.expiresAt > now ? lease.tokens : 0
    if (asked && cost > 1) return rateLimited(key, (cost - held) / limit.perSecond)
    // A lease at least as large as the request; what Redis grants short of it stays leased for later requests.
    const pending = lease.pending ?? acquire(key, lease, limit, Math.max(leaseSize(limit), Math.ceil(cost - held)))
    return Effect.flatMap(Effect.promise(() => pending), () => Immediate.toEffect(take(key, limit, currentTimeMillis(), cost, true)))
  }

  const sweep = (now: number) => {
    for (const [key, lease] of leases) {
      if (lease.pending === undefined && lease.expiresAt <= now && lease.refusedUntil <= now) leases.delete(key)
    }
  }

  return { take, sweep }
}
