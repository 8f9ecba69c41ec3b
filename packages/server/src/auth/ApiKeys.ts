/**
 * API keys: `idgen_<workspace>_<32 lowercase hex>`. Only the SHA-256 hash is stored; the
 * key itself is shown once, at creation. Verification looks the key up by its public
 * prefix, compares hashes in constant time and checks enabled/expiry; verified keys are
 * trusted locally for `auth.cacheTtlMillis`, which bounds how long a revoked key keeps
 * working on this node. The local cache is keyed by the raw key, so a trusted key costs a
 * map lookup, not a SHA-256 per request (the shared cache, in Redis, only ever sees
 * hashes). A key in use is looked up again in the background once half its trust has passed,
 * so under steady traffic no request waits for the database; and one lookup at a time per
 * key (`SingleFlight`): the requests that miss while it runs share it (traffic with pauses
 * longer than the trust, or a first burst), each counting and auditing a refusal as its
 * own. With Redis, a key verified by any node is found in the shared
 * cache before the database is asked, and a revocation reaches every node's local cache
 * at once (`SharedKeyCache`); since Redis may miss one, every node also learns
 * revocations from the database within a second (`RevocationWatch`) and never takes a
 * revoked key from the shared cache. A node that cannot reach the database cannot learn
 * of a revocation made elsewhere: it honours a key only for `auth.outage_grace_ms` after
 * the database last confirmed it (and shared entries only while the revocation watch
 * heard from the database that recently), then answers DatabaseUnavailable (503): it
 * cannot tell the key is bad, only that it cannot check. Failed key use is written to
 * the audit log (sampled under a flood, `AuditLog`); every accepted use is noted for the
 * key's `last_used_at`, written coalesced (`KeyUsage`).
 */
import { Errors, Names } from "@idgen/core"
import { Clock, Context, Effect, Layer, Metric, Option, Schema } from "effect"
import { hash, randomBytes, timingSafeEqual } from "node:crypto"
import { type AuditEvent, AuditLog } from "../audit/AuditLog.ts"
import { claimRefresh, type RefreshAhead, refreshAhead } from "../cache/RefreshAhead.ts"
import * as SingleFlight from "../cache/SingleFlight.ts"
import { ServerConfig } from "../config/ServerConfig.ts"
import * as AuthMetrics from "./AuthMetrics.ts"
import { ApiKeyRepo } from "../storage/ApiKeyRepo.ts"
import * as KeyUsage from "./KeyUsage.ts"
import { SharedKeyCache } from "./SharedKeyCache.ts"

/** What the operator gets back once, at creation. */
export interface CreatedApiKey {
  readonly id: string
  readonly key: string
  readonly prefix: string
  /** RFC 3339, or null for a key that never expires. */
  readonly expires_at: string | null
}

export interface CreateOptions {
  readonly name: string | null
  readonly expiresAt: Date | null
}

