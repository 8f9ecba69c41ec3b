/**
 * The gRPC server in-process, over stub services, for what a real server cannot be made to
 * do on demand: every row of the contract's error table as its gRPC status (with
 * `idgen-error-code`), a defect as INTERNAL without its detail, a deadline that interrupts
 * the work, and shutdown that refuses new calls while the one in flight completes. The
 * client is still built from the `.proto`.
 */
import { status as Status } from "@grpc/grpc-js"
import { assert, describe, it } from "@effect/vitest"
import { Errors, type Names } from "@idgen/core"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Logger, Scope } from "effect"
import { ServerConfig, type ServerConfigShape } from "@idgen/server/config/ServerConfig"
import { IdRequests } from "@idgen/server/requests/IdRequests"
import { GrpcServer } from "@idgen/server/grpc/GrpcServer"
import { Health } from "@idgen/server/health/Health"
import { Admission } from "@idgen/server/requests/Admission"
import * as GrpcClient from "../support/GrpcClient.ts"

/** The contract's table (API.md), written out independently of StatusMapping. */
const contract: ReadonlyArray<readonly [Errors.IdgenError["_tag"], string, Status]> = [
  ["InvalidRequest", "IDGEN-COMMON-0001", Status.INVALID_ARGUMENT],
  ["Unauthorized", "IDGEN-COMMON-0002", Status.UNAUTHENTICATED],
  ["RateLimitExceeded", "IDGEN-COMMON-0003", Status.RESOURCE_EXHAUSTED],
  ["InternalError", "IDGEN-COMMON-0004", Status.INTERNAL],
  ["ServiceUnavailable", "IDGEN-COMMON-0005", Status.UNAVAILABLE],
  ["Forbidden", "IDGEN-COMMON-0006", Status.PERMISSION_DENIED],
  ["NotFound", "IDGEN-COMMON-0007", Status.NOT_FOUND],
  ["Conflict", "IDGEN-COMMON-0008", Status.ALREADY_EXISTS],
  ["SegmentExhausted", "IDGEN-SEG-1001", Status.RESOURCE_EXHAUSTED],
  ["SegmentAllocateFailed", "IDGEN-SEG-1002", Status.INTERNAL],
  ["DatabaseUnavailable", "IDGEN-SEG-1003", Status.UNAVAILABLE],
  ["ClockBackward", "IDGEN-SNOW-2001", Status.INTERNAL],
  ["SequenceOverflow", "IDGEN-SNOW-2002", Status.RESOURCE_EXHAUSTED],
  ["NoAvailableWorkerId", "IDGEN-SNOW-2003", Status.UNAVAILABLE],
  ["UuidGenerateFailed", "IDGEN-UUID-3001", Status.INTERNAL]
]

const errorOf = (tag: string): Errors.IdgenError => {
  const cls = Errors.errorClasses.find((c) => c.name === tag)!
  return cls === Errors.RateLimitExceeded
    ? new Errors.RateLimitExceeded({ message: `stub ${tag}`, details: {}, retryAfterSeconds: 2.5 })
    : new (cls as typeof Errors.InvalidRequest)({ message: `stub ${tag}`, details: {} })
}

interface Hooks {
  /** Completed when a `slow` call's work is interrupted. */
  readonly interrupted: Deferred.Deferred<void>
  /** Completed when a `gated` call has started; the call finishes when `gate` is. */
  readonly started: Deferred.Deferred<void>
  readonly gate: Deferred.Deferred<void>
}

const behave = (hooks: Hooks, request: unknown) => {
  const tag = (request as { biz_tag: string }).biz_tag
  const ok = Effect.succeed({ ids: ["42"], algorithm: "segment" as Names.Algorithm, timestampMs: 0 })
  if (tag.startsWith("fail-")) return Effect.fail(errorOf(tag.slice(5)))
  if (tag === "boom") return Effect.die(new Error("kaboom: secret internals"))
  if (tag === "slow") return Effect.never.pipe(Effect.onInterrupt(() => Deferred.succeed(hooks.interrupted, undefined)))
  if (tag === "gated") {
    return Deferred.succeed(hooks.started, undefined).pipe(Effect.andThen(Deferred.await(hooks.gate)), Effect.andThen(ok))
  }
  return ok
}

const notUsed = () => Effect.die("not used by gRPC")

