/**
 * Worker processes (issue 13 §2, `IDGEN_WORKERS`), on real server processes: a primary with
 * two workers on PostgreSQL, each a full node with its own static snowflake worker id
 * (base + index), behind the same port.
 *
 * - both workers answer, with distinct worker ids (static base + index, or leased from etcd);
 *   no snowflake ID twice;
 * - every metric series names its worker;
 * - kill -9 of a worker: the primary starts it again, the other keeps answering meanwhile,
 *   and nothing is issued twice across the restart;
 * - once the instance serves, a worker that cannot start (the database gone) is restarted
 *   until the database is back, whether it served before or not: the instance keeps running;
 * - SIGTERM: every worker drains, the primary exits 0;
 * - static worker ids past 255 are refused at start (exit 78, the message names both settings);
 * - the embedded store runs one worker, and says so.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { availableParallelism } from "node:os"
import { alive } from "../support/ProcessAlive.ts"
import { make as startServer, type ServerProcessShape } from "../support/ServerProcess.ts"
import * as TcpProxy from "../support/TcpProxy.ts"
import { eventually } from "../support/Eventually.ts"
import * as SharedEtcd from "../support/SharedEtcd.ts"
import { duplicatesIn, etcdEnv } from "../support/SnowflakeCluster.ts"
import * as TestDatabase from "../support/TestDatabase.ts"
import { BASE, bothAnswer, env, fresh, generate, holdWorker, tally, twoWorkers, workerOf, workerPid } from "../support/WorkerInstance.ts"

/** Two workers reaching their database through a proxy the test can `cut` and `restore`. */
const behindProxy = (extra: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const url = new URL(yield* TestDatabase.make)
    const database = Number(url.port || "5432")
    const proxy = yield* TcpProxy.make(database)
    url.port = String(proxy.port)
    const server = yield* startServer(url.toString(), { env: env({ IDGEN_DATABASE_CONNECT_TIMEOUT_MS: "300", ...extra }) })
    return { server, cut: proxy.cut, restore: proxy.switchTo(database) }
  })

/**
 * With the database cut: the primary says worker `index` could not start for want of it and
 * restarts it, and the instance keeps running; once `restore`d, both workers serve again.
 */
const restartedUntilBack = (server: ServerProcessShape, index: number, restore: Effect.Effect<void>) =>
  Effect.gen(function*() {
    const primary = server.pid()!
    yield* eventually(`worker ${index}'s start failing on the database`, 30_000, Effect.sync(() =>
      new RegExp(`worker ${index} could not start \\(cannot connect to the database .*\\); restarting it`).test(server.output())
        ? true
        : undefined))
    assert.isTrue(alive(primary), "the instance keeps running")
    yield* restore
    yield* backOnBoth(server)
    assert.isTrue(alive(primary))
  })

/** Back once the database is: both workers answer again (each connection goes to the next worker). */
const backOnBoth = (server: ServerProcessShape) =>
  eventually("both workers serving again", 60_000, Effect.gen(function*() {
    const answers = yield* Effect.forEach([1, 2, 3, 4], () => fresh(server, "GET", "/api/v1/admin/config", { admin: true }))
    const workers = new Set(answers.filter((a) => a.status === 200).map(workerOf))
    return workers.has(BASE) && workers.has(BASE + 1) ? true : undefined
  }))

