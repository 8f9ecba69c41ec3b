/**
 * Static worker ids (no etcd) across crashes and misconfiguration, on real server
 * processes under libfaketime. Every node here issues as worker 7; every ID any of them
 * answered is collected and duplicates are counted exactly.
 *
 * - kill -9, restart with the wall clock 2 s behind the moment of death: on PostgreSQL
 *   the node waits until its clock passes the ceiling it recorded; on the embedded store,
 *   with a start wait bound below the gap, snowflake answers IDGEN-SNOW-2001 (a fallback
 *   serves) until the clock is within the tolerated drift.
 * - kill -9 while the logical clock runs ahead (the wall clock stepped back 3 s under load,
 *   within a 5 s logical tolerance), restart at once.
 * - a graceful stop records the highest issued timestamp: the restart issues at once.
 * - kill -9 and restart on the same data directory: the node takes its own id back at once.
 * - a second node configured with the same worker id (and node name) on the same database: not ready,
 *   IDGEN-SNOW-2003, one log line; the first keeps issuing; once the first is killed and
 *   its heartbeat is stale, the second takes over above everything the first issued.
 */
import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Fiber, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import * as FakeClock from "../support/FakeClock.ts"
import {
  assertError,
  createBizTag,
  make as startServer,
  type ServerProcessShape,
  workspaceWithKey
} from "../support/ServerProcess.ts"
import { eventually } from "../support/Eventually.ts"
import { type Answer, decode, duplicatesIn, generateWhile, metricValue, snowflakeIds, summary } from "../support/SnowflakeCluster.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

const WORKER = 7
const HOLD_TIMEOUT_MS = 3000

const staticEnv = (name: string, extra: Record<string, string> = {}): Record<string, string> => ({
  IDGEN_NODE_NAME: name,
  IDGEN_WORKER_ID: String(WORKER),
  IDGEN_SNOWFLAKE_STATIC_HOLD_TIMEOUT_MS: String(HOLD_TIMEOUT_MS),
  ...extra
})

/** Workspace "static" with biz_tags `snow` (no fallback) and `snowfb` (fallback uuid_v7). */
const setUp = (server: ServerProcessShape) =>
  Effect.gen(function*() {
    const apiKey = yield* workspaceWithKey(server, { name: "static" })
    yield* createBizTag(server, "static", { group: "g", name: "snow", algorithm: "snowflake" })
    yield* createBizTag(server, "static", { group: "g", name: "snowfb", algorithm: "snowflake", fallback: ["uuid_v7"] })
    return apiKey
  })

/**
 * `clients` sequential clients of batches of 200 against `server`. Small batches touch
 * nearly every millisecond, each from sequence 0, so a reissued millisecond repeats IDs.
 */
const load = (server: ServerProcessShape, apiKey: string, clients: number, tags: ReadonlyArray<string> = ["snow"]) =>
  Effect.gen(function*() {
    let stopped = false
    const answers: Array<Array<Answer>> = Array.from({ length: clients }, () => [])
    const fibers = yield* Effect.forEach(answers, (into) =>
      Effect.forkChild(generateWhile(server, apiKey, { workspace: "static", group: "g" }, tags, 200, () => stopped, into)))
    const all = () => answers.flat()
    return {
      all,
      ids: () => snowflakeIds(all()),
      /** Waits until the clients have got snowflake IDs for `ms` and `n` of them (bounded). */
      running: (ms: number, n: number) =>
        eventually(`${n} snowflake IDs over ${ms} ms`, 60_000, Effect.sync(() => {
          const ok = all().filter((a) => a.algorithm === "snowflake")
          return (ok.length > 0 && Date.now() - Math.min(...ok.map((a) => a.sent)) >= ms && snowflakeIds(ok).length >= n) ||
            undefined
        })),
      /** Waits until `n` snowflake IDs arrived (bounded), then stops the clients. */
      until: (n: number, deadlineMs = 60_000) =>
        eventually(`${n} snowflake IDs`, deadlineMs, Effect.sync(() => snowflakeIds(all()).length >= n || undefined)).pipe(
          Effect.ensuring(Effect.sync(() => (stopped = true))),
          Effect.andThen(Effect.forEach(fibers, Fiber.join, { discard: true }))
        ),
      /** The clients end by themselves when the server dies. */
      join: Effect.forEach(fibers, Fiber.join, { discard: true })
    }
  })

const highest = (ids: ReadonlyArray<string>) => ids.reduce((a, b) => (BigInt(b) > BigInt(a) ? b : a))

const ready = (server: ServerProcessShape) =>
  eventually("ready", 60_000, Effect.map(server.request("GET", "/ready"), (r) => (r.status === 200 ? Date.now() : undefined)))

