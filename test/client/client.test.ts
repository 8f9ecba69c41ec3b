/**
 * The client SDK (`@idgen/client`) against real server processes: the typed RPCs and errors
 * over WebSocket and HTTP, prefetch keeping ahead of a steady consumer, failover when one of
 * two servers is killed mid-run (no duplicate, no lost call), and a clear typed error within
 * the timeout when no server answers.
 */
import { assert, describe, layer } from "@effect/vitest"
import { AllServersUnavailable, type ClientError, IdgenClient, IdgenPromiseClient } from "@idgen/client"
import { Errors } from "@idgen/core"
import { Context, Deferred, Effect, Fiber, Layer } from "effect"
import { createServer, type Socket } from "node:net"
import { eventually } from "../support/Eventually.ts"
import { createBizTag, refusedPort, ServerProcess, workspaceWithKey } from "../support/ServerProcess.ts"
import * as ServerProcessModule from "../support/ServerProcess.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

const increasing = (ids: ReadonlyArray<string>) => ids.every((id, i) => i === 0 || BigInt(id) > BigInt(ids[i - 1]!))

/** A client for the lifetime of the test's scope. */
const clientFor = (options: Parameters<typeof IdgenClient.layer>[0]) =>
  Effect.map(Layer.build(IdgenClient.layer(options)), (context) => Context.get(context, IdgenClient))