export class ApiKeys extends Context.Service<ApiKeys, {
  /** NotFound when the workspace does not exist; InvalidRequest for an expiry in the past. */
  create(
    workspace: Names.WorkspaceName,
    options: CreateOptions
  ): Effect.Effect<CreatedApiKey, Errors.InvalidRequest | Errors.NotFound | Errors.DatabaseUnavailable>
  /** The workspace the key belongs to; Unauthorized when missing, unknown, disabled or expired. */
  verify(rawKey: string): Effect.Effect<Names.WorkspaceName, Errors.Unauthorized | Errors.DatabaseUnavailable>
  /**
   * `verify`'s answer when this node trusts the key right now (verified moments ago, not
   * revoked since), synchronously; undefined means "ask `verify`". For the HTTP hot path.
   */
  verifyCached(rawKey: string, nowMillis: number): Names.WorkspaceName | undefined
  /** Whether a lookup of the key runs now: a `verify` meanwhile shares it instead of asking again. */
  lookupRunning(rawKey: string): boolean
  /** Disables the key and forgets it locally. NotFound when the workspace has no such key. */
  revoke(workspace: Names.WorkspaceName, id: string): Effect.Effect<void, Errors.NotFound | Errors.DatabaseUnavailable>
}>()("@idgen/server/auth/ApiKeys") {
  static readonly layer: Layer.Layer<ApiKeys, never, ApiKeyRepo | ServerConfig | AuditLog | SharedKeyCache> = Layer.effect(
    ApiKeys,
    Effect.gen(function*() {
      const repo = yield* ApiKeyRepo
      const config = yield* ServerConfig
      const audit = yield* AuditLog
      const shared = yield* SharedKeyCache
      const cache = new VerifiedKeyCache(config.auth.cacheTtlMillis, maxCachedKeys, yield* KeyUsage.make(repo))
      const graceMillis = config.auth.outageGraceMillis
      // A key revoked on any node stops being trusted here now, not when its entry expires.
      const runFork = Effect.runForkWith(yield* Effect.context<never>())
      yield* shared.onRevoked((id, by) => {
        cache.forget(id)
        if (by === "broadcast") runFork(Effect.logInfo("API key revoked (broadcast)").pipe(Effect.annotateLogs({ key_id: id })))
      })

      /** Fails with `error`, counted in `idgen_auth_failures_total` and audited (failures only). */
      const refuse = (reason: AuthMetrics.AuthFailureReason, error: Errors.Unauthorized, rawKey: string) =>
        Effect.andThen(
          Metric.update(AuthMetrics.authFailures({ credential: "api_key", reason }), 1),
          reason === "missing" ? Effect.fail(error) : Effect.andThen(audit.record(keyUseFailure(rawKey, reason)), Effect.fail(error))
        )

      const create = Effect.fn("ApiKeys.create")(function*(workspace: Names.WorkspaceName, options: CreateOptions) {
        const now = yield* Clock.currentTimeMillis
        if (options.expiresAt !== null && options.expiresAt.getTime() <= now) {
          return yield* new Errors.InvalidRequest({
            message: "Invalid request body: expires_at: must be in the future",
            details: { location: "body", errors: [{ field: "expires_at", message: "must be in the future" }] }
          })
        }
        // A prefix collision (8 hex of the secret) is astronomically rare: draw again.
        const { key, record } = yield* Effect.suspend(() => {
          const secret = randomBytes(16).toString("hex")
          const key = `${keyPrefix}${workspace}_${secret}`
          return Effect.map(
            repo.insert({
              workspace,
              name: options.name,
              prefix: prefixOf(workspace, secret),
              keyHash: sha256Hex(key),
              expiresAt: options.expiresAt
            }),
            (record) => ({ key, record })
          )
        }).pipe(
          Effect.retry({ while: (error) => error._tag === "Conflict", times: 3 }),
          Effect.catchTag("Conflict", Effect.die)
        )
        return {
          id: record.id,
          key,
          prefix: record.prefix,
          expires_at: record.expiresAt === null ? null : record.expiresAt.toISOString()
        } satisfies CreatedApiKey
      })

      /** What the shared cache or the database says of the key; a refusal is the caller's to count. */
      const lookup = Effect.fnUntraced(function*(rawKey: string) {
        const parsed = parseKey(rawKey)
        // Not met: `verify` refuses a malformed key before it looks, and only verified keys are refreshed.
        if (parsed === undefined) return refusal("malformed", malformedKey)
        const hash = sha256Hex(rawKey)
        const sharedKey = yield* shared.get(hash)
        if (sharedKey !== undefined) {
          const now = yield* Clock.currentTimeMillis
          cache.put(rawKey, sharedKey.id, sharedKey.workspace, sharedKey.expiresAtMs, now, sharedKey.confirmedAtMs)
          return sharedKey.workspace
        }
        const found = yield* repo.findByPrefix(prefixOf(parsed.workspace, parsed.secret))
        if (Option.isNone(found) || !matches(found.value, hash, parsed.workspace)) return refusal("unknown", unknownKey)
        const record = found.value
        if (!record.enabled) {
          shared.learn(record.id)
          return refusal("disabled", unauthorized("API key is disabled"))
        }
        const now = yield* Clock.currentTimeMillis
        const expiresAtMs = record.expiresAt === null ? Infinity : record.expiresAt.getTime()
        if (expiresAtMs <= now) return refusal("expired", unauthorized("API key has expired"))
        cache.put(rawKey, record.id, record.workspace, expiresAtMs, now, now)
        yield* shared.put(
          hash,
          { id: record.id, workspace: record.workspace, expiresAtMs: record.expiresAt === null ? null : expiresAtMs },
          expiresAtMs - now
        )
        return record.workspace
      })

      const lookups = yield* SingleFlight.make(lookup)
      /** `lookup`, shared with the callers that miss the key while it runs. */
      const lookupOnce = (rawKey: string): Effect.Effect<Names.WorkspaceName, Errors.Unauthorized | Errors.DatabaseUnavailable> =>
        Effect.flatMap(
          SingleFlight.run(lookups, rawKey),
          (verdict) => typeof verdict === "string" ? Effect.succeed(verdict) : refuse(verdict.reason, verdict.error, rawKey)
        )

      const verify = (rawKey: string): Effect.Effect<Names.WorkspaceName, Errors.Unauthorized | Errors.DatabaseUnavailable> => {
        if (rawKey === "") return refuse("missing", missingKey, rawKey)
        return Clock.clockWith((clock) => {
          // A cached key was verified moments ago: no need to parse or hash it again.
          const workspace = cache.get(rawKey, clock.currentTimeMillisUnsafe())
          if (workspace !== undefined) return Effect.succeed(workspace)
          if (parseKey(rawKey) === undefined) return refuse("malformed", malformedKey, rawKey)
          // Database down: a key confirmed within the grace (and not revoked on this node
          // since) is still honoured, so a short outage does not lock every client out.
          return lookupOnce(rawKey).pipe(Effect.catchTag("DatabaseUnavailable", (error) => {
            const stale = cache.getStale(rawKey, clock.currentTimeMillisUnsafe(), graceMillis)
            return stale === undefined ? Effect.fail(error) : Effect.succeed(stale)
          }))
        })
      }

      const revoke = Effect.fn("ApiKeys.revoke")(function*(workspace: Names.WorkspaceName, id: string) {
        yield* repo.revoke(workspace, id)
        cache.forget(id)
        yield* shared.revoked(id)
      })

      /** Looks the key up again; a refusal drops it at once, an outage leaves it to expire. */
      const refresh = (rawKey: string) => {
        runFork(
          lookupOnce(rawKey).pipe(
            Effect.catchTag("Unauthorized", () => Effect.sync(() => cache.drop(rawKey))),
            Effect.catch((error) => Effect.logDebug("API key refresh skipped", String(error))),
            Effect.withTracerEnabled(false)
          )
        )
      }

      const verifyCached = (rawKey: string, nowMillis: number) => {
        const workspace = cache.get(rawKey, nowMillis)
        if (workspace !== undefined && cache.claimRefresh(rawKey, nowMillis)) refresh(rawKey)
        return workspace
      }

      const lookupRunning = (rawKey: string) => SingleFlight.running(lookups, rawKey)

      return ApiKeys.of({ create, verify, verifyCached, lookupRunning, revoke })
    })
  )
}

