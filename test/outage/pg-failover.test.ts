/**
 * PostgreSQL failover to an asynchronous standby that surely lags: two server processes (one
 * allocating directly, one through the shared Redis segment pool) serve a steady load on two
 * segment biz_tags through a TCP proxy standing in for the database's VIP. The pool node
 * pauses, the standby catches up and then stops receiving WAL; the direct node goes on, so
 * the primary commits allocations whose numbers it hands out. The direct node pauses, the
 * primary is killed (SIGKILL), the standby promoted, the proxy switched; the pool node
 * resumes, then the direct one. The promoted standby lacks those allocations: without the
 * timeline fence it hands the same ranges to the pool node again (a node refuses a range
 * below its own last one and allocates anew, so the duplicates are across nodes: hence the
 * pool node first, before the direct node's refusals move the pointers past them).
 *
 * Expected: zero duplicates per biz_tag, counted exactly over every ID answered; every answer
 * a success or a contract error; both nodes serve segment IDs again from the new primary;
 * exactly one fence, recorded with the new timeline, counted and logged.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { OwnRedis } from "../support/OwnRedis.ts"
import { pacedLoad, type Shot, type Target } from "../support/PacedLoad.ts"
import * as PostgresFailoverPair from "../support/PostgresFailoverPair.ts"
import * as ServerProcess from "../support/ServerProcess.ts"
import { eventually } from "../support/Eventually.ts"
import { duplicatesIn, metricValue } from "../support/SnowflakeCluster.ts"

const STEP = 100
const tags = ["orders", "payments"]

// Small segments, so that allocations (and with them the lag window's losses) are frequent.
const configFile = join(mkdtempSync(join(tmpdir(), "idgen-failover-")), "idgen.toml")
writeFileSync(configFile, `[segment]\nmax_step = ${STEP}\ntarget_segment_seconds = 1\n`)

describe("PostgreSQL failover to an asynchronous standby", () => {
  layer(OwnRedis.layer, { excludeTestServices: true, timeout: 240_000 })((it) => {
    it.effect("lagging standby promoted under load on two nodes: zero duplicate segment IDs, one fence", () =>
      Effect.gen(function*() {
        const pair = yield* PostgresFailoverPair.make
        const redis = yield* OwnRedis
        const start = (i: number) =>
          ServerProcess.make(pair.url, {
            env: {
              IDGEN_CONFIG: configFile,
              IDGEN_REDIS_URL: redis.url,
              IDGEN_SEGMENT_STEP: String(STEP),
              // Node 0 allocates every segment itself; node 1 takes them from the Redis pool.
              IDGEN_SEGMENT_POOL_ENABLED: i === 0 ? "false" : "true",
              IDGEN_SEGMENT_POOL_SEGMENT_SIZE: String(STEP),
              IDGEN_SEGMENT_POOL_SEGMENTS_PER_REFILL: "4",
              IDGEN_WORKER_ID: String(i + 1),
              IDGEN_NODE_NAME: `failover-${i}`
            }
          })
        const first = yield* start(0)
        const servers = [first, yield* start(1)]
        const apiKey = yield* ServerProcess.workspaceWithKey(first, { name: "failover" })
        for (const name of tags) {
          yield* ServerProcess.createBizTag(first, "failover", { group: "g", name, algorithm: "segment", step: STEP })
        }
        const health = yield* first.request("GET", "/health")
        assert.match(health.json.checks.replication.message, /^asynchronous: .*1 streaming standbys/, health.text)
        assert.strictEqual(metricValue((yield* first.request("GET", "/metrics")).text, "idgen_storage_synchronous_replication"), 0)

        const targets: Array<Target> = servers.flatMap((server, node) =>
          tags.map((tag) => ({ node, server, apiKey, workspace: "failover", group: "g", tag }))
        )
        const shots: Array<Shot> = []
        const stopped = [false, false]
        // Batches of 10 every 20 ms per node and biz_tag: a segment of 100 lasts 0.2 s.
        const loadOn = (node: number) =>
          Effect.forkChild(pacedLoad(targets.filter((t) => t.node === node), {
            callers: 1,
            intervalMs: 20,
            size: 10,
            stop: () => stopped[node]!,
            shots
          }))
        const loads = [yield* loadOn(0), yield* loadOn(1)]
        const served = (since: number) =>
          targets.every((t) => shots.filter((s) => s.node === t.node && s.tag === t.tag && s.sent >= since && s.status === 200).length >= 20)
        yield* eventually("segment IDs from both nodes", 30_000, Effect.sync(() => served(0) || undefined))

        // The pool node pauses; the standby has all it allocated, then misses whatever the primary commits.
        stopped[1] = true
        yield* Fiber.join(loads[1]!)
        yield* pair.standbyCaughtUp
        yield* pair.detachStandby
        const allocations = Effect.map(
          pair.query<{ readonly n: number }>(pair.primary.url, "SELECT count(*)::integer AS n FROM segment_allocations"),
          (rows) => rows[0]!.n
        )
        const atDetach = yield* allocations
        yield* eventually("20 allocations the standby lacks", 30_000, Effect.map(allocations, (n) => n >= atDetach + 20 || undefined))
        stopped[0] = true
        yield* Fiber.join(loads[0]!)
        const killedAt = Date.now()
        yield* pair.killPrimary
        yield* pair.promoteStandby
        // What the promoted standby has: the pointers from before the detach.
        const pointers = yield* pair.query<{ readonly name: string; readonly max_id: string }>(
          pair.standby.url,
          "SELECT b.name, max(s.max_id)::text AS max_id FROM segments s JOIN biz_tags b ON b.id = s.biz_tag_id GROUP BY b.name"
        )
        yield* pair.switchProxy
        const switchedAt = Date.now()
        stopped[1] = false
        loads[1] = yield* loadOn(1)
        // The pool node serves from ranges allocated after the failover, then both serve.
        yield* eventually("pool node IDs beyond the promoted standby's pointers", 60_000, Effect.sync(() =>
          pointers.every(({ name, max_id }) =>
            shots.some((s) => s.node === 1 && s.tag === name && s.sent >= switchedAt && s.ids.some((id) => Number(id) > Number(max_id)))
          ) || undefined))
        stopped[0] = false
        loads[0] = yield* loadOn(0)
        yield* eventually("segment IDs from both nodes after the failover", 60_000, Effect.sync(() => served(switchedAt) || undefined))
        stopped[0] = stopped[1] = true
        yield* Fiber.join(loads[0]!)
        yield* Fiber.join(loads[1]!)

        // The hole was there: IDs above the promoted standby's pointers were answered before the kill.
        for (const { name, max_id } of pointers) {
          const before = shots.filter((s) => s.tag === name && s.sent < killedAt).flatMap((s) => s.ids.map(Number))
          assert.isAbove(Math.max(...before), Number(max_id), `${name}: no ID beyond the standby's pointer was answered before the kill`)
        }
        // Exactly: every ID answered, per biz_tag.
        const duplicates = tags.map((tag) => {
          const ids = shots.filter((s) => s.tag === tag).flatMap((s) => s.ids)
          return { tag, ids: ids.length, duplicates: duplicatesIn(ids) }
        })
        assert.deepStrictEqual(duplicates.map((d) => d.duplicates), [0, 0], JSON.stringify(duplicates))
        const violations = shots.filter((s) => s.violation !== undefined)
        assert.deepStrictEqual(violations.slice(0, 5).map((s) => s.violation), [], `${violations.length} answers break the contract`)
        const algorithms = new Set(shots.filter((s) => s.status === 200).map((s) => s.algorithm))
        assert.deepStrictEqual([...algorithms], ["segment"])

        // One fence, on the new timeline, counted by the node that ran it and logged.
        const [fence] = yield* pair.query<{ readonly timeline: string; readonly fences: string; readonly fenced_by: string }>(
          pair.standby.url,
          "SELECT timeline::text, fences::text, fenced_by FROM storage_fence"
        )
        assert.deepStrictEqual({ timeline: fence!.timeline, fences: fence!.fences }, { timeline: "2", fences: "1" })
        const fenceCounts = yield* Effect.forEach(servers, (server) =>
          Effect.map(server.request("GET", "/metrics"), (res) => metricValue(res.text, "idgen_storage_fences_total")))
        assert.deepStrictEqual(fenceCounts.reduce((a, b) => a + b, 0), 1)
        const fencer = servers[["failover-0", "failover-1"].indexOf(fence!.fenced_by)]!
        assert.include(fencer.output(), "storage fence: the database changed incarnation")
        console.log("pg failover", JSON.stringify({ pointers, duplicates, fenceCounts, fencedBy: fence!.fenced_by }))
      }))
  })
})