layer(ServerProcess.layer(), { timeout: "120 seconds", excludeTestServices: true })("client SDK (one server)", (it) => {
  for (const transport of ["websocket", "http"] as const) {
    it.effect(`typed RPCs and typed errors over ${transport}`, () =>
      Effect.gen(function*() {
        const server = yield* ServerProcess
        const workspace = `rpc-${transport}`
        const apiKey = yield* workspaceWithKey(server, { name: workspace })
        yield* workspaceWithKey(server, { name: `${workspace}-other` })
        const idgen = yield* clientFor({ endpoints: [server.baseUrl], apiKey, transport })

        const one = yield* idgen.generate(`${workspace}/shop/orders`)
        assert.strictEqual(one.algorithm, "segment")
        assert.match(one.timestamp, ServerProcessModule.rfc3339)
        const batch = yield* idgen.batch({ workspace, group: "shop", bizTag: "orders" }, 250)
        assert.strictEqual(batch.ids.length, 250)
        assert.strictEqual(batch.count, 250)
        assert.isTrue(increasing([one.id, ...batch.ids]))
        const info = yield* idgen.parse(one.id, `${workspace}/shop/orders`)
        assert.deepStrictEqual(info, { id: one.id, algorithm: "segment", datacenter_id: 0 })
        assert.strictEqual((yield* idgen.health).status, "healthy")

        // Formatted IDs (sent as a JSON array on the wire) come back exactly
        yield* createBizTag(server, workspace, {
          group: "shop",
          name: "invoice",
          algorithm: "formatted",
          format_template: "INV,{SEQ:6}"
        })
        const invoices = yield* idgen.batch(`${workspace}/shop/invoice`, 3)
        assert.strictEqual(invoices.algorithm, "formatted")
        assert.isTrue(invoices.ids.every((id) => /^INV,\d{6}$/.test(id)), invoices.ids.join(" "))

        // The server's errors, typed
        const forbidden = yield* Effect.flip(idgen.generate(`${workspace}-other/shop/orders`))
        assert.instanceOf(forbidden, Errors.Forbidden)
        const invalid = yield* Effect.flip(idgen.batch(`${workspace}/shop/orders`, 0))
        assert.instanceOf(invalid, Errors.InvalidRequest)
        assert.include(invalid.message, "size")
        const badPath = yield* Effect.flip(idgen.next("not-a-path"))
        assert.instanceOf(badPath, Errors.InvalidRequest)
        const limitedKey = yield* workspaceWithKey(server, { name: `${workspace}-lim`, rate_limit: { per_second: 1, burst: 1 } })
        const limited = yield* clientFor({ endpoints: [server.baseUrl], apiKey: limitedKey, transport })
        // Three calls at once on a bucket of one token are admitted together: at least one is
        // refused. (Two in a row can be a second apart, the first creating the biz_tag, and both
        // be served.)
        const results = yield* Effect.all(
          Array.from({ length: 3 }, () => Effect.result(limited.generate(`${workspace}-lim/shop/orders`))),
          { concurrency: "unbounded" }
        )
        const refusals = results.flatMap((result) => result._tag === "Failure" ? [result.failure] : [])
        assert.isAtLeast(refusals.length, 1, "no call refused")
        for (const refusal of refusals) assert.instanceOf(refusal, Errors.RateLimitExceeded)
        const wrongKey = yield* clientFor({ endpoints: [server.baseUrl], apiKey: `idgen_${workspace}_${"f".repeat(32)}`, transport })
        assert.instanceOf(yield* Effect.flip(wrongKey.generate(`${workspace}/shop/orders`)), Errors.Unauthorized)
      }))
  }

  it.effect("prefetch keeps ahead of a steady consumer: no take finds the stock empty", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "steady" })
      const idgen = yield* clientFor({
        endpoints: [server.baseUrl],
        apiKey,
        prefetch: { batchSize: 1000, lowWatermark: 20_000, highWatermark: 21_000 }
      })
      const tag = "steady/shop/orders"
      yield* idgen.warm(tag)
      // `warm` returns with the first batch in; the consumer starts on the full stock.
      const full = Effect.sync(() => idgen.prefetchStats(tag).buffered >= 21_000)
      yield* eventually("the stock filled up to its high watermark", 30_000, full, 10)
      const before = idgen.prefetchStats(tag)
      const seen = new Set<string>()
      // 500 ticks of 100 IDs (≤ 20 000 IDs/s), more than twice the stock: each refill is
      // requested while ≥ 19 000 IDs, about 1 s of consumption, are still buffered, so a slow
      // allocation on a loaded machine does not empty the stock.
      for (let tick = 0; tick < 500; tick++) {
        for (let i = 0; i < 100; i++) {
          const id = idgen.takeSync(tag)
          assert.isDefined(id, `stock ran dry at tick ${tick}: ${JSON.stringify(idgen.prefetchStats(tag))}`)
          seen.add(id!)
        }
        yield* Effect.sleep("5 millis") // the consumer's pace, not a synchronisation
      }
      const stats = idgen.prefetchStats(tag)
      assert.strictEqual(seen.size, 50_000, "duplicates")
      assert.strictEqual(stats.dryTakes, before.dryTakes, "a take found the stock empty")
      assert.isAtLeast(stats.refills - before.refills, 20)
      assert.strictEqual(stats.failedRefills, 0)

      // nextBigInt and the Promise facade share the same stock discipline
      assert.strictEqual(typeof (yield* idgen.nextBigInt(tag)), "bigint")
      const facade = yield* Effect.acquireRelease(
        Effect.promise(() => IdgenPromiseClient.connect({ endpoints: [server.baseUrl], apiKey })),
        (client) => Effect.promise(() => client.close())
      )
      const ids = yield* Effect.promise(() => Promise.all(Array.from({ length: 50 }, () => facade.next(tag))))
      assert.strictEqual(new Set([...ids, ...seen]).size, 50_050)
      const rejected = yield* Effect.promise(() => facade.generate("other/shop/orders").then(() => undefined, (e: unknown) => e))
      assert.instanceOf(rejected, Errors.Forbidden)
    }))
})

