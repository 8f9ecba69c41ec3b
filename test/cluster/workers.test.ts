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
 * - SIGTERM: every worker drains, the primary exits 0;
 * - static worker ids past 255 are refused at start (exit 78, the message names both settings);
 * - the embedded store runs one worker, and says so.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { request as httpRequest } from "node:http"
import { alive } from "../support/ProcessAlive.ts"
import {
  createBizTag,
  make as startServer,
  type ServerProcessShape,
  workspaceWithKey
} from "../support/ServerProcess.ts"
import { eventually } from "../support/Eventually.ts"
import * as SharedEtcd from "../support/SharedEtcd.ts"
import { decode, duplicatesIn, etcdEnv } from "../support/SnowflakeCluster.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

const BASE = 20
const env = (extra: Record<string, string> = {}) => ({
  IDGEN_WORKERS: "2",
  IDGEN_WORKER_ID: String(BASE),
  IDGEN_NODE_NAME: "workers",
  // A worker killed with kill -9 leaves its id held: its restart takes it over after this.
  IDGEN_SNOWFLAKE_STATIC_HOLD_TIMEOUT_MS: "1000",
  ...extra
})

interface Tally {
  readonly ids: Array<string>
  readonly workers: Set<number>
  failures: number
}

const tally = (): Tally => ({ ids: [], workers: new Set(), failures: 0 })

/**
 * A request on a connection of its own (given up after 5 s): the primary hands each new
 * connection to the next worker, whereas a pooled keep-alive connection stays with one.
 */
const fresh = (server: ServerProcessShape, method: string, path: string, apiKey?: string, body?: unknown) =>
  Effect.promise(() =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(`${server.baseUrl}${path}`, {
        method,
        agent: false,
        timeout: 5000,
        headers: { "content-type": "application/json", ...(apiKey === undefined ? {} : { "x-api-key": apiKey }) }
      }, (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (text += chunk))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }))
        res.on("error", reject)
      })
      req.on("timeout", () => req.destroy(new Error("no answer within 5 s")))
      req.on("error", reject)
      req.end(body === undefined ? undefined : JSON.stringify(body))
    })
  )

/**
 * `count` single-ID requests, `concurrency` at a time. A request the transport lost (a
 * killed worker's connection) or not answered with a snowflake ID counts as a failure.
 */
const generate = (server: ServerProcessShape, apiKey: string, count: number, into: Tally, concurrency = 8) =>
  Effect.forEach(
    Array.from({ length: count }),
    () =>
      Effect.exit(fresh(server, "POST", "/api/v1/generate", apiKey, { workspace: "w", group: "g", biz_tag: "snow" })).pipe(
        Effect.map((exit) => {
          const json = Exit.isSuccess(exit) && exit.value.status === 200 ? JSON.parse(exit.value.text) : undefined
          if (json?.algorithm === "snowflake") {
            into.ids.push(json.id)
            into.workers.add(decode(json.id).workerId)
          } else {
            into.failures += 1
          }
        })
      ),
    { concurrency, discard: true }
  )

/** A primary with two workers on a fresh database, both issuing snowflake IDs. */
const twoWorkers = (extra: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const server = yield* startServer(yield* TestDatabase.make, { env: env(extra) })
    const apiKey = yield* workspaceWithKey(server, { name: "w" })
    yield* createBizTag(server, "w", { group: "g", name: "snow", algorithm: "snowflake" })
    const warmUp = tally()
    yield* eventually("both workers issue snowflake IDs", 30_000, Effect.map(generate(server, apiKey, 16, warmUp), () =>
      warmUp.workers.size === 2 ? true : undefined))
    return { server, apiKey, warmUp }
  })

/** The pid the primary logged for the last start of worker `index`. */
const workerPid = (server: ServerProcessShape, index: number) => {
  const starts = [...server.output().matchAll(new RegExp(`worker ${index} started \\(pid (\\d+)\\)`, "g"))]
  return starts.length === 0 ? undefined : Number(starts[starts.length - 1]![1])
}

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
      assert.include(server.output(), "one worker process (node.workers, IDGEN_WORKERS: 2): the embedded store has a single owner")
      assert.notInclude(server.output(), "worker processes on HTTP")
      const metrics = (yield* server.request("GET", "/metrics")).text
      assert.notInclude(metrics, "worker=\"")
      assert.include(metrics, "idgen_health_status")
    }).pipe(Effect.scoped), { timeout: 120_000 })
})
