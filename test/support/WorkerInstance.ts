/**
 * An instance with worker processes (`IDGEN_WORKERS`) as the cluster suites start it: a
 * primary with two workers on a fresh PostgreSQL database, each with its own static snowflake
 * worker id (`BASE` + index), and requests that reach a chosen kind of worker — a connection
 * of their own each (the primary hands every new connection to the next worker) or one
 * connection kept for several requests (a keep-alive connection stays with its worker).
 */
import { assert } from "@effect/vitest"
import { Effect, Exit, type Scope } from "effect"
import { writeFileSync } from "node:fs"
import { Agent, request as httpRequest } from "node:http"
import { join, resolve } from "node:path"
import { eventually } from "./Eventually.ts"
import { ADMIN_TOKEN, createBizTag, make as startServer, type ServerProcessShape, workspaceWithKey } from "./ServerProcess.ts"
import { decode } from "./SnowflakeCluster.ts"
import { tempDir } from "./TempDir.ts"
import * as TestDatabase from "./TestDatabase.ts"

/** The static worker id of worker 0; worker i holds `BASE + i`. */
export const BASE = 20

export const env = (extra: Record<string, string> = {}) => ({
  IDGEN_WORKERS: "2",
  IDGEN_WORKER_ID: String(BASE),
  IDGEN_NODE_NAME: "workers",
  // A worker killed with kill -9 leaves its id held: its restart takes it over after this.
  IDGEN_SNOWFLAKE_STATIC_HOLD_TIMEOUT_MS: "1000",
  ...extra
})

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: any
  /** Sent on a connection an earlier request of the same `connection` opened. */
  readonly reusedSocket: boolean
}

export interface RequestOptions {
  readonly apiKey?: string
  /** `Authorization: Bearer` the suite's admin token. */
  readonly admin?: boolean
  /** Sent as JSON. */
  readonly json?: unknown
  /** Given up after this long (default 5 s). */
  readonly timeoutMillis?: number
}

const send = (server: ServerProcessShape, agent: Agent | false, method: string, path: string, options: RequestOptions) =>
  Effect.promise(() =>
    new Promise<Answer>((resolve, reject) => {
      const timeout = options.timeoutMillis ?? 5000
      const req = httpRequest(`${server.baseUrl}${path}`, {
        method,
        agent,
        timeout,
        headers: {
          "content-type": "application/json",
          ...(options.apiKey === undefined ? {} : { "x-api-key": options.apiKey }),
          ...(options.admin === true ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {})
        }
      }, (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (text += chunk))
        res.on("end", () => {
          let json: unknown = undefined
          try {
            json = text === "" ? undefined : JSON.parse(text)
          } catch {
            json = undefined
          }
          const headers = new Headers()
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value)
          }
          resolve({ status: res.statusCode ?? 0, headers, text, json, reusedSocket: req.reusedSocket })
        })
        res.on("error", reject)
      })
      req.on("timeout", () => req.destroy(new Error(`no answer within ${timeout} ms`)))
      req.on("error", reject)
      req.end(options.json === undefined ? undefined : JSON.stringify(options.json))
    })
  )

/**
 * A request on a connection of its own: the primary hands each new connection to the next
 * worker, whereas a pooled keep-alive connection stays with one.
 */
export const fresh = (server: ServerProcessShape, method: string, path: string, options: RequestOptions = {}) =>
  send(server, false, method, path, options)

export type Request = (method: string, path: string, options?: RequestOptions) => Effect.Effect<Answer>

/**
 * One connection for the scope, kept alive between its requests: all of them are answered by
 * the worker that got the connection (asserted: each request after the first reuses it).
 */
export const connection = (server: ServerProcessShape): Effect.Effect<Request, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => ({ agent: new Agent({ keepAlive: true, maxSockets: 1 }), sent: 0 })),
      ({ agent }) => Effect.sync(() => agent.destroy())
    ),
    (conn): Request => (method, path, options = {}) =>
      Effect.map(send(server, conn.agent, method, path, options), (answer) => {
        conn.sent += 1
        if (conn.sent > 1) assert.isTrue(answer.reusedSocket, `${method} ${path} went out on a new connection`)
        return answer
      })
  )

/** The worker that answers on a connection: the static worker id its configuration shows. */
export const workerOf = (config: Answer): number => {
  assert.strictEqual(config.status, 200, config.text)
  return config.json.effective.node.worker_id as number
}

/** Waits until both workers have answered `GET /api/v1/admin/config` (each on a connection of its own). */
export const bothAnswer = (server: ServerProcessShape) => {
  const seen = new Set<number>()
  return eventually("both workers answer", 60_000, Effect.gen(function*() {
    const answer = yield* Effect.exit(fresh(server, "GET", "/api/v1/admin/config", { admin: true }))
    if (Exit.isSuccess(answer) && answer.value.status === 200) seen.add(workerOf(answer.value))
    return seen.size === 2 ? true : undefined
  }))
}

export interface Tally {
  readonly ids: Array<string>
  readonly workers: Set<number>
  failures: number
}

export const tally = (): Tally => ({ ids: [], workers: new Set(), failures: 0 })

/**
 * `count` single-ID requests, `concurrency` at a time. A request the transport lost (a
 * killed worker's connection) or not answered with a snowflake ID counts as a failure.
 */
export const generate = (server: ServerProcessShape, apiKey: string, count: number, into: Tally, concurrency = 8) =>
  Effect.forEach(
    Array.from({ length: count }),
    () =>
      Effect.exit(fresh(server, "POST", "/api/v1/generate", { apiKey, json: { workspace: "w", group: "g", biz_tag: "snow" } })).pipe(
        Effect.map((exit) => {
          const json = Exit.isSuccess(exit) && exit.value.status === 200 ? exit.value.json : undefined
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
export const twoWorkers = (extra: Record<string, string> = {}) =>
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
export const workerPid = (server: ServerProcessShape, index: number) => {
  const starts = [...server.output().matchAll(new RegExp(`worker ${index} started \\(pid (\\d+)\\)`, "g"))]
  return starts.length === 0 ? undefined : Number(starts[starts.length - 1]![1])
}

/**
 * Holds worker `index` before it loads anything (`holdWorkerHook.mjs`) until `release`:
 * `env` goes into the server's environment.
 */
export const holdWorker = (index: number) =>
  Effect.map(tempDir("idgen-hold-"), (dir) => {
    const gate = join(dir, "go")
    return {
      env: {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${resolve(import.meta.dirname, "holdWorkerHook.mjs")}`,
        IDGEN_TEST_HOLD_WORKER: String(index),
        IDGEN_TEST_HOLD_GATE: gate
      },
      release: Effect.sync(() => writeFileSync(gate, ""))
    }
  })
