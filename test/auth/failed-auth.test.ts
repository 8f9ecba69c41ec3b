/**
 * Unauthenticated floods cost memory lookups, not database lookups (issue 14), on a real
 * server process with the default limits (failed attempts per address: 50 at once, then
 * 10 a second), answered on every interface with the contract's errors:
 *
 * - the same unknown key again and again: one lookup, then 401 from memory until
 *   `auth.unknown_key_cache_ms` has passed;
 * - hundreds of distinct unknown keys from one address over HTTP, gRPC and RPC: at most
 *   the address's failed attempts are looked up, the rest is 429 IDGEN-COMMON-0003 with
 *   Retry-After, while a valid key from the same address keeps being served;
 * - health from every interface at once (no key needed): at most one database probe a
 *   second.
 */
import { status as Status } from "@grpc/grpc-js"
import { PgClient } from "@effect/sql-pg"
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import * as GrpcClient from "../support/GrpcClient.ts"
import * as RawRpc from "../support/RawRpc.ts"
import { metricValue } from "../support/SnowflakeCluster.ts"
import { assertError, ServerProcess, type ServerProcessShape, wait, workspaceWithKey } from "../support/ServerProcess.ts"

/** The negative cache: long enough for a run of calls on a loaded machine, a first gRPC connect among them. */
const cacheMillis = 5000
const burst = 50
const perSecond = 10
const seq = { workspace: "fa", group: "g", biz_tag: "t" }

const unknownKey = (i: number) => `idgen_fa_${i.toString(16).padStart(32, "0")}`

/** Lookups of unknown keys so far: refusals of unknown keys minus those decided from memory. */
const lookups = (server: ServerProcessShape) =>
  Effect.map(server.request("GET", "/metrics"), (res) =>
    metricValue(res.text, "idgen_auth_failures_total{credential=\"api_key\",reason=\"unknown\"}") -
    metricValue(res.text, "idgen_auth_refused_without_lookup_total{reason=\"cached\"}"))

/** One generate call with `apiKey` over `via`: its HTTP-like status (200, 401, 429), its contract shape checked. */
const call = (server: ServerProcessShape, grpc: GrpcClient.GrpcClientShape, via: "http" | "grpc" | "rpc", apiKey: string) => {
  switch (via) {
    case "http":
      return Effect.map(server.request("POST", "/api/v1/generate", { apiKey, json: seq }), (res) => {
        if (res.status === 200) return 200
        if (res.status === 429) assert.match(res.headers.get("retry-after") ?? "", /^[1-9][0-9]*$/)
        assertError(res, res.status, res.status === 429 ? "IDGEN-COMMON-0003" : "IDGEN-COMMON-0002")
        return res.status
      })
    case "grpc":
      return Effect.map(grpc.call("Generate", seq, { apiKey }), (reply) => {
        if (reply.ok) return 200
        if (reply.code === Status.RESOURCE_EXHAUSTED) {
          GrpcClient.assertStatus(reply, Status.RESOURCE_EXHAUSTED, "IDGEN-COMMON-0003")
          return 429
        }
        GrpcClient.assertStatus(reply, Status.UNAUTHENTICATED, "IDGEN-COMMON-0002")
        return 401
      })
    case "rpc":
      return Effect.map(RawRpc.call(server, "Generate", seq, apiKey), ({ exit, text }) => {
        if (exit._tag === "Success") return 200
        const tag = exit.cause[0]?.error?._tag
        assert.oneOf(tag, ["Unauthorized", "RateLimitExceeded"], text)
        return tag === "Unauthorized" ? 401 : 429
      })
  }
}

/** Transactions committed so far in the server's database (PostgreSQL's statistics, flushed within ~1 s). */
const transactions = (server: ServerProcessShape) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ n: string }>`
      SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = current_database()`
    return Number(rows[0]!.n)
  }).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(server.databaseUrl), maxConnections: 1 })),
    Effect.orDie
  )

const Suite = ServerProcess.layer({ env: { IDGEN_AUTH_UNKNOWN_KEY_CACHE_MS: String(cacheMillis) } })

