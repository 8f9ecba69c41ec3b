/**
 * A first burst of one valid key (a load test's first second, or any client after a
 * restart): more callers at once than the address has failed attempts (50), all before the
 * node has verified the key. The lookup they share is charged once; none of them is refused
 * 429 "too many failed authentication attempts" — none failed. In-process over stubs, with
 * the key's lookup held open until every caller has arrived.
 */
import { assert, describe, it } from "@effect/vitest"
import { Errors, type Names } from "@idgen/core"
import { Deferred, Effect, Exit, Fiber, Layer, Option } from "effect"
import { ApiKeys } from "@idgen/server/auth/ApiKeys"
import { AuditLog } from "@idgen/server/audit/AuditLog"
import { ServerConfig, type ServerConfigShape } from "@idgen/server/config/ServerConfig"
import { RateLimiter } from "@idgen/server/ratelimit/RateLimiter"
import { Admission } from "@idgen/server/requests/Admission"

const burst = 50
const callers = 4 * burst
const address = "192.0.2.7"
const validKey = `idgen_ws_${"a".repeat(32)}`
const unknownKey = `idgen_ws_${"b".repeat(32)}`

/** Admission over stub keys: `validKey` is workspace ws's and `unknownKey` no one's, once `lookup` opens. */
const admission = (lookup: Deferred.Deferred<void>) =>
  Admission.layer.pipe(
    Layer.provide(Layer.mergeAll(
      Layer.succeed(ServerConfig, {
        auth: { failedPerIp: { perSecond: 10, burst }, unknownKeyCacheMillis: 5000 },
        rateLimit: { trustedProxies: [] }
      } as unknown as ServerConfigShape),
      Layer.mock(ApiKeys, {
        verifyCached: () => undefined,
        // One lookup at a time per key, as ApiKeys' single flight: the callers that miss meanwhile share it.
        verify: (rawKey) =>
          Effect.flatMap(
            Deferred.await(lookup),
            () => rawKey === validKey ? Effect.succeed("ws" as Names.WorkspaceName) : Effect.fail(new Errors.Unauthorized({ message: "unknown", details: {} }))
          )
      }),
      Layer.mock(RateLimiter, { admit: () => undefined, admitIds: () => undefined }),
      Layer.mock(AuditLog, { record: () => Effect.void })
    ))
  )

/** `callers` authentications of `rawKey` from one address, all started before the lookup answers; what each got. */
const firstBurst = (rawKey: string) =>
  Effect.gen(function*() {
    const lookup = yield* Deferred.make<void>()
    return yield* Effect.gen(function*() {
      const admit = yield* Admission
      const fibers = yield* Effect.forEach(
        Array.from({ length: callers }),
        // Each runs at once up to the lookup, as a request does on arrival.
        () => Effect.forkChild(admit.authenticate(rawKey, address), { startImmediately: true })
      )
      yield* Deferred.succeed(lookup, undefined)
      const exits = yield* Effect.forEach(fibers, Fiber.await)
      return exits.map((exit) => Exit.isSuccess(exit) ? exit.value : Option.getOrThrow(Exit.findErrorOption(exit))._tag)
    }).pipe(Effect.provide(admission(lookup)))
  })

describe("a first burst of one key", () => {
  it.effect(`${callers} callers of a valid key before its lookup answers: every one is admitted`, () =>
    Effect.gen(function*() {
      const answers = yield* firstBurst(validKey)
      assert.deepStrictEqual(answers.filter((answer) => answer !== "ws"), [])
    }))

  it.effect(`${callers} callers of an unknown key before its lookup answers: each is 401, not 429`, () =>
    Effect.gen(function*() {
      const answers = yield* firstBurst(unknownKey)
      assert.deepStrictEqual(answers.filter((answer) => answer !== "Unauthorized"), [])
    }))
})