const keyPrefix = "idgen_"
const maxCachedKeys = 10_000
const keyPattern = /^idgen_([a-z0-9][a-z0-9_-]{0,63})_([0-9a-f]{32})$/

/** Why a lookup refuses a key: counted in `idgen_auth_failures_total` and audited, per caller. */
interface Refusal {
  readonly reason: AuthMetrics.AuthFailureReason
  readonly error: Errors.Unauthorized
}
const refusal = (reason: AuthMetrics.AuthFailureReason, error: Errors.Unauthorized): Refusal => ({ reason, error })

interface ParsedKey {
  readonly workspace: Names.WorkspaceName
  readonly secret: string
}

const isWorkspaceName = Schema.is(Names.WorkspaceName)

/** Splits a well-formed key; the workspace may itself contain `_`, the secret never does. */
export const parseKey = (rawKey: string): ParsedKey | undefined => {
  const match = keyPattern.exec(rawKey)
  if (match === null || !isWorkspaceName(match[1])) return undefined
  return { workspace: match[1], secret: match[2]! }
}

/** The public, indexed part of a key: `idgen_<workspace>_<first 8 hex>`. */
export const prefixOf = (workspace: string, secret: string): string => `${keyPrefix}${workspace}_${secret.slice(0, 8)}`

/** Lowercase hex SHA-256, the form stored in `api_keys.key_hash`. */
export const sha256Hex = (s: string): string => hash("sha256", s, "hex")

/** Constant-time comparison of the stored hash with the presented key's hash. */
const matches = (record: { readonly keyHash: string; readonly workspace: string }, hash: string, workspace: string): boolean => {
  const stored = Buffer.from(record.keyHash, "hex")
  const presented = Buffer.from(hash, "hex")
  return stored.length === presented.length && timingSafeEqual(stored, presented) && record.workspace === workspace
}