const metric = (server: ServerProcessShape, sample: string) =>
  Effect.map(server.request("GET", "/metrics"), (r) => metricValue(r.text, sample))

/** The `snowflake_workers` row of worker 7 (PostgreSQL). */
const workerRow = (databaseUrl: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly holder: string | null; readonly ceiling_ms: string }>`
      SELECT holder, ceiling_ms FROM snowflake_workers WHERE datacenter_id = 0 AND worker_id = ${WORKER}`
    return rows[0]
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 })), Effect.orDie)

/** Asserts that every ID after the restart is above every ID before it, and none repeats. */
const assertAbove = (before: ReadonlyArray<string>, after: ReadonlyArray<string>) => {
  const top = BigInt(highest(before))
  const below = after.filter((id) => BigInt(id) <= top)
  const all = [...before, ...after]
  assert.strictEqual(duplicatesIn(all), 0, `${duplicatesIn(all)} of ${after.length} IDs after the restart were issued before it`)
  assert.strictEqual(below.length, 0, `${below.length} IDs after the restart at or below the highest before it`)
  assert.isTrue(all.every((id) => decode(id).workerId === WORKER && decode(id).datacenterId === 0))
}

/**
 * A node (worker 7, under libfaketime) loaded for 3 s — longer than the step back, so that
 * the restarted node reaches milliseconds used before — killed with SIGKILL and started
 * again with its clock 2 s behind the moment of death, counted from when it runs again
 * (startup time does not eat the step).
 */
const killAndRestartBehind = (databaseUrl: string, extraEnv: Record<string, string>) =>
  Effect.gen(function*() {
    const clock = yield* FakeClock.make
    const server = yield* startServer(databaseUrl, { env: { ...staticEnv("phoenix", extraEnv), ...clock.env }, waitFor: "live" })
    yield* ready(server)
    const apiKey = yield* setUp(server)
    const before = yield* load(server, apiKey, 2)
    yield* before.running(3000, 100_000)
    const diedAt = Date.now()
    assert.strictEqual(yield* server.kill("SIGKILL"), "SIGKILL")
    yield* before.join
    yield* clock.setOffset(-(2000 + (Date.now() - diedAt)))
    const restartAt = Date.now()
    yield* server.restart
    yield* clock.setOffset(-(2000 + (Date.now() - diedAt)))
    return { apiKey, issuedBefore: before.ids(), restartAt, server }
  })

describe("static worker id: kill -9, restart with the clock 2 s behind the moment of death", () => {
  it.live("on PostgreSQL: waits until the clock passes the recorded ceiling (warning with the gap), no duplicate", () =>
    Effect.gen(function*() {
      const { apiKey, issuedBefore, restartAt, server } = yield* killAndRestartBehind(yield* TestDatabase.make, {})
      const after = yield* load(server, apiKey, 2)
      const readyAt = yield* ready(server)
      yield* after.until(issuedBefore.length)
      const issuedAfter = after.ids()
      assertAbove(issuedBefore, issuedAfter)
      const said = /worker 7: the clock is (\d+) ms behind the timestamp ceiling (\d+)/.exec(server.output())
      assert.isNotNull(said, "no warning about waiting for the ceiling")
      const recorded = Number(said![2])
      assert.isAtLeast(recorded, decode(highest(issuedBefore)).timestampMs, "the ceiling covers every issued timestamp")
      assert.isTrue(issuedAfter.every((id) => decode(id).timestampMs > recorded), "nothing at or below the recorded ceiling")
      const refused = after.all().filter((a) => a.status !== 200)
      assert.deepStrictEqual(refused.filter((a) => a.code !== "IDGEN-SNOW-2003").map(summary), [], "only 2003 while waiting")
      console.log(
        `static kill -9 (PostgreSQL): ${issuedBefore.length} IDs before, ${issuedAfter.length} after, 0 duplicates; ` +
          `waited ${said![1]} ms for the ceiling, ready ${readyAt - restartAt} ms after the restart, ${refused.length} × 2003 meanwhile`
      )
    }).pipe(Effect.scoped), { timeout: 180_000 })

  it.live("on the embedded store, gap above the start wait bound: 2001 while the fallback serves, then issues; no duplicate", () =>
    Effect.gen(function*() {
      const { apiKey, issuedBefore, server } = yield* killAndRestartBehind("", {
        IDGEN_DATABASE_URL: "",
        IDGEN_SNOWFLAKE_STATIC_CEILING_WAIT_MS: "1000"
      })
      const after = yield* load(server, apiKey, 2, ["snow", "snowfb"])
      yield* after.until(issuedBefore.length)
      const issuedAfter = after.ids()
      assertAbove(issuedBefore, issuedAfter)
      const firstOk = after.all().findIndex((a) => a.tag === "snow" && a.status === 200)
      const early = after.all().slice(0, firstOk)
      const refused = early.filter((a) => a.tag === "snow")
      assert.isAbove(refused.length, 0, "snowflake issued at once")
      assert.deepStrictEqual(refused.filter((a) => a.code !== "IDGEN-SNOW-2001").map(summary), [], "snow → 2001 meanwhile")
      const served = early.filter((a) => a.tag === "snowfb")
      assert.isTrue(served.every((a) => a.status === 200 && a.algorithm === "uuid_v7"), "snowfb served by uuid_v7 meanwhile")
      assert.include(server.output(), "more than the 1000 ms this node waits at start")
      console.log(
        `static kill -9 (embedded): ${issuedBefore.length} IDs before, ${issuedAfter.length} after, 0 duplicates; ` +
          `${refused.length} × 2001 and ${served.length} uuid_v7 answers before snowflake issued again`
      )
    }).pipe(Effect.scoped), { timeout: 180_000 })
})

