/**
 * Database outage drill: three server processes share the suite's own PostgreSQL and the
 * suite's own Redis (so L1, L2 and the L3 segment pool are all in play) and serve a steady
 * load on two segment biz_tags, one without fallback and one with [snowflake, uuid_v7].
 * PostgreSQL is stopped for IDGEN_TEST_OUTAGE_MS (default 30 s, as the issue asks) and
 * started again.
 *
 * Expected: every answer is a success or a contract error; the plain biz_tag serves the
 * numbers each node has buffered and then answers IDGEN-SEG-1003/503 — the Redis pool
 * serves nothing while the database cannot claim its entries; the chained one never fails and
 * says which fallback produced its IDs; `/health` shows the degradation; once the database
 * is back every node serves segment again by itself; no ID twice per biz_tag across the
 * nodes; no process died. The observed timeline is printed for the README.
 */
import { assert, describe, layer } from "@effect/vitest"
import * as Grpc from "@grpc/grpc-js"
import { Effect, Fiber, Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as GrpcClient from "../support/GrpcClient.ts"
import { OwnPostgres } from "../support/OwnPostgres.ts"
import { OwnRedis } from "../support/OwnRedis.ts"
import { pacedLoad, type Shot, type Target } from "../support/PacedLoad.ts"
import * as ServerProcess from "../support/ServerProcess.ts"
import { eventually } from "../support/Eventually.ts"
import { duplicatesIn } from "../support/SnowflakeCluster.ts"

const outageMs = Number(process.env["IDGEN_TEST_OUTAGE_MS"] ?? 30_000)
const NODES = 3
const STEP = 50

// Segments that stay small (the dynamic step would otherwise grow with the request rate
// and buffer minutes of IDs), so every node runs dry early in the outage.
const configFile = join(mkdtempSync(join(tmpdir(), "idgen-outage-")), "idgen.toml")
writeFileSync(configFile, `[segment]\nmax_step = ${STEP}\ntarget_segment_seconds = 1\n`)

const PLAIN = "plain"
const CHAINED = "chained"
const tags = [PLAIN, CHAINED]

interface HealthSample {
  readonly node: number
  readonly at: number
  readonly status: string
  readonly degradation: string
  readonly message: string
  readonly ready: number
}

/** Sum of the samples of `name` whose labels include all of `labels`. */
const metricSum = (text: string, name: string, labels: ReadonlyArray<string>) =>
  text.split("\n")
    .filter((line) => line.startsWith(`${name}{`) && labels.every((l) => line.includes(l)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0)

describe("PostgreSQL outage under three nodes", () => {
  layer(Layer.merge(OwnPostgres.layer, OwnRedis.layer), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect(`PostgreSQL down ${outageMs / 1000} s: buffers, fallback or IDGEN-SEG-1003, automatic recovery, no duplicate`, () =>
      Effect.gen(function*() {
        const pg = yield* OwnPostgres
        const redis = yield* OwnRedis
        const start = (i: number) =>
          ServerProcess.make(pg.url, {
            env: {
              IDGEN_CONFIG: configFile,
              IDGEN_REDIS_URL: redis.url,
              // Pool segments as small as the step: a refill is 10 × 50 numbers.
              IDGEN_SEGMENT_POOL_SEGMENT_SIZE: String(STEP),
              IDGEN_SEGMENT_POOL_SEGMENTS_PER_REFILL: "10",
              IDGEN_SEGMENT_STEP: String(STEP),
              IDGEN_WORKER_ID: String(i + 1),
              IDGEN_NODE_NAME: `node-${i}`
            }
          })
        // The first node migrates the database; the others start together after it.
        const first = yield* start(0)
        const servers = [first, ...yield* Effect.forEach([1, 2], start, { concurrency: "unbounded" })]
        const apiKey = yield* ServerProcess.workspaceWithKey(first, { name: "drill" })
        yield* ServerProcess.createBizTag(first, "drill", { group: "g", name: PLAIN, algorithm: "segment", step: STEP })
        yield* ServerProcess.createBizTag(first, "drill", {
          group: "g",
          name: CHAINED,
          algorithm: "segment",
          fallback: ["snowflake", "uuid_v7"],
          step: STEP
        })

        const targets: Array<Target> = servers.flatMap((server, node) =>
          tags.map((tag) => ({ node, server, apiKey, workspace: "drill", group: "g", tag }))
        )
        const shots: Array<Shot> = []
        let stopped = false
        // 2 callers × 25 requests/s per node and biz_tag: a node's two segments (≤ 2 × 50
        // numbers) last about two seconds of the outage.
        const load = yield* Effect.forkChild(pacedLoad(targets, { callers: 2, intervalMs: 40, stop: () => stopped, shots }))
        const of = (node: number, tag: string, since: number) =>
          shots.filter((s) => s.node === node && s.tag === tag && s.sent >= since)

        // Every node serves both biz_tags (and has verified the key) before the outage.
        yield* eventually("segment IDs from every node", 30_000, Effect.sync(() =>
          targets.every((t) => of(t.node, t.tag, 0).filter((s) => s.algorithm === "segment").length >= 20) ? true : undefined))

        const poolPops = Effect.map(
          Effect.forEach(servers, (server) => server.request("GET", "/metrics")),
          (answers) => answers.reduce((n, res) => n + metricSum(res.text, "idgen_segment_pool_pops_total", [`biz_tag="${PLAIN}"`]), 0)
        )
        const stopAt = Date.now()
        yield* pg.stop
        // Counted once the database is gone: from here no pool entry can be claimed.
        const popsBefore = yield* poolPops
        yield* Effect.addFinalizer(() => Effect.ignore(pg.start))
        // /health of every node, sampled from the stop until the end of the drill.
        const samples: Array<HealthSample> = []
        const sampler = yield* Effect.forkChild(Effect.gen(function*() {
          while (!stopped) {
            yield* Effect.forEach(servers, (server, node) =>
              Effect.gen(function*() {
                const [res, ready] = yield* Effect.all([server.request("GET", "/health"), server.request("GET", "/ready")])
                samples.push({
                  node,
                  at: Date.now(),
                  status: `${res.status} ${res.json?.status}`,
                  degradation: res.json?.checks?.degradation?.status,
                  message: String(res.json?.checks?.degradation?.message),
                  ready: ready.status
                })
              }), { concurrency: "unbounded", discard: true })
            yield* ServerProcess.wait(250)
          }
        }))
        // The fault itself: the database stays down this long, whatever the nodes do.
        yield* ServerProcess.wait(outageMs)
        // gRPC tells the same story once a node's buffers are spent: UNAVAILABLE with
        // IDGEN-SEG-1003 for the plain biz_tag, a fallback algorithm for the chained one.
        const grpcChecked = yield* Effect.forEach(servers, (server, node) =>
          Effect.gen(function*() {
            const spent = (tag: string) => of(node, tag, stopAt).some((s) => s.status === 503 || s.algorithm !== "segment")
            if (!spent(PLAIN) || !spent(CHAINED)) return false
            const grpc = yield* GrpcClient.make(server.grpcPort)
            const key = { workspace: "drill", group: "g" }
            const plain = yield* grpc.call("Generate", { ...key, biz_tag: PLAIN }, { apiKey, deadlineMillis: 10_000 })
            GrpcClient.assertStatus(plain, Grpc.status.UNAVAILABLE, "IDGEN-SEG-1003")
            const chained = yield* grpc.call("Generate", { ...key, biz_tag: CHAINED }, { apiKey, deadlineMillis: 10_000 })
            assert.isTrue(chained.ok, JSON.stringify(chained))
            if (chained.ok) assert.include(["snowflake", "uuid_v7"], chained.value.algorithm)
            return true
          }))
        const popsDuring = (yield* poolPops) - popsBefore
        yield* pg.start
        const restartAt = Date.now()

        // Recovered: each node answers segment for both biz_tags again, 20 times in a row.
        const recoveredSince = (node: number, tag: string): number | undefined => {
          const after = of(node, tag, restartAt)
          const lastOther = after.findLastIndex((s) => s.algorithm !== "segment")
          return after.length - lastOther - 1 >= 20 ? after[lastOther + 1]!.sent : undefined
        }
        yield* eventually("every node back on segment", 60_000, Effect.sync(() =>
          targets.every((t) => recoveredSince(t.node, t.tag) !== undefined) ? true : undefined))
        const healthyAt = yield* Effect.forEach(servers, (server, node) =>
          eventually(`node-${node} healthy`, 60_000, Effect.map(server.request("GET", "/health"), (res) =>
            res.status === 200 && res.json.status === "healthy" ? Date.now() : undefined)))
        stopped = true
        yield* Fiber.join(load)
        yield* Fiber.join(sampler)

        // Every answer: a success or a contract error, and only of the expected kinds.
        const violations = shots.filter((s) => s.violation !== undefined)
        assert.deepStrictEqual(violations.slice(0, 5).map((s) => s.violation), [], `${violations.length} answers break the contract`)
        const when = (s: Shot) => `node-${s.node} ${s.tag} ${s.status} ${s.code} sent ${s.sent - stopAt} ms after the stop (${s.sent - restartAt} after the restart), took ${s.at - s.sent} ms: ${s.message}`
        const failedBefore = shots.filter((s) => s.at < stopAt && s.status !== 200)
        assert.deepStrictEqual(failedBefore.slice(0, 5).map(when), [], `${failedBefore.length} failures before the outage`)
        const otherPlainErrors = shots.filter((s) => s.tag === PLAIN && s.status !== 200 && s.code !== "IDGEN-SEG-1003")
        assert.deepStrictEqual(otherPlainErrors.slice(0, 5).map(when), [], `${otherPlainErrors.length} plain failures other than IDGEN-SEG-1003`)
        const chainedFailures = shots.filter((s) => s.tag === CHAINED && s.status !== 200)
        assert.deepStrictEqual(chainedFailures.slice(0, 5).map(when), [], `${chainedFailures.length} failures of the biz_tag with fallback`)

        const rows = servers.map((_, node) => {
          const during = (tag: string) => shots.filter((s) => s.node === node && s.tag === tag && s.sent >= stopAt && s.sent < restartAt)
          const segmentIds = (tag: string) => during(tag).filter((s) => s.algorithm === "segment").reduce((n, s) => n + s.ids.length, 0)
          const firstOf = (tag: string, pick: (s: Shot) => boolean) => {
            const found = during(tag).find(pick)
            return found === undefined ? undefined : found.sent - stopAt
          }
          const degradedSample = samples.find((s) => s.node === node && s.degradation === "degraded" && s.message.includes("segment"))
          const byAlgorithm = (tag: string) =>
            Object.fromEntries(["segment", "snowflake", "uuid_v7"].map((a) => [a, during(tag).filter((s) => s.algorithm === a).length]))
          return {
            node: `node-${node}`,
            plain_buffered_ids: segmentIds(PLAIN),
            plain_first_1003_ms: firstOf(PLAIN, (s) => s.code === "IDGEN-SEG-1003"),
            plain_errors: during(PLAIN).filter((s) => s.status !== 200).length,
            chained_buffered_ids: segmentIds(CHAINED),
            chained_first_fallback_ms: firstOf(CHAINED, (s) => s.status === 200 && s.algorithm !== "segment"),
            chained_answers: byAlgorithm(CHAINED),
            health_degraded_ms: degradedSample === undefined ? undefined : degradedSample.at - stopAt,
            health_seen: [...new Set(samples.filter((s) => s.node === node).map((s) => `${s.status}, /ready ${s.ready}`))],
            recovery_plain_ms: recoveredSince(node, PLAIN)! - restartAt,
            recovery_chained_ms: recoveredSince(node, CHAINED)! - restartAt,
            health_healthy_ms: healthyAt[node]! - restartAt,
            grpc_checked: grpcChecked[node],
            max_latency_ms: Math.max(...shots.filter((s) => s.node === node && s.sent >= stopAt).map((s) => s.at - s.sent))
          }
        })
        console.log(
          `PostgreSQL outage of ${restartAt - stopAt} ms under ${NODES} nodes (${shots.length} requests, ` +
            `${popsDuring} segments of the plain biz_tag taken from the Redis pool during it, ` +
            `step ${STEP}, 2 callers × 25 req/s per node and biz_tag); ms are relative to the stop / the restart:\n` +
            rows.map((r) => JSON.stringify(r)).join("\n")
        )

        for (const row of rows) {
          // Buffers first, then IDGEN-SEG-1003 (plain) or a fallback algorithm (chained).
          assert.isDefined(row.plain_first_1003_ms, `${row.node}: the plain biz_tag never answered IDGEN-SEG-1003`)
          assert.isDefined(row.chained_first_fallback_ms, `${row.node}: the chained biz_tag never fell back`)
          assert.isAbove(row.chained_answers["snowflake"]!, 0, `${row.node}: no snowflake IDs during the outage`)
          assert.isDefined(row.health_degraded_ms, `${row.node}: /health never showed segment degraded`)
          assert.isTrue(row.grpc_checked, `${row.node}: buffers not spent when the outage ended, gRPC not checked`)
        }
        // The pool cannot prove an entry unused without the database: it served nothing.
        assert.strictEqual(popsDuring, 0, "segments taken from the Redis pool while PostgreSQL was down")
        // During the outage the chained biz_tag answers only with its chain.
        const foreign = shots.filter((s) => s.tag === CHAINED && !["segment", "snowflake", "uuid_v7"].includes(s.algorithm!))
        assert.deepStrictEqual(foreign.slice(0, 3), [])

        for (const tag of tags) {
          const ids = shots.filter((s) => s.tag === tag).flatMap((s) => s.ids)
          assert.strictEqual(duplicatesIn(ids), 0, `duplicate IDs of ${tag} across the nodes`)
        }

        // No node died or restarted: the same processes answer, with the transitions counted.
        for (const [node, server] of servers.entries()) {
          assert.strictEqual((yield* server.request("GET", "/live")).status, 200, `node-${node} is not live`)
          assert.doesNotThrow(() => process.kill(server.pid()!, 0), `node-${node} is not running`)
          const metrics = (yield* server.request("GET", "/metrics")).text
          const transitions = (to: string) =>
            metricSum(metrics, "idgen_degradation_transitions_total", ['algorithm="segment"', `to="${to}"`, 'manual="false"'])
          assert.isAtLeast(transitions("unhealthy"), 1, `node-${node}: segment never went unhealthy`)
          assert.isAtLeast(transitions("healthy"), 1, `node-${node}: segment never recovered`)
          const crashes = server.output().split("\n").filter((line) => /uncaught|unhandled/i.test(line))
          assert.deepStrictEqual(crashes.slice(0, 5), [], `node-${node} log`)
        }
      }).pipe(Effect.scoped), { timeout: 60_000 + outageMs + 120_000 })
  })
})