describe("worker processes (IDGEN_WORKERS)", () => {
  it.live("two workers on PostgreSQL: IDs from worker ids base and base + 1, none twice", () =>
    Effect.gen(function*() {
      const { apiKey, server, warmUp } = yield* twoWorkers()
      const all = tally()
      yield* generate(server, apiKey, 2000, all)
      assert.strictEqual(all.failures, 0)
      assert.deepStrictEqual([...all.workers].sort(), [BASE, BASE + 1])
      const ids = [...warmUp.ids, ...all.ids]
      assert.strictEqual(duplicatesIn(ids), 0, `${duplicatesIn(ids)} duplicates among ${ids.length} IDs`)

      // Every series of /metrics names the worker that answered the scrape; both answer in turn.
      const scraped = new Set<string>()
      yield* eventually("both workers answer /metrics", 10_000, Effect.gen(function*() {
        const text = (yield* fresh(server, "GET", "/metrics")).text
        const samples = text.split("\n").filter((line) => line.length > 0 && !line.startsWith("#"))
        assert.isAbove(samples.length, 0)
        const unlabelled = samples.filter((line) => !/[{,]worker="[01]"[,}]/.test(line))
        assert.deepStrictEqual(unlabelled, [], "series without a worker label")
        for (const line of samples) scraped.add(/worker="([01])"/.exec(line)![1]!)
        return scraped.size === 2 ? true : undefined
      }))
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.live("two workers leasing from etcd: each its own worker id, none twice", () =>
    Effect.gen(function*() {
      const { apiKey, server, warmUp } = yield* twoWorkers(etcdEnv(SharedEtcd.endpoints(), SharedEtcd.uniquePrefix("workers")))
      const all = tally()
      yield* generate(server, apiKey, 1000, all)
      assert.strictEqual(all.failures, 0)
      assert.strictEqual(all.workers.size, 2, `worker ids ${[...all.workers].join(", ")}`)
      const ids = [...warmUp.ids, ...all.ids]
      assert.strictEqual(duplicatesIn(ids), 0, `${duplicatesIn(ids)} duplicates among ${ids.length} IDs`)
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.live("kill -9 of a worker: the primary starts it again and the instance keeps serving, no ID twice", () =>
    Effect.gen(function*() {
      const { apiKey, server, warmUp } = yield* twoWorkers()
      const before = tally()
      yield* generate(server, apiKey, 500, before)
      const victim = workerPid(server, 1)!
      process.kill(victim, "SIGKILL")

      // Meanwhile worker 0 answers (connections the dead worker held may be lost).
      const during = tally()
      const restarted = yield* eventually("worker 1 started again", 30_000, Effect.map(generate(server, apiKey, 40, during), () => {
        const pid = workerPid(server, 1)
        return pid !== undefined && pid !== victim ? pid : undefined
      }))
      assert.isFalse(alive(victim))
      assert.include(server.output(), `worker 1 exited (signal SIGKILL)`)
      assert.isAbove(during.ids.length, 0, "no ID served while worker 1 was down")

      // The new worker 1 takes its id over (the dead one's hold goes stale) and issues again.
      const after = tally()
      yield* eventually("the restarted worker 1 issues", 30_000, Effect.map(generate(server, apiKey, 40, after), () =>
        after.workers.has(BASE + 1) && after.workers.has(BASE) ? true : undefined))
      assert.isTrue(alive(restarted))
      const ids = [...warmUp.ids, ...before.ids, ...during.ids, ...after.ids]
      assert.strictEqual(duplicatesIn(ids), 0, `${duplicatesIn(ids)} duplicates among ${ids.length} IDs`)
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.live("a worker that served once and then cannot start (database gone) is restarted, not the instance stopped", () =>
    Effect.gen(function*() {
      const { cut, restore, server } = yield* behindProxy()
      yield* bothAnswer(server)
      yield* cut
      process.kill(workerPid(server, 0)!, "SIGKILL")
      yield* restartedUntilBack(server, 0, restore)
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.live("a worker that never served cannot start (database gone) while another serves: restarted, not the instance stopped", () =>
    Effect.gen(function*() {
      const held = yield* holdWorker(1)
      const { cut, restore, server } = yield* behindProxy(held.env)
      // Worker 0 serves (the server is ready); worker 1 is held before it loaded anything.
      assert.notInclude(server.output(), "worker: '1'")
      yield* cut
      yield* held.release
      yield* restartedUntilBack(server, 1, restore)
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.live("SIGTERM: every worker drains and the primary exits 0", () =>
    Effect.gen(function*() {
      const { server } = yield* twoWorkers()
      const pids = [workerPid(server, 0)!, workerPid(server, 1)!]
      const code = yield* server.kill("SIGTERM")
      assert.strictEqual(code, 0, server.output())
      for (const [index, pid] of pids.entries()) {
        assert.include(server.output(), `worker ${index} (pid ${pid}) stopped: exit code 130`)
        assert.isFalse(alive(pid))
      }
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.live("static worker ids past 255 are refused at start (exit 78)", () =>
    Effect.gen(function*() {
      const started = yield* Effect.exit(startServer(yield* TestDatabase.make, { env: env({ IDGEN_WORKER_ID: "255" }) }))
      assert.isTrue(Exit.isFailure(started))
      const output = Exit.isFailure(started) && started.cause.reasons[0]?._tag === "Fail"
        ? started.cause.reasons[0].error
        : undefined
      assert.strictEqual(output?.message, "server exited (78) before becoming ready")
      assert.include(output?.output, "idgen: node.workers (IDGEN_WORKERS): 2 worker processes with the static worker id 255")
      assert.include(output?.output, "need worker ids 255…256, past the largest, 255")
      assert.notInclude(output?.output, "started (pid")
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live("the embedded store runs one worker and says so at start", () =>
    Effect.gen(function*() {
      const server = yield* startServer("", { env: { ...env(), IDGEN_DATABASE_URL: "" } })
      assert.include(server.output(), "one worker process: node.workers (IDGEN_WORKERS: 2) is reduced to 1 on the embedded store, which has a single owner")
      assert.notInclude(server.output(), "worker processes on HTTP")
      const metrics = (yield* server.request("GET", "/metrics")).text
      assert.notInclude(metrics, "worker=\"")
      assert.include(metrics, "idgen_health_status")
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.live("the embedded store, IDGEN_WORKERS unset: says the default (the available parallelism) is reduced to 1", () =>
    Effect.gen(function*() {
      const server = yield* startServer("", { env: { IDGEN_WORKERS: "", IDGEN_DATABASE_URL: "" } })
      const cores = availableParallelism()
      if (cores === 1) return assert.notInclude(server.output(), "one worker process")
      assert.include(
        server.output(),
        `one worker process: the default of node.workers (IDGEN_WORKERS), the available parallelism, ${cores}, is reduced to 1 ` +
          "on the embedded store"
      )
      assert.notInclude(server.output(), "IDGEN_WORKERS: ")
    }).pipe(Effect.scoped), { timeout: 120_000 })
})
