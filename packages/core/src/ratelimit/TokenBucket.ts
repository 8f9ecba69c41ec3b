/**
 * A token bucket, pure: `burst` tokens at most, refilled at `perSecond`.
 * The same arithmetic runs in the Redis script (server `ratelimit/RedisTokenBucket.ts`) so that the
 * local fallback and the cluster-wide limiter agree on what a limit means.
 */

export interface Limit {
  readonly perSecond: number
  readonly burst: number
}

export interface Bucket {
  readonly tokens: number
  /** Unix ms the tokens were last computed at. */
  readonly updatedMs: number
}

export interface Decision {
  readonly allowed: boolean
  readonly bucket: Bucket
  /** When refused: seconds until `cost` tokens are available (> 0). */
  readonly retryAfterSeconds: number
}

/**
 * A wait as answered to a client (`retry_after_seconds`): whole milliseconds, at least one —
 * the bucket's arithmetic leaves float noise (0.44799999999999995) that means nothing.
 */
export const retryAfter = (seconds: number): number => Math.max(0.001, Math.round(seconds * 1000) / 1000)

export const full = (limit: Limit, now: number): Bucket => ({ tokens: limit.burst, updatedMs: now })

/** Takes `cost` tokens if there are that many after refilling up to `now`. */
export const take = (limit: Limit, bucket: Bucket, now: number, cost = 1): Decision => {
  const elapsed = Math.max(0, now - bucket.updatedMs) / 1000
  const tokens = Math.min(limit.burst, bucket.tokens + elapsed * limit.perSecond)
  if (tokens >= cost) return { allowed: true, bucket: { tokens: tokens - cost, updatedMs: now }, retryAfterSeconds: 0 }
  return {
    allowed: false,
    bucket: { tokens, updatedMs: now },
    retryAfterSeconds: retryAfter((cost - tokens) / limit.perSecond)
  }
}