/** biz_tag `fail-<Tag>` fails with that error, `boom` dies, `slow` never ends, `gated` waits for the gate. */
const stubs = (hooks: Hooks) =>
  Layer.mergeAll(
    Layer.succeed(ServerConfig, {
      http: { host: "127.0.0.1", maxBodyBytes: 65_536, headersTimeoutMillis: 5000 },
      grpc: { port: 0, maxConnections: 100, maxConcurrentStreams: 100 },
      tls: { certFile: undefined, keyFile: undefined }
    } as unknown as ServerConfigShape),
    Layer.mock(Health, { ready: Effect.succeed(true) }),
    // Every key is workspace ws's: the stubbed IdRequests decides each call's outcome.
    Layer.mock(Admission, {
      clientAddress: (peer) => peer,
      admitIdsUnsafe: () => undefined,
      authenticateUnsafe: () => "ws" as Names.WorkspaceName,
      admitUnsafe: () => "ws" as Names.WorkspaceName
    }),
    Layer.mock(IdRequests, {
      generate: (_, request) => behave(hooks, request),
      batchGenerate: (_, request) => behave(hooks, request),
      generateUnsafe: notUsed,
      batchGenerateUnsafe: notUsed,
      issueUnsafe: notUsed
    })
  )

const makeHooks = Effect.all({
  interrupted: Deferred.make<void>(),
  started: Deferred.make<void>(),
  gate: Deferred.make<void>()
})

/** The server in its own scope (closed by the test or at the end), and a client for it. */
const start = (hooks: Hooks) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const context = yield* Layer.buildWithScope(GrpcServer.layer.pipe(Layer.provide(stubs(hooks))), scope)
    const { port } = Context.get(context, GrpcServer)
    return { scope, port, client: yield* GrpcClient.make(port) }
  })

const seq = (biz_tag: string) => ({ workspace: "ws", group: "g", biz_tag })

describe("gRPC server (in-process, stub services)", () => {
  it.live("every IDGEN error is its contract status with idgen-error-code", () =>
    Effect.gen(function*() {
      const { client } = yield* start(yield* makeHooks)
      assert.strictEqual(contract.length, Errors.errorClasses.length)
      for (const [tag, code, status] of contract) {
        const reply = GrpcClient.assertStatus(yield* client.call("Generate", seq(`fail-${tag}`)), status, code)
        assert.strictEqual(reply.details, `stub ${tag}`)
        if (tag === "RateLimitExceeded") assert.deepStrictEqual(reply.metadata["retry-after"], "3")
      }
      // The same mapping on the batch RPC
      GrpcClient.assertStatus(
        yield* client.call("BatchGenerate", { ...seq("fail-SegmentExhausted"), size: 3 }),
        Status.RESOURCE_EXHAUSTED,
        "IDGEN-SEG-1001"
      )
      GrpcClient.valueOf(yield* client.call("Generate", seq("fine")))
    }))

  it.live("a defect is INTERNAL IDGEN-COMMON-0004 and its detail stays on the server", () =>
    Effect.gen(function*() {
      const { client } = yield* start(yield* makeHooks)
      const reply = GrpcClient.assertStatus(yield* client.call("Generate", seq("boom")), Status.INTERNAL, "IDGEN-COMMON-0004")
      assert.notInclude(reply.details, "kaboom")
    }).pipe(Effect.provide(Logger.layer([]))))

  it.live("a call past its deadline is DEADLINE_EXCEEDED and its work is interrupted", () =>
    Effect.gen(function*() {
      const hooks = yield* makeHooks
      const { client } = yield* start(hooks)
      const began = Date.now()
      const reply = yield* client.call("Generate", seq("slow"), { deadlineMillis: 300 })
      assert.isFalse(reply.ok)
      if (!reply.ok) assert.strictEqual(reply.code, Status.DEADLINE_EXCEEDED)
      assert.isBelow(Date.now() - began, 5_000)
      // The server-side work ends too (no fiber left running for a call nobody waits for).
      yield* Deferred.await(hooks.interrupted).pipe(Effect.timeout("5 seconds"))
    }))

  it.live("shutdown refuses new calls, lets the call in flight finish, then completes", () =>
    Effect.gen(function*() {
      const hooks = yield* makeHooks
      const { scope, port, client } = yield* start(hooks)
      const inFlight = yield* Effect.forkChild(client.call("Generate", seq("gated")))
      yield* Deferred.await(hooks.started)
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))

      // A new client cannot start a call any more (bounded: a refusal comes within a few tries).
      const fresh = yield* GrpcClient.make(port)
      let refused = false
      for (let i = 0; i < 50 && !refused; i++) {
        const reply = yield* fresh.call("Generate", seq("fine"), { deadlineMillis: 2_000 })
        refused = !reply.ok && reply.code === Status.UNAVAILABLE
      }
      assert.isTrue(refused, "new calls were still accepted during shutdown")
      assert.isUndefined(closing.pollUnsafe(), "shutdown finished before the call in flight")

      yield* Deferred.succeed(hooks.gate, undefined)
      const reply = yield* Fiber.await(inFlight)
      assert.isTrue(Exit.isSuccess(reply) && reply.value.ok, `in-flight call lost: ${JSON.stringify(reply)}`)
      yield* Fiber.await(closing)
    }))
})
