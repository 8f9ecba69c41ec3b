/**
 * Token buckets in this process (the pure arithmetic is `@idgen/core` `TokenBucket`): the
 * limiter without Redis, and its fallback while Redis is down — then each node enforces
 * the whole limit on its own, which is the most a node can do without the others.
 */
import { Errors, TokenBucket } from "@idgen/core"

/** Buckets kept at most (per-IP ones are keyed by client input); past it the oldest go. */
const maxBuckets = 100_000

export class LocalBuckets {
  readonly buckets = new Map<string, TokenBucket.Bucket>()

  /** Takes `cost` tokens from `key`'s bucket: undefined when allowed, else the 429. */
  take(key: string, limit: TokenBucket.Limit, now: number, cost = 1): Errors.RateLimitExceeded | undefined {
    const bucket = this.buckets.get(key)
    if (bucket === undefined && this.buckets.size >= maxBuckets) this.buckets.delete(this.buckets.keys().next().value!)
    const decision = TokenBucket.take(limit, bucket ?? TokenBucket.full(limit, now), now, cost)
    this.buckets.set(key, decision.bucket)
    return decision.allowed ? undefined : rateLimited(key, decision.retryAfterSeconds)
  }

  /**
   * Forgets buckets idle for `idleMillis`: by then they are full again, which is what an
   * absent bucket means (keeps per-IP buckets from accumulating).
   */
  sweep(now: number, idleMillis: number): void {
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.updatedMs > idleMillis) this.buckets.delete(key)
    }
  }
}

/** The 429 for bucket `key` (`ws:<workspace>` requests, `id:<workspace>` IDs, or `ip:<address>`). */
export const rateLimited = (key: string, retryAfterSeconds: number): Errors.RateLimitExceeded => {
  const kind = key.slice(0, 3)
  const workspace = key.slice(3)
  return new Errors.RateLimitExceeded({
    message: kind === "ip:"
      ? "Rate limit exceeded for this client address"
      : kind === "id:"
      ? `ID rate limit exceeded for workspace ${workspace} (rate_limit.ids_per_second)`
      : `Rate limit exceeded for workspace ${workspace}`,
    details: kind === "ip:"
      ? { scope: "client_ip" }
      : { scope: kind === "id:" ? "workspace_ids" : "workspace", workspace },
    retryAfterSeconds: TokenBucket.retryAfter(retryAfterSeconds)
  })
}