const unauthorized = (message: string) => new Errors.Unauthorized({ message, details: {} })
/** `idgen_<workspace>_<first 8 hex>` of a well-formed key (public, indexed); null otherwise. */
const publicPrefixOf = (rawKey: string): string | null => {
  const parsed = parseKey(rawKey)
  return parsed === undefined ? null : prefixOf(parsed.workspace, parsed.secret)
}

/** The audit event of a refused key (`reason` as in `idgen_auth_failures_total`). */
export const keyUseFailure = (rawKey: string, reason: AuthMetrics.AuthFailureReason): AuditEvent => ({
  eventType: "key_use_failure",
  // Only the public part of the key: the prefix, when the key is well-formed.
  actor: publicPrefixOf(rawKey),
  action: "verify_api_key",
  resource: "api_key",
  result: "failure",
  metadata: { reason }
})

/** The refusal of a well-formed key that matches no stored one (what `FailedAttempts` caches). */
export const unknownKey = unauthorized("Unknown API key")

const missingKey = new Errors.Unauthorized({ message: "Missing X-API-Key header", details: { header: "X-API-Key" } })
const malformedKey = new Errors.Unauthorized({
  message: "Malformed API key; expected idgen_<workspace>_<32 lowercase hex>",
  details: { header: "X-API-Key" }
})

interface CachedKey extends RefreshAhead {
  readonly id: string
  readonly workspace: Names.WorkspaceName
  /** When this node stops trusting the entry (Unix ms). */
  readonly trustedUntil: number
  readonly keyExpiresAt: number
  /** When the database last said the key was good, to this node (Unix ms): what the outage grace counts from. */
  readonly confirmedAt: number
}

/**
 * Verified keys by raw key, trusted for `ttlMillis` (never past the key's own expiry).
 * Bounded: when full, the oldest entry goes (Map keeps insertion order). Revocation
 * (`forget`) goes by key id, so it reaches an entry whatever it is keyed by.
 */
class VerifiedKeyCache {
  readonly entries = new Map<string, CachedKey>()
  readonly ttlMillis: number
  readonly maxEntries: number
  /** Told of every use of a key this cache answers or takes in (`last_used_at`). */
  readonly usage: KeyUsage.KeyUsage
  constructor(ttlMillis: number, maxEntries: number, usage: KeyUsage.KeyUsage) {
    this.ttlMillis = ttlMillis
    this.maxEntries = maxEntries
    this.usage = usage
  }

  get(rawKey: string, now: number): Names.WorkspaceName | undefined {
    const entry = this.entries.get(rawKey)
    if (entry === undefined || entry.trustedUntil <= now) return undefined
    this.usage.note(entry.id, now)
    return entry.workspace
  }

  /** An entry confirmed less than `graceMillis` ago (never past the key's own expiry), for a database outage. */
  getStale(rawKey: string, now: number, graceMillis: number): Names.WorkspaceName | undefined {
    const entry = this.entries.get(rawKey)
    if (entry === undefined || entry.keyExpiresAt <= now || now - entry.confirmedAt >= graceMillis) return undefined
    this.usage.note(entry.id, now)
    return entry.workspace
  }

  put(
    rawKey: string,
    id: string,
    workspace: Names.WorkspaceName,
    keyExpiresAt: number,
    now: number,
    confirmedAt: number
  ): void {
    this.usage.note(id, now)
    if (this.ttlMillis <= 0) return
    this.entries.delete(rawKey)
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next()
      if (oldest.done !== true) this.entries.delete(oldest.value)
    }
    this.entries.set(rawKey, {
      id,
      workspace,
      trustedUntil: Math.min(now + this.ttlMillis, keyExpiresAt),
      ...refreshAhead(now, this.ttlMillis),
      keyExpiresAt,
      confirmedAt
    })
  }

  /** True once per entry, when it is due for its background lookup (a new entry replaces it). */
  claimRefresh(rawKey: string, now: number): boolean {
    const entry = this.entries.get(rawKey)
    return entry !== undefined && claimRefresh(entry, now)
  }

  drop(rawKey: string): void {
    this.entries.delete(rawKey)
  }

  forget(id: string): void {
    for (const [rawKey, entry] of this.entries) {
      if (entry.id === id) this.entries.delete(rawKey)
    }
  }
}
