/**
 * The front door of the ID operations, the same for every interface (the HTTP fast path,
 * the HttpApi router, gRPC, Effect RPC over HTTP and WebSocket): who is calling, and may
 * they. In order, each step cheaper than the next:
 *
 * 1. a key this node trusts right now (`ApiKeys.verifyCached`): a map lookup;
 * 2. an unknown key refused moments ago (401, counted and audited as any refusal) or, for
 *    a key this node has never seen valid, an address out of failed attempts (429):
 *    decided from memory (`FailedAttempts`);
 * 3. `ApiKeys.verify` (shared cache, database); its refusals feed step 2. One lookup of a
 *    key is charged to the address; the callers of that key that come while it runs share
 *    it uncharged (`ApiKeys` looks a key up once at a time), else a first burst of a valid
 *    key — a load test's first second — would be refused 429 for failures that never were;
 * 4. for a request (`admit…`, not `authenticate…`): the workspace's and the address's rate
 *    limits (`RateLimiter`).
 *
 * The `…Unsafe` forms answer with an `Immediate` (core's convention): the workspace or the
 * refusal whenever memory decides, an Effect only when a lookup or a Redis lease is
 * needed, so the HTTP fast path serves the usual request without a fiber. The Effect
 * forms do nothing until run.
 */
import { type Errors, Immediate, type Names } from "@idgen/core"
import { Clock, Context, Effect, Layer, Schedule } from "effect"
import { AuditLog } from "../audit/AuditLog.ts"
import { ApiKeys, keyUseFailure } from "../auth/ApiKeys.ts"
import { FailedAttempts } from "../auth/FailedAttempts.ts"
import { ServerConfig } from "../config/ServerConfig.ts"
import * as AuthMetrics from "../auth/AuthMetrics.ts"
import * as RateLimiter from "../ratelimit/RateLimiter.ts"
import * as ClientAddress from "../net/ClientAddress.ts"

/** A refusal known without running anything. */
export type Refusal = Errors.Unauthorized | Errors.RateLimitExceeded

/** Whatever admission can fail with: a refusal, or storage not answering the lookup. */
export type AdmissionError = Refusal | Errors.DatabaseUnavailable

/** The workspace, a refusal, or the Effect that decides (lookups, leases). */
export type Admitted = Immediate.Immediate<Names.WorkspaceName, AdmissionError>

export class Admission extends Context.Service<Admission, {
  /** The address the per-IP limits use for a connection's peer and its `X-Forwarded-For` (`ClientAddress`). */
  clientAddress: ClientAddress.ClientAddress
  /** The workspace of `rawKey`, checked as above without taking a rate-limit token (before a body or a connection). */
  authenticateUnsafe(rawKey: string, clientIp: string | undefined): Admitted
  /** `authenticateUnsafe`, then the rate limits: the admission of one request. */
  admitUnsafe(rawKey: string, clientIp: string | undefined): Admitted
  authenticate(rawKey: string, clientIp: string | undefined): Effect.Effect<Names.WorkspaceName, AdmissionError>
  admit(rawKey: string, clientIp: string | undefined): Effect.Effect<Names.WorkspaceName, AdmissionError>
  /**
   * Once the request is decoded: its `count` IDs against the workspace's IDs-per-second
   * limit (429 when over it) — undefined when allowed, the refusal, or the Effect deciding.
   */
  admitIdsUnsafe(workspace: Names.WorkspaceName, count: number): RateLimiter.Admission
  admitIds(workspace: Names.WorkspaceName, count: number): Effect.Effect<void, Errors.RateLimitExceeded>
}>()("@idgen/server/requests/Admission") {
  static readonly layer: Layer.Layer<Admission, never, ApiKeys | RateLimiter.RateLimiter | AuditLog | ServerConfig> = Layer.effect(
    Admission,
    Effect.gen(function*() {
      const apiKeys = yield* ApiKeys
      const limiter = yield* RateLimiter.RateLimiter
      const serverConfig = yield* ServerConfig
      const config = serverConfig.auth
      const context = yield* Effect.context<never>()
      const clock = Context.get(context, Clock.Clock)
      const failures = new FailedAttempts(config.failedPerIp, config.unknownKeyCacheMillis)
      const audit = yield* AuditLog
      const runFork = Effect.runForkWith(context)
      const cached = AuthMetrics.authRefusedWithoutLookup({ reason: "cached" })
      const throttled = AuthMetrics.authRefusedWithoutLookup({ reason: "throttled" })
      const unknown = AuthMetrics.authFailures({ credential: "api_key", reason: "unknown" })

      yield* Effect.forkScoped(
        Effect.sync(() => failures.sweep(clock.currentTimeMillisUnsafe())).pipe(Effect.repeat(Schedule.spaced("10 seconds")))
      )

      /** Step 3, remembering the outcome for step 2; `attempted`: the address spent an attempt on it. */
      const verify = (rawKey: string, attempted: string | undefined) =>
        apiKeys.verify(rawKey).pipe(
          Effect.tap(() => Effect.sync(() => failures.verified(rawKey, attempted, clock.currentTimeMillisUnsafe()))),
          Effect.tapError((error) =>
            error._tag === "Unauthorized"
              ? Effect.sync(() => failures.refused(rawKey, error, clock.currentTimeMillisUnsafe()))
              : Effect.sync(() => failures.undecided(attempted))
          )
        )

      const authenticateUnsafe = (rawKey: string, clientIp: string | undefined): Admitted => {
        const now = clock.currentTimeMillisUnsafe()
        const trusted = apiKeys.verifyCached(rawKey, now)
        if (trusted !== undefined) return trusted
        // A lookup of the key under way took its attempt: its callers meanwhile share it, uncharged.
        if (failures.isKnownValid(rawKey, now) || apiKeys.lookupRunning(rawKey)) return verify(rawKey, undefined)
        const address = clientIp === undefined ? undefined : ClientAddress.plainIp(clientIp)
        const refused = failures.refuseUnsafe(rawKey, address, now)
        if (refused === undefined) return verify(rawKey, address)
        if (refused._tag === "Unauthorized") {
          // Still a refused credential: counted and audited (sampled) like a looked-up one.
          cached.updateUnsafe(1, context)
          unknown.updateUnsafe(1, context)
          runFork(audit.record(keyUseFailure(rawKey, "unknown")))
        } else {
          throttled.updateUnsafe(1, context)
        }
        return refused
      }

      const admitUnsafe = (rawKey: string, clientIp: string | undefined): Admitted =>
        Immediate.flatMap(
          authenticateUnsafe(rawKey, clientIp),
          (workspace) => Immediate.map(limiter.admit(workspace, clientIp), () => workspace)
        )

      return Admission.of({
        clientAddress: ClientAddress.make(serverConfig.rateLimit.trustedProxies),
        authenticateUnsafe,
        admitUnsafe,
        authenticate: Immediate.lazy(authenticateUnsafe),
        admit: Immediate.lazy(admitUnsafe),
        admitIdsUnsafe: limiter.admitIds,
        admitIds: Immediate.lazy(limiter.admitIds)
      })
    })
  )
}
