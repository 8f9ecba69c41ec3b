/**
 * Clock steps on a live server process: the server runs under libfaketime with its worker
 * id leased from etcd, three clients generate snowflake IDs continuously, and the
 * server's wall clock is stepped back by 3 ms, 300 ms and 5 s. Every ID is collected.
 *
 * - 3 ms (≤ wait threshold): requests wait for the clock; no error.
 * - 300 ms (≤ logical threshold): issuing continues on the logical clock; no error.
 * - 5 s (> logical threshold): IDGEN-SNOW-2001 (500) for a biz_tag without fallback, its
 *   fallback algorithm for one with a fallback, `/health` degraded with the clock check;
 *   snowflake comes back by itself once the clock is within the tolerated drift again.
 *
 * Throughout: no duplicate, and each client's snowflake IDs strictly increasing.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Fiber, Layer } from "effect"
import * as FakeClock from "../support/FakeClock.ts"
import {
  assertError,
  createBizTag,
  make as startServer,
  ServerProcess,
  wait,
  workspaceWithKey
} from "../support/ServerProcess.ts"
import * as SharedEtcd from "../support/SharedEtcd.ts"
import { eventually } from "../support/Eventually.ts"
import { type Answer, duplicatesIn, etcdEnv, firstNonIncreasing, generateWhile, metricValue, snowflakeIds, summary } from "../support/SnowflakeCluster.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

class Clock extends Context.Service<Clock, FakeClock.FakeClockShape>()("test/snowflake/Clock") {}

const Env = Layer.effect(ServerProcess, Effect.gen(function*() {
  const clock = yield* Clock
  const databaseUrl = yield* Effect.orDie(TestDatabase.make)
  return yield* startServer(databaseUrl, {
    env: { ...etcdEnv(SharedEtcd.endpoints(), SharedEtcd.uniquePrefix("clock"), { IDGEN_NODE_NAME: "stepped" }), ...clock.env }
  })
})).pipe(Layer.provideMerge(Layer.effect(Clock, FakeClock.make)))

const metric = (server: ServerProcess["Service"], sample: string) =>
  Effect.map(server.request("GET", "/metrics"), (r) => metricValue(r.text, sample))

const backward = (tier: string) => `idgen_snowflake_clock_backward_total{tier="${tier}"}`

layer(Env, { timeout: 120_000, excludeTestServices: true })("snowflake clock steps on a live server", (it) => {
  it.effect("3 ms, 300 ms and 5 s back: no duplicate, increasing, 2001 or fallback beyond the tolerated drift", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const clock = yield* Clock
      const apiKey = yield* workspaceWithKey(server, { name: "clock" })
      yield* createBizTag(server, "clock", { group: "g", name: "snow", algorithm: "snowflake" })
      yield* createBizTag(server, "clock", { group: "g", name: "snowfb", algorithm: "snowflake", fallback: ["uuid_v7"] })

      let stopped = false
      const clients: Array<Array<Answer>> = [[], [], []]
      const fibers = yield* Effect.forEach(clients, (answers) =>
        Effect.forkChild(
          generateWhile(server, apiKey, { workspace: "clock", group: "g" }, ["snow", "snowfb"], 50, () => stopped, answers)
        ))
      const all = () => clients.flat()
      yield* wait(300)

      // 3 ms back. Whether a request arrives within those 3 ms is up to timing, so step
      // (by 3 ms each time) until the wait tier has been seen.
      const errorsBefore3 = all().filter((a) => a.status !== 200).length
      for (let step = 1; step <= 40 && (yield* metric(server, backward("wait"))) === 0; step++) {
        yield* clock.setOffset(clock.offset() - 3)
        yield* wait(100)
      }
      assert.isAbove(yield* metric(server, backward("wait")), 0, "the 3 ms steps never met a request")
      assert.strictEqual(all().filter((a) => a.status !== 200).length, errorsBefore3, "3 ms: no request failed")

      // 300 ms back: the logical clock carries on until the wall clock has caught up.
      yield* clock.setOffset(clock.offset() - 300)
      yield* eventually("logical clock used", 3000, Effect.map(metric(server, backward("logical")), (n) => n > 0 || undefined))
      yield* eventually(
        "wall clock caught up",
        3000,
        Effect.map(metric(server, "idgen_snowflake_clock_drift_seconds"), (n) => n === 0 || undefined)
      )
      assert.isAbove(yield* metric(server, "idgen_snowflake_logical_ids_total"), 0)
      assert.isTrue(all().every((a) => a.status === 200), "300 ms: no request failed")

      // 5 s back: refused, degraded, fallback.
      const stepAt = Date.now()
      yield* clock.setOffset(clock.offset() - 5000)
      const health = yield* eventually(
        "health degraded",
        2000,
        Effect.map(server.request("GET", "/health"), (r) => (r.json.status === "degraded" ? r.json : undefined))
      )
      assert.strictEqual(health.checks.clock.status, "degraded")
      assert.match(health.checks.clock.message, /clock is \d+ ms behind/)
      const refused = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        json: { workspace: "clock", group: "g", biz_tag: "snow" }
      })
      const error = assertError(refused, 500, "IDGEN-SNOW-2001")
      assert.isAbove(error.details.drift_ms, 1000)
      // Snowflake comes back by itself once the clock is within the tolerated drift:
      // the first success among the requests sent after the step.
      const recovered = yield* eventually(
        "snowflake issuing again",
        15_000,
        Effect.sync(() => {
          const after = all().filter((a) => a.sent > stepAt && a.tag === "snow" && a.status === 200)
          return after.length === 0 ? undefined : after.reduce((a, b) => (b.sent < a.sent ? b : a))
        })
      )
      yield* wait(300)
      stopped = true
      yield* Effect.forEach(fibers, Fiber.join, { discard: true })

      const during = all().filter((a) => a.sent > stepAt && a.sent < recovered.sent)
      const snowDuring = during.filter((a) => a.tag === "snow")
      const fallbackDuring = during.filter((a) => a.tag === "snowfb")
      assert.isAbove(snowDuring.length, 0)
      assert.deepStrictEqual(
        snowDuring.filter((a) => a.status !== 500 || a.code !== "IDGEN-SNOW-2001").map(summary),
        [],
        "5 s: snow → 2001"
      )
      assert.isTrue(fallbackDuring.some((a) => a.status === 200 && a.algorithm === "uuid_v7"), "5 s: snowfb falls back")
      assert.isTrue(fallbackDuring.every((a) => a.status === 200), "5 s: snowfb never fails")
      assert.isAbove(yield* metric(server, backward("refused")), 0)
      const healthAfter = yield* server.request("GET", "/health")
      assert.strictEqual(healthAfter.json.checks.clock.status, "healthy")

      const ids = snowflakeIds(all())
      assert.strictEqual(duplicatesIn(ids), 0, "a snowflake ID was issued twice")
      for (const [i, answers] of clients.entries()) {
        assert.strictEqual(firstNonIncreasing(snowflakeIds(answers)), -1, `client ${i}: snowflake IDs not increasing`)
      }
      const unexpected = all().filter((a) => a.status !== 200 && a.code !== "IDGEN-SNOW-2001")
      assert.deepStrictEqual(unexpected, [], "only 2001 is allowed to fail")
      console.log(
        `clock steps: ${ids.length} snowflake IDs, ${all().length} answers; ` +
          `5 s step: snowflake refused for ${recovered.sent - stepAt} ms ` +
          `(${snowDuring.length} × 2001, ${fallbackDuring.length} served by uuid_v7); ` +
          `waits ${yield* metric(server, backward("wait"))}, logical ${yield* metric(server, backward("logical"))}, ` +
          `refused ${yield* metric(server, backward("refused"))}`
      )
    }), { timeout: 120_000 })
})
