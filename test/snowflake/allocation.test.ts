/**
 * Worker-id allocation on the real (shared, 3-member) etcd cluster: racing allocators
 * never share an id, 256 exhaust a datacenter (IDGEN-SNOW-2003, and a server started then
 * is not ready), a released id is reusable and carries its final ceiling, and an expired
 * lease frees its id while the ceiling stays.
 */
import { assert, describe, it } from "@effect/vitest"
import { Errors } from "@idgen/core"
import { Effect } from "effect"
import { type EtcdWorkerRegistryShape, WORKER_IDS } from "@idgen/server/snowflake/EtcdWorkerRegistry"
import { assertError, createBizTag, make as startServer, workspaceWithKey } from "../support/ServerProcess.ts"
import * as SharedEtcd from "../support/SharedEtcd.ts"
import { eventually } from "../support/Eventually.ts"
import { decode, etcdEnv, registry } from "../support/SnowflakeCluster.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

/**
 * Claims all 256 ids, each under its own lease (as 256 nodes would); yields the leases by id.
 * The leases are never kept alive: they outlast any test here (an expired one would free its
 * id), however slowly claiming and starting a server go on a loaded machine.
 */
const fill = (allocator: EtcdWorkerRegistryShape) =>
  Effect.forEach(
    Array.from({ length: WORKER_IDS }, (_, i) => i),
    () =>
      Effect.flatMap(allocator.grantLease(600), (lease) =>
        Effect.map(allocator.claimFirstFree(lease, "filler"), (claim) => [claim.workerId, lease] as const)),
    { concurrency: 8 }
  ).pipe(Effect.map((pairs) => new Map(pairs)))

describe("worker-id allocation on etcd", () => {
  it.live("20 allocators racing for ids never share one", () =>
    Effect.gen(function*() {
      const prefix = SharedEtcd.uniquePrefix("race")
      // Each allocator has its own etcd client and lease, as separate nodes would.
      const allocators = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        () => registry(SharedEtcd.endpoints(), prefix)
      )
      const claims = yield* Effect.forEach(
        allocators,
        (allocator, i) =>
          Effect.flatMap(allocator.grantLease(10), (lease) => allocator.claimFirstFree(lease, `racer-${i}`)),
        { concurrency: "unbounded" }
      )
      const ids = claims.map((c) => c.workerId).sort((a, b) => a - b)
      assert.deepStrictEqual(ids, Array.from({ length: 20 }, (_, i) => i), "each of ids 0..19 exactly once")
      const holders = yield* Effect.forEach(ids, (id) => allocators[0]!.inspect(id))
      assert.strictEqual(new Set(holders.map((h) => h.holder)).size, 20)
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live("256 exhaust the datacenter → IDGEN-SNOW-2003; a released id is reusable with its ceiling", () =>
    Effect.gen(function*() {
      const prefix = SharedEtcd.uniquePrefix("exhaust")
      const allocator = yield* registry(SharedEtcd.endpoints(), prefix)
      const leases = yield* fill(allocator)
      assert.strictEqual(leases.size, WORKER_IDS)

      const other = yield* allocator.grantLease(30)
      const refused = yield* Effect.flip(allocator.claimFirstFree(other, "late"))
      assert.instanceOf(refused, Errors.NoAvailableWorkerId)
      assert.strictEqual(Errors.codeOf(refused as Errors.NoAvailableWorkerId), "IDGEN-SNOW-2003")

      // Releasing worker 17 (as a graceful shutdown does) frees it with its final ceiling.
      yield* allocator.release(leases.get(17)!, { workerId: 17, finalCeilingMs: 1_800_000_000_123 })
      const record = yield* allocator.inspect(17)
      assert.isUndefined(record.holder)
      assert.strictEqual(record.ceilingMs, 1_800_000_000_123)
      const again = yield* allocator.claimFirstFree(other, "late")
      assert.deepStrictEqual([again.workerId, again.afterMs], [17, 1_800_000_000_123])
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live("an expired lease frees its id; the ceiling recorded under it stays", () =>
    Effect.gen(function*() {
      const prefix = SharedEtcd.uniquePrefix("expire")
      const allocator = yield* registry(SharedEtcd.endpoints(), prefix)
      // Before the grant: the lease cannot expire earlier than its TTL after this, however long
      // the claim and the reservation below take on a loaded machine.
      const started = Date.now()
      const lease = yield* allocator.grantLease(2) // never kept alive
      const claim = yield* allocator.claimFirstFree(lease, "short-lived")
      assert.deepStrictEqual(claim, { workerId: 0, afterMs: -1, ceilingRevision: undefined })
      const written = yield* allocator.reserve(lease, 0, 1_800_000_000_456)
      yield* eventually(
        "claim expiry",
        15_000,
        Effect.map(allocator.inspect(0), (r) => (r.holder === undefined ? true : undefined))
      )
      assert.isAtLeast(Date.now() - started, 2000, "not before the TTL")
      const next = yield* allocator.grantLease(10)
      const taken = yield* allocator.claimFirstFree(next, "successor")
      assert.deepStrictEqual(taken, { workerId: 0, afterMs: 1_800_000_000_456, ceilingRevision: written })
      // The former holder can no longer move the ceiling.
      const stale = yield* Effect.flip(allocator.reserve(lease, 0, 1_900_000_000_000))
      assert.strictEqual(stale._tag, "ClaimLost")
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live("a server started with every id held is live but not ready (503), and takes the first id freed", () =>
    Effect.gen(function*() {
      const prefix = SharedEtcd.uniquePrefix("full")
      const allocator = yield* registry(SharedEtcd.endpoints(), prefix)
      const leases = yield* fill(allocator)
      const databaseUrl = yield* TestDatabase.make
      const server = yield* startServer(databaseUrl, {
        env: etcdEnv(SharedEtcd.endpoints(), prefix, { IDGEN_NODE_NAME: "starved" }),
        waitFor: "live"
      })
      const apiKey = yield* workspaceWithKey(server, { name: "full" })
      yield* createBizTag(server, "full", { group: "g", name: "snow", algorithm: "snowflake" })
      yield* createBizTag(server, "full", { group: "g", name: "snowfb", algorithm: "snowflake", fallback: ["uuid_v7"] })

      assertError(yield* server.request("GET", "/ready"), 503, "IDGEN-COMMON-0005")
      const refused = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        json: { workspace: "full", group: "g", biz_tag: "snow" }
      })
      const error = assertError(refused, 503, "IDGEN-SNOW-2003")
      assert.include(error.message, "all 256 worker ids")
      const fallback = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        json: { workspace: "full", group: "g", biz_tag: "snowfb" }
      })
      assert.strictEqual(fallback.status, 200, fallback.text)
      assert.strictEqual(fallback.json.algorithm, "uuid_v7")

      yield* allocator.release(leases.get(42)!, { workerId: 42, finalCeilingMs: undefined })
      yield* eventually(
        "ready after an id was freed",
        20_000,
        Effect.map(server.request("GET", "/ready"), (r) => (r.status === 200 ? true : undefined))
      )
      const issued = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        json: { workspace: "full", group: "g", biz_tag: "snow" }
      })
      assert.strictEqual(issued.status, 200, issued.text)
      assert.strictEqual(decode(issued.json.id).workerId, 42)
      assert.strictEqual((yield* allocator.inspect(42)).holder, "starved")
    }).pipe(Effect.scoped), { timeout: 120_000 })
})