describe("static worker id: graceful stop", () => {
  it.live("records the highest issued timestamp and frees the row: the restart issues at once, above it", () =>
    Effect.gen(function*() {
      const databaseUrl = yield* TestDatabase.make
      const server = yield* startServer(databaseUrl, { env: staticEnv("graceful") })
      const apiKey = yield* setUp(server)
      const before = yield* load(server, apiKey, 2)
      yield* before.until(100_000)
      yield* server.kill("SIGTERM")
      const issuedBefore = before.ids()
      const row = yield* workerRow(databaseUrl)
      assert.strictEqual(row?.holder, null, "the row is free")
      assert.strictEqual(Number(row?.ceiling_ms), decode(highest(issuedBefore)).timestampMs, "the ceiling is the highest issued")

      yield* server.restart
      const after = yield* load(server, apiKey, 2)
      yield* after.until(100_000)
      assertAbove(issuedBefore, after.ids())
      assert.notMatch(server.output(), /behind the timestamp ceiling/, "the restart waited for a reservation")
      assert.isTrue(after.all().every((a) => a.status === 200), "the restart answered every request")
    }).pipe(Effect.scoped), { timeout: 120_000 })
})

describe("static worker id: kill -9 while the logical clock runs ahead", () => {
  it.live("clock stepped back 3 s under load (5 s logical tolerance), kill -9 on the logical clock, restart at once: no duplicate", () =>
    Effect.gen(function*() {
      const clock = yield* FakeClock.make
      const databaseUrl = yield* TestDatabase.make
      // A 5 s logical tolerance lets the logical clock run further ahead than a restart takes here.
      const env = { ...staticEnv("ahead", { IDGEN_SNOWFLAKE_CLOCK_LOGICAL_THRESHOLD_MS: "5000" }), ...clock.env }
      const server = yield* startServer(databaseUrl, { env, waitFor: "live" })
      yield* ready(server)
      const apiKey = yield* setUp(server)

      const before = yield* load(server, apiKey, 2)
      yield* eventually("IDs before the step", 60_000, Effect.sync(() => before.ids().length >= 100_000 || undefined))
      yield* clock.setOffset(-3000)
      yield* eventually("logical clock in use", 5000, Effect.map(metric(server, "idgen_snowflake_logical_ids_total"), (n) => n > 0 || undefined))
      const diedAt = Date.now()
      assert.strictEqual(yield* server.kill("SIGKILL"), "SIGKILL")
      yield* before.join
      const issuedBefore = before.ids()
      const aheadMs = decode(highest(issuedBefore)).timestampMs - (diedAt - 3000)
      assert.isAbove(aheadMs, 0, "the last ID was issued ahead of the node's wall clock")

      const restartAt = Date.now()
      yield* server.restart
      const after = yield* load(server, apiKey, 2)
      const readyAt = yield* ready(server)
      yield* after.until(200_000)
      const issuedAfter = after.ids()
      assertAbove(issuedBefore, issuedAfter)
      console.log(
        `static kill -9 on the logical clock: last ID ${aheadMs} ms ahead of the wall clock at death, ready again after ` +
          `${readyAt - restartAt} ms; ${issuedBefore.length} IDs before, ${issuedAfter.length} after, 0 duplicates`
      )
    }).pipe(Effect.scoped), { timeout: 180_000 })
})