describe("client SDK (failover)", () => {
  layer(Layer.empty, { timeout: "180 seconds", excludeTestServices: true })("two servers, one store", (it) => {
    it.effect("one of two servers killed mid-run: every call answered, no duplicate", () =>
      Effect.gen(function*() {
        const databaseUrl = yield* TestDatabase.make
        const a = yield* ServerProcessModule.make(databaseUrl)
        // Its own static worker id: a second holder of the same one would not be ready.
        const b = yield* ServerProcessModule.make(databaseUrl, { env: { IDGEN_WORKER_ID: "1" } })
        const apiKey = yield* workspaceWithKey(a, { name: "fo" })
        const idgen = yield* clientFor({
          endpoints: [a.baseUrl, b.baseUrl],
          apiKey,
          timeout: "20 seconds",
          attemptTimeout: "5 seconds",
          prefetch: { batchSize: 200 }
        })
        const tag = "fo/shop/orders"
        const ids: Array<string> = []
        let answered = 0
        let answeredAfterKill = 0
        let killed = false
        const warmedUp = yield* Deferred.make<void>()
        // 4 callers until 300 calls have been answered after the kill; a quarter of the calls
        // are prefetched takes, the rest direct batches. A failed call fails its caller.
        const caller = (n: number) =>
          Effect.gen(function*() {
            for (let i = n; !killed || answeredAfterKill < 300; i++) {
              if (i % 4 === 0) ids.push(yield* idgen.next(tag))
              else ids.push(...(yield* idgen.batch(tag, 20)).ids)
              answered++
              if (killed) answeredAfterKill++
              if (answered === 200) yield* Deferred.succeed(warmedUp, undefined)
            }
          })
        const callers = yield* Effect.forkChild(Effect.all([0, 1, 2, 3].map(caller), { concurrency: "unbounded" }))
        yield* Deferred.await(warmedUp)
        yield* a.kill("SIGKILL")
        killed = true
        yield* Fiber.join(callers)
        assert.isAtLeast(answered, 500)
        assert.strictEqual(new Set(ids).size, ids.length, "duplicate IDs")
        const status = yield* idgen.endpoints
        assert.isFalse(status[0]!.up, "the killed server is still considered up")
        assert.isTrue(status[1]!.up)
      }))

    it.effect("no server answers: AllServersUnavailable, within the configured timeout", () =>
      Effect.gen(function*() {
        // One port where nothing listens, one that accepts connections and never answers.
        const closed = yield* refusedPort
        const sockets: Array<Socket> = []
        const blackHole = yield* Effect.acquireRelease(
          Effect.callback<ReturnType<typeof createServer>>((resume) => {
            const server = createServer((socket) => sockets.push(socket))
            server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
          }),
          (server) => Effect.sync(() => {
            for (const socket of sockets) socket.destroy()
            server.close()
          })
        )
        const address = blackHole.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        // Short attempts (several rounds over both endpoints), and the default attempt timeout,
        // which is the whole call's: the HTTP fallback after a silent WebSocket then has
        // only what the WebSocket attempt left of the call's timeout.
        for (const attemptTimeout of ["500 millis", undefined] as const) {
          const idgen = yield* clientFor({
            endpoints: [`http://127.0.0.1:${closed}`, `http://127.0.0.1:${port}`],
            apiKey: `idgen_x_${"0".repeat(32)}`,
            timeout: "1500 millis",
            attemptTimeout
          })
          const calls: ReadonlyArray<Effect.Effect<unknown, ClientError>> = [
            idgen.generate("x/y/z"),
            idgen.next("x/y/z"),
            idgen.batch("x/y/z", 10)
          ]
          for (const call of calls) {
            const began = Date.now()
            const error = yield* Effect.flip(call)
            const elapsed = Date.now() - began
            assert.instanceOf(error, AllServersUnavailable)
            // The 1.5 s timeout plus 1 s of slack for scheduling on a loaded CI machine.
            assert.isBelow(elapsed, 2_500, `took ${elapsed} ms (attempt timeout ${attemptTimeout ?? "default"})`)
            assert.include(error.message, String(closed))
            if (error instanceof AllServersUnavailable) assert.strictEqual(error.endpoints.length, 2)
          }
        }
      }))
  })
})
