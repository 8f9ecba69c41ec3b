/**
 * A first burst of one valid key (a load test's first second, or any client after a
 * restart): more callers at once than the address has failed attempts (50), all before the
 * node has verified the key. The lookup they share is charged once; none of them is refused
 * 429 "too many failed authentication attempts" — none failed — and the key is looked up
 * once. In-process, the real `ApiKeys` over a stub repository whose lookup is held open until
 * every caller has arrived.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Names } from "@idgen/core"
import { Deferred, Effect, Exit, Fiber, Layer, Option } from "effect"
import { ApiKeys, prefixOf, sha256Hex } from "@idgen/server/auth/ApiKeys"
import { SharedKeyCache } from "@idgen/server/auth/SharedKeyCache"
import { AuditLog } from "@idgen/server/audit/AuditLog"
import { ServerConfig, type ServerConfigShape } from "@idgen/server/config/ServerConfig"
import { RateLimiter } from "@idgen/server/ratelimit/RateLimiter"
import { ApiKeyRepo } from "@idgen/server/storage/ApiKeyRepo"
import { Admission } from "@idgen/server/requests/Admission"

const burst = 50
const callers = 4 * burst
const address = "192.0.2.7"
const validKey = `idgen_ws_${"a".repeat(32)}`
const unknownKey = `idgen_ws_${"b".repeat(32)}`

/**
 * Admission over the real `ApiKeys` on a stub repository: `validKey` is workspace ws's and
 * `unknownKey` no one's, answered once `lookup` opens; `lookups` counts the repository's reads.
 */
const admission = (lookup: Deferred.Deferred<void>, lookups: { count: number }) => {
  const config = Layer.succeed(ServerConfig, {
    auth: { failedPerIp: { perSecond: 10, burst }, unknownKeyCacheMillis: 5000, cacheTtlMillis: 60_000, outageGraceMillis: 0 },
    rateLimit: { trustedProxies: [] }
  } as unknown as ServerConfigShape)
  const audit = Layer.mock(AuditLog, { record: () => Effect.void })
  const validRecord = {
    id: "key-1",
    workspace: "ws" as Names.WorkspaceName,
    name: null,
    prefix: prefixOf("ws", "a".repeat(32)),
    keyHash: sha256Hex(validKey),
    enabled: true,
    expiresAt: null
  }
  const repo = Layer.mock(ApiKeyRepo, {
    findByPrefix: (prefix) =>
      Effect.suspend(() => {
        lookups.count += 1
        return Effect.as(Deferred.await(lookup), prefix === validRecord.prefix ? Option.some(validRecord) : Option.none())
      }),
    recordUse: () => Effect.void
  })
  const apiKeys = ApiKeys.layer.pipe(Layer.provide(Layer.mergeAll(repo, config, audit, SharedKeyCache.layerLocal)))
  return Admission.layer.pipe(
    Layer.provide(Layer.mergeAll(
      apiKeys,
      config,
      audit,
      Layer.mock(RateLimiter, { admit: () => undefined, admitIds: () => undefined })
    ))
  )
}

/** `callers` authentications of `rawKey` from one address, all started before the lookup answers; what each got. */
const firstBurst = (rawKey: string) =>
  Effect.gen(function*() {
    const lookup = yield* Deferred.make<void>()
    const lookups = { count: 0 }
    const answers = yield* Effect.gen(function*() {
      const admit = yield* Admission
      const fibers = yield* Effect.forEach(
        Array.from({ length: callers }),
        // Each runs at once up to the lookup, as a request does on arrival.
        () => Effect.forkChild(admit.authenticate(rawKey, address), { startImmediately: true })
      )
      yield* Deferred.succeed(lookup, undefined)
      const exits = yield* Effect.forEach(fibers, Fiber.await)
      return exits.map((exit) => Exit.isSuccess(exit) ? exit.value : Option.getOrThrow(Exit.findErrorOption(exit))._tag)
    }).pipe(Effect.provide(admission(lookup, lookups)))
    return { answers, lookups: lookups.count }
  })

describe("a first burst of one key", () => {
  it.effect(`${callers} callers of a valid key before its lookup answers: every one is admitted`, () =>
    Effect.gen(function*() {
      const { answers, lookups } = yield* firstBurst(validKey)
      assert.deepStrictEqual(answers.filter((answer) => answer !== "ws"), [])
      assert.strictEqual(lookups, 1, "the callers share one lookup")
    }))

  it.effect(`${callers} callers of an unknown key before its lookup answers: each is 401, not 429`, () =>
    Effect.gen(function*() {
      const { answers, lookups } = yield* firstBurst(unknownKey)
      assert.deepStrictEqual(answers.filter((answer) => answer !== "Unauthorized"), [])
      assert.strictEqual(lookups, 1, "the callers share one lookup")
    }))
})