describe("static worker id: kill -9 and restart on the same data directory", () => {
  it.live("on PostgreSQL: takes its own id back at once, not after the heartbeat timeout; no duplicate", () =>
    Effect.gen(function*() {
      const holdTimeoutMs = 60_000
      const databaseUrl = yield* TestDatabase.make
      const env = staticEnv("phoenix", { IDGEN_SNOWFLAKE_STATIC_HOLD_TIMEOUT_MS: String(holdTimeoutMs) })
      const server = yield* startServer(databaseUrl, { env })
      const apiKey = yield* setUp(server)
      const before = yield* load(server, apiKey, 2)
      yield* before.running(1000, 20_000)
      assert.strictEqual(yield* server.kill("SIGKILL"), "SIGKILL")
      yield* before.join
      const restartAt = Date.now()
      yield* server.restart
      const readyAt = yield* ready(server)
      assert.isBelow(readyAt - restartAt, holdTimeoutMs / 2, "waited for its own heartbeat to go stale")
      assert.match(server.output(), /acquired .*took over from phoenix#[0-9a-f]{8}.* \(this data directory's previous process, gone\)/)
      const after = yield* load(server, apiKey, 2)
      yield* after.until(20_000)
      assertAbove(before.ids(), after.ids())
      console.log(`static kill -9 (PostgreSQL, same data directory): ready ${readyAt - restartAt} ms after the restart`)
    }).pipe(Effect.scoped), { timeout: 180_000 })
})

describe("static worker id: a second node with the same worker id on the same database", () => {
  // The same node name too: only a process of the first's own data directory may take its id back early.
  it.live("is not ready and answers 2003 with one log line while the first issues; takes over above it after a kill -9", () =>
    Effect.gen(function*() {
      const databaseUrl = yield* TestDatabase.make
      const first = yield* startServer(databaseUrl, { env: staticEnv("twin") })
      const apiKey = yield* setUp(first)
      const firstLoad = yield* load(first, apiKey, 1)
      yield* eventually("first issuing", 30_000, Effect.sync(() => firstLoad.ids().length >= 20_000 || undefined))

      const second = yield* startServer(databaseUrl, { env: staticEnv("twin"), waitFor: "live" })
      const secondLoad = yield* load(second, apiKey, 1, ["snow", "snowfb"])
      // Longer than the hold timeout: the first's heartbeat keeps the row.
      yield* eventually("second refused for a while", 30_000, Effect.sync(() =>
        secondLoad.all().some((a) => a.at - secondLoad.all()[0]!.sent > 2 * HOLD_TIMEOUT_MS) || undefined))
      assert.strictEqual(duplicatesIn([...firstLoad.ids(), ...secondLoad.ids()]), 0, "the two nodes issued the same ID")
      assert.strictEqual((yield* second.request("GET", "/ready")).status, 503)
      assert.strictEqual(yield* metric(second, "idgen_snowflake_worker_id_held"), 0)
      const refused = yield* second.request("POST", "/api/v1/generate", {
        apiKey,
        json: { workspace: "static", group: "g", biz_tag: "snow" }
      })
      const error = assertError(refused, 503, "IDGEN-SNOW-2003")
      assert.include(error.message, "held by twin#")
      // Its own line (the degradation manager's transition quotes the reason once more).
      const line = /WARN \(#\d+\): worker 7 of datacenter 0 is held by twin#[0-9a-f]{8}, whose heartbeat is fresh/g
      assert.strictEqual(second.output().match(line)?.length, 1, "one log line, not one per retry")
      assert.deepStrictEqual(
        secondLoad.all().filter((a) => a.tag === "snow" && a.code !== "IDGEN-SNOW-2003").map(summary),
        [],
        "the second never issues snowflake"
      )
      assert.isTrue(secondLoad.all().filter((a) => a.tag === "snowfb").every((a) => a.algorithm === "uuid_v7"))
      assert.strictEqual((yield* first.request("GET", "/ready")).status, 200)
      const firstIdsBefore = firstLoad.ids().length
      yield* eventually("first keeps issuing", 10_000, Effect.sync(() => firstLoad.ids().length > firstIdsBefore || undefined))
      assert.isTrue(firstLoad.all().every((a) => a.status === 200), "the first never failed")

      const killedAt = Date.now()
      assert.strictEqual(yield* first.kill("SIGKILL"), "SIGKILL")
      yield* firstLoad.join
      const takenAt = yield* ready(second)
      assert.isAtLeast(takenAt - killedAt, HOLD_TIMEOUT_MS - 500, "took over before the heartbeat was stale")
      yield* secondLoad.until(snowflakeIds(secondLoad.all()).length + 50_000)
      const issuedFirst = firstLoad.ids()
      const issuedSecond = secondLoad.ids()
      assertAbove(issuedFirst, issuedSecond)
      assert.match(second.output(), /worker 7 of datacenter 0 acquired .*took over from twin#/)
      console.log(
        `same static worker id twice: first issued ${issuedFirst.length}, second refused ` +
          `${secondLoad.all().filter((a) => a.code === "IDGEN-SNOW-2003").length} × 2003; after kill -9 of the first the second ` +
          `was ready in ${takenAt - killedAt} ms and issued ${issuedSecond.length}; 0 duplicates`
      )
    }).pipe(Effect.scoped), { timeout: 180_000 })
})
