/**
 * What this node remembers about failed authentication, so that a flood of bad keys costs
 * memory lookups instead of database lookups:
 *
 * - a token bucket of failed attempts per client address (`auth.failed_per_ip_*`): once an
 *   address has used it up, a key this node has not seen valid is refused (429) before
 *   its lookup;
 * - a short negative cache of well-formed keys that match no stored key
 *   (`auth.unknown_key_cache_ms`): the guessed keys of a flood. Revoked and expired keys are
 *   looked up each time — they are real keys, and their refusals carry their own reason;
 * - the keys this node has verified, which the per-address limit never applies to, so a
 *   client is not locked out by someone else's mistakes behind the same address.
 *
 * Every map is keyed by client input, so every map is bounded (oldest entries go first)
 * and swept. Plain synchronous code: it runs on the request path.
 */
import { Errors, TokenBucket } from "@idgen/core"
import { unknownKey } from "./ApiKeys.ts"

/** Entries per map; a flood of distinct keys or addresses evicts the oldest. */
const maxEntries = 10_000

/** How long a verified key keeps its exemption from the per-address limit. */
const knownValidMillis = 60 * 60_000

export class FailedAttempts {
  readonly limit: TokenBucket.Limit
  readonly unknownKeyMillis: number
  readonly byAddress = new Map<string, TokenBucket.Bucket>()
  /** Unknown keys → until when they are refused without a lookup. */
  readonly unknownKeys = new Map<string, number>()
  /** Verified keys → when last verified. */
  readonly validKeys = new Map<string, number>()

  constructor(limit: TokenBucket.Limit, unknownKeyMillis: number) {
    this.limit = limit
    this.unknownKeyMillis = unknownKeyMillis
  }

  /** Whether this node verified `rawKey` lately: it is looked up whatever its address did. */
  isKnownValid(rawKey: string, now: number): boolean {
    const at = this.validKeys.get(rawKey)
    return at !== undefined && now - at < knownValidMillis
  }

  /**
   * The refusal of a key that is neither trusted nor known valid, decided from memory, or
   * undefined to look it up: 401 while the key is negatively cached, 429 while the address
   * has no failed attempt left. A lookup takes its failed attempt up front (given back by
   * `verified`), so concurrent lookups cannot overrun the address's limit.
   */
  refuseUnsafe(rawKey: string, address: string | undefined, now: number): Errors.Unauthorized | Errors.RateLimitExceeded | undefined {
    const until = this.unknownKeys.get(rawKey)
    if (until !== undefined) {
      if (until > now) {
        this.take(address, now)
        return unknownKey
      }
      this.unknownKeys.delete(rawKey)
    }
    const decision = this.take(address, now)
    return decision === undefined || decision.allowed ? undefined : throttled(decision.retryAfterSeconds)
  }

  /** The lookup refused `rawKey` with `error` (its attempt is spent); an unknown key is remembered for a while. */
  refused(rawKey: string, error: Errors.Unauthorized, now: number): void {
    if (error === unknownKey && this.unknownKeyMillis > 0) put(this.unknownKeys, rawKey, now + this.unknownKeyMillis)
  }

  /**
   * The lookup accepted `rawKey`: the key is known valid from now on, and the attempt the
   * lookup took from `address` (when `refuseUnsafe` decided it) is given back.
   */
  verified(rawKey: string, address: string | undefined, now: number): void {
    this.unknownKeys.delete(rawKey)
    put(this.validKeys, rawKey, now)
    this.undecided(address)
  }

  /**
   * The lookup could not decide (storage unreachable): the key may well be valid, so the
   * attempt it took from `address` is given back — an outage must not turn valid clients
   * into throttled ones.
   */
  undecided(address: string | undefined): void {
    const bucket = address === undefined ? undefined : this.byAddress.get(address)
    if (bucket !== undefined) {
      this.byAddress.set(address!, { tokens: Math.min(this.limit.burst, bucket.tokens + 1), updatedMs: bucket.updatedMs })
    }
  }

  /** Forgets what is over: full buckets, expired negative entries, old exemptions. */
  sweep(now: number): void {
    const refillMillis = (this.limit.burst / this.limit.perSecond) * 1000
    for (const [address, bucket] of this.byAddress) {
      if (now - bucket.updatedMs > refillMillis) this.byAddress.delete(address)
    }
    for (const [key, until] of this.unknownKeys) if (until <= now) this.unknownKeys.delete(key)
    for (const [key, at] of this.validKeys) if (now - at >= knownValidMillis) this.validKeys.delete(key)
  }

  /** Takes one failed attempt from the address (none when unknown). */
  private take(address: string | undefined, now: number): TokenBucket.Decision | undefined {
    if (address === undefined) return undefined
    const decision = TokenBucket.take(this.limit, this.byAddress.get(address) ?? TokenBucket.full(this.limit, now), now)
    put(this.byAddress, address, decision.bucket)
    return decision
  }
}

/** Sets `key` as the newest entry, evicting the oldest when full (Map keeps insertion order). */
const put = <V>(map: Map<string, V>, key: string, value: V): void => {
  map.delete(key)
  if (map.size >= maxEntries) {
    const oldest = map.keys().next()
    if (oldest.done !== true) map.delete(oldest.value)
  }
  map.set(key, value)
}

const throttled = (retryAfterSeconds: number) =>
  new Errors.RateLimitExceeded({
    message: "Too many failed authentication attempts from this client address; retry later with a valid API key",
    details: { scope: "failed_authentication" },
    retryAfterSeconds
  })