layer(Suite, { timeout: "180 seconds", excludeTestServices: true })("failed authentication is cheap", (it) => {
  it.effect("the same unknown key again and again: one lookup, then 401 from memory until the negative cache expires", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const grpc = yield* GrpcClient.make(server.grpcPort)
      yield* workspaceWithKey(server, { name: "fa" })
      const key = unknownKey(0xabc)
      const before = yield* lookups(server)
      const statuses: Array<number> = []
      for (const via of ["http", "grpc", "rpc", "http", "grpc", "rpc"] as const) statuses.push(yield* call(server, grpc, via, key))
      assert.deepStrictEqual(statuses, [401, 401, 401, 401, 401, 401])
      assert.strictEqual((yield* lookups(server)) - before, 1, "looked up more than once")
      // Once the entry has expired, the key is looked up again (once).
      yield* wait(cacheMillis + 200)
      assert.strictEqual(yield* call(server, grpc, "http", key), 401)
      assert.strictEqual(yield* call(server, grpc, "grpc", key), 401)
      assert.strictEqual((yield* lookups(server)) - before, 2)
    }))

  it.effect("300 distinct unknown keys from one address over HTTP, gRPC and RPC: bounded lookups, then 429; a valid key from the same address is served throughout", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const grpc = yield* GrpcClient.make(server.grpcPort)
      const validKey = yield* workspaceWithKey(server, { name: "fa-ok" })
      const legit = { workspace: "fa-ok", group: "g", biz_tag: "t" }
      const served: Array<number> = []
      const legitimate = yield* Effect.forkChild(Effect.forever(Effect.andThen(
        Effect.map(server.request("POST", "/api/v1/generate", { apiKey: validKey, json: legit }), (res) => served.push(res.status)),
        wait(20)
      )))
      while (served.length === 0) yield* wait(10)

      const before = yield* lookups(server)
      const started = Date.now()
      const interfaces = ["http", "grpc", "rpc"] as const
      const statuses = yield* Effect.forEach(
        Array.from({ length: 300 }, (_, i) => i),
        (i) => Effect.map(call(server, grpc, interfaces[i % 3]!, unknownKey(0x10000 + i)), (status) => ({ via: interfaces[i % 3]!, status })),
        { concurrency: 16 }
      )
      const elapsed = (Date.now() - started) / 1000
      const looked = (yield* lookups(server)) - before
      const servedDuring = served.length
      while (served.length < servedDuring + 2) yield* wait(10)
      yield* Fiber.interrupt(legitimate)

      const refused = statuses.filter((s) => s.status === 429)
      assert.isAtMost(looked, burst + perSecond * (Math.ceil(elapsed) + 1), `${looked} lookups in ${elapsed} s`)
      assert.strictEqual(statuses.filter((s) => s.status === 401).length, looked, "every lookup answered 401")
      assert.strictEqual(refused.length, 300 - looked, "the rest answered 429 without a lookup")
      for (const via of interfaces) assert.isTrue(refused.some((s) => s.via === via), `no 429 over ${via}`)
      assert.deepStrictEqual(served.filter((status) => status !== 200), [], "the valid key was refused")
    }))

  it.effect("health from every interface at once: at most one database probe a second", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const grpc = yield* GrpcClient.make(server.grpcPort)
      const probes = [
        Effect.map(server.request("GET", "/health"), (res) => res.status === 200),
        Effect.map(server.request("GET", "/ready"), (res) => res.status === 200),
        Effect.map(grpc.call("HealthCheck", {}), (reply) => reply.ok),
        Effect.map(RawRpc.call(server, "HealthCheck", null), ({ exit }) => exit.value?.status === "healthy")
      ]
      yield* wait(1500)
      const before = yield* transactions(server)
      const started = Date.now()
      let calls = 0
      // At least 1000 calls and 3 s, however long the calls take on this machine.
      while (calls < 1000 || Date.now() - started < 3000) {
        const answers = yield* Effect.all(Array.from({ length: 40 }, (_, i) => probes[i % 4]!), { concurrency: "unbounded" })
        assert.isTrue(answers.every((ok) => ok), "a health call failed")
        calls += answers.length
      }
      const seconds = (Date.now() - started) / 1000
      yield* wait(1500)
      const committed = (yield* transactions(server)) - before
      // Probes: at most one a second (≈ 4); the rest is the node's own background work
      // (change polls, degradation probes: a few a second) and these two reads.
      assert.isBelow(committed, 15 * (seconds + 3), `${committed} transactions for ${calls} health calls in ${seconds} s`)
    }))
})
