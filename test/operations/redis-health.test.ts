/**
 * A configured Redis in `/health`: the check `redis` follows a real redis-server stopped and
 * started again. Down, it degrades the node (200, `idgen_health_check_status{check="redis"}`
 * 1) and leaves it ready and serving: Redis is optional, every user of it has a node-local
 * answer.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { eventually } from "../support/Eventually.ts"
import { OwnRedis } from "../support/OwnRedis.ts"
import { make, ServerProcess, workspaceWithKey } from "../support/ServerProcess.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

const Suite = Layer.effect(
  ServerProcess,
  Effect.gen(function*() {
    const redis = yield* OwnRedis
    const databaseUrl = yield* TestDatabase.make.pipe(Effect.orDie)
    return yield* make(databaseUrl, { env: { IDGEN_REDIS_URL: redis.url } })
  })
).pipe(Layer.provideMerge(OwnRedis.layer))

/** The gauge's value for `check`, from the node's `/metrics`. */
const gauge = (server: ServerProcess["Service"], check: string) =>
  Effect.map(server.request("GET", "/metrics"), (metrics) => {
    const line = metrics.text.split("\n").find((l) =>
      l.startsWith("idgen_health_check_status{") && l.includes(`check="${check}"`)
    )
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1))
  })

/** `/health` once its `redis` check has `status`. */
const healthWithRedis = (server: ServerProcess["Service"], status: string) =>
  eventually(
    `/health's redis check ${status}`,
    20_000,
    Effect.map(server.request("GET", "/health"), (health) => health.json?.checks?.redis?.status === status && health)
  )

layer(Suite, { timeout: "120 seconds", excludeTestServices: true })("Redis in /health", (it) => {
  it.effect("Redis down: /health degraded (200) with checks.redis, the gauge says so, still ready and serving; back: healthy", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const redis = yield* OwnRedis
      const apiKey = yield* workspaceWithKey(server, { name: "rh" })
      const json = { workspace: "rh", group: "g", biz_tag: "t" }

      const up = yield* healthWithRedis(server, "healthy")
      assert.strictEqual(up.status, 200, up.text)
      assert.strictEqual(up.json.status, "healthy", up.text)
      yield* eventually("redis gauge 0", 20_000, Effect.map(gauge(server, "redis"), (v) => v === 0))

      yield* redis.stop
      const down = yield* healthWithRedis(server, "degraded")
      assert.strictEqual(down.status, 200, down.text)
      assert.strictEqual(down.json.status, "degraded", down.text)
      assert.match(down.json.checks.redis.message, /^redis not connected \(.*ECONNREFUSED.*\): serving without it/)
      assert.strictEqual(down.json.checks.database.status, "healthy", down.text)
      assert.strictEqual((yield* server.request("GET", "/ready")).status, 200)
      const served = yield* server.request("POST", "/api/v1/generate", { apiKey, json })
      assert.strictEqual(served.status, 200, served.text)
      yield* eventually("redis gauge 1", 20_000, Effect.map(gauge(server, "redis"), (v) => v === 1))
      const metrics = yield* server.request("GET", "/metrics")
      assert.match(metrics.text, /^idgen_health_status(\{[^}]*\})? 1$/m)

      yield* redis.start
      const back = yield* healthWithRedis(server, "healthy")
      assert.strictEqual(back.json.status, "healthy", back.text)
      yield* eventually("redis gauge 0 again", 20_000, Effect.map(gauge(server, "redis"), (v) => v === 0))
    }))
})
