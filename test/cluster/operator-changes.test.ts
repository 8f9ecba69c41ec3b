/**
 * Operator changes held in memory, on an instance with worker processes (`IDGEN_WORKERS=2`
 * on PostgreSQL, real processes): the instance behaves as one node.
 *
 * - a runtime configuration change (`PATCH /api/v1/admin/config`) and a reload of the file
 *   (`POST /api/v1/admin/config/reload`) are in force on every worker once answered, and
 *   audited once;
 * - an algorithm an operator degraded is out of every worker's chains once it is answered —
 *   generate, `/health` and `GET /api/v1/admin/degradation` agree on every worker — and the
 *   thresholds too; audited once;
 * - a worker killed with kill -9 and started again by the primary has them before it serves;
 * - a worker that cannot confirm a change (stopped): the operator gets 503 IDGEN-COMMON-0005
 *   naming it, and it applies the change once it runs again.
 *
 * Which worker answered: each worker's effective configuration shows its own static worker
 * id (`BASE` + index); the other requests of a round go out on that same kept-alive
 * connection, so the same worker answers them.
 */
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { eventually } from "../support/Eventually.ts"
import { assertError, createBizTag, make as startServer, type ServerProcessShape, workspaceWithKey } from "../support/ServerProcess.ts"
import * as TestDatabase from "../support/TestDatabase.ts"
import { BASE, bothAnswer, connection, env, fresh, type Request, workerOf, workerPid } from "../support/WorkerInstance.ts"

/** A started instance with a workspace whose biz_tag `seg` (segment) falls back to uuid_v7. */
const instance = (extra: Record<string, string> = {}) => Effect.gen(function*() {
  const server = yield* startServer(yield* TestDatabase.make, { env: env(extra) })
  const apiKey = yield* workspaceWithKey(server, { name: "w" })
  yield* createBizTag(server, "w", { group: "g", name: "seg", algorithm: "segment", fallback: ["uuid_v7"] })
  yield* bothAnswer(server)
  return { server, apiKey }
})

/** An operator request on a connection of its own (so either worker may take it), asserting 200. */
const operator = (server: ServerProcessShape, method: string, path: string, json?: unknown) =>
  Effect.map(fresh(server, method, `/api/v1/admin${path}`, { admin: true, json }), (answer) => {
    assert.strictEqual(answer.status, 200, answer.text)
    return answer.json
  })

/**
 * Runs `check` on new connections until both workers have passed it; `check` asserts what
 * every worker must show, on the connection its first request (the configuration) went out on.
 */
const everyWorker = (
  server: ServerProcessShape,
  what: string,
  check: (request: Request, worker: number) => Effect.Effect<void>
) => {
  const passed = new Set<number>()
  return eventually(`${what}, on both workers`, 60_000, Effect.scoped(Effect.gen(function*() {
    const request = yield* connection(server)
    const worker = workerOf(yield* request("GET", "/api/v1/admin/config", { admin: true }))
    yield* check(request, worker)
    passed.add(worker)
    return passed.size === 2 ? true : undefined
  })))
}

const newStep = 777

/** The configuration change in force on `worker`: effective value and override. */
const configChanged = (config: any, worker: number) => {
  assert.strictEqual(config.effective.segment.default_step, newStep, `worker ${worker}: ${JSON.stringify(config.effective.segment)}`)
  assert.deepStrictEqual(config.overrides, { segment: { default_step: newStep } }, `worker ${worker}`)
}

/** Segment held down by the operator on the worker of `request`: generate falls back, health and the state machine say so. */
const segmentDegraded = (request: Request, apiKey: string, worker: number) =>
  Effect.gen(function*() {
    const generated = yield* request("POST", "/api/v1/generate", { apiKey, json: { workspace: "w", group: "g", biz_tag: "seg" } })
    assert.strictEqual(generated.status, 200, generated.text)
    assert.strictEqual(generated.json.algorithm, "uuid_v7", `worker ${worker} answered with ${generated.text}`)
    const state = (yield* request("GET", "/api/v1/admin/degradation", { admin: true })).json
    assert.strictEqual(state.mode, "Degraded", `worker ${worker}: ${JSON.stringify(state)}`)
    assert.strictEqual(state.algorithms.segment.status, "unhealthy", `worker ${worker}`)
    assert.isTrue(state.algorithms.segment.manual, `worker ${worker}`)
    assert.include(state.algorithms.segment.reason, "drill", `worker ${worker}`)
    assert.strictEqual(state.thresholds.failure_threshold, 9, `worker ${worker}`)
    const health = (yield* request("GET", "/health")).json
    assert.strictEqual(health.checks.degradation.status, "degraded", `worker ${worker}: ${JSON.stringify(health.checks)}`)
    assert.include(health.checks.degradation.message, "segment (operator)", `worker ${worker}`)
  })

/** Operator rows of `action` in the instance's audit log (read once every worker has drained). */
const auditedTimes = (databaseUrl: string, action: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ count: string }>`SELECT count(*)::text AS count FROM audit_log WHERE event_type = 'operator' AND action = ${action}`).pipe(
      Effect.map((rows) => Number(rows[0]!.count)),
      Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 })),
      Effect.orDie
    )

describe("operator changes on an instance with worker processes", () => {
  it.live("PATCH /admin/config and POST /admin/config/reload: every worker shows the change once it is answered; audited once", () =>
    Effect.gen(function*() {
      // Not watched: the file changes only where a reload reads it.
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "idgen-operator-changes-"))),
        (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
      )
      const file = join(dir, "idgen.toml")
      writeFileSync(file, "[reload]\nwatch = false\n")
      const { server } = yield* instance({ IDGEN_CONFIG: file })

      const report = yield* operator(server, "PATCH", "/config", { segment: { default_step: newStep } })
      assert.include(report.applied, "segment.default_step")
      yield* everyWorker(server, "the new default step", (request, worker) =>
        Effect.map(request("GET", "/api/v1/admin/config", { admin: true }), (config) => configChanged(config.json, worker)))

      writeFileSync(file, "[reload]\nwatch = false\n[segment]\nmax_step = 4242424\n")
      const reloaded = yield* operator(server, "POST", "/config/reload")
      assert.include(reloaded.applied, "segment.max_step")
      yield* everyWorker(server, "the file's new max step", (request, worker) =>
        Effect.map(request("GET", "/api/v1/admin/config", { admin: true }), (config) => {
          assert.strictEqual(config.json.effective.segment.max_step, 4242424, `worker ${worker}`)
          configChanged(config.json, worker)
        }))

      // Drained workers have written their audit rows: one per change, by the worker that took it.
      assert.strictEqual(yield* server.kill("SIGTERM"), 0, server.output())
      assert.strictEqual(yield* auditedTimes(server.databaseUrl, "update_config"), 1)
      assert.strictEqual(yield* auditedTimes(server.databaseUrl, "reload_config"), 1)
    }).pipe(Effect.scoped), { timeout: 180_000 })

  it.live("degrade and thresholds: every worker routes around the algorithm and reports it once answered; audited once", () =>
    Effect.gen(function*() {
      const { apiKey, server } = yield* instance()
      const thresholds = yield* operator(server, "PATCH", "/degradation/thresholds", { failure_threshold: 9 })
      assert.strictEqual(thresholds.thresholds.failure_threshold, 9)
      const degraded = yield* operator(server, "POST", "/degradation/segment/degrade", { reason: "drill" })
      assert.strictEqual(degraded.algorithms.segment.status, "unhealthy")

      yield* everyWorker(server, "segment degraded", (request, worker) => segmentDegraded(request, apiKey, worker))

      assert.strictEqual(yield* server.kill("SIGTERM"), 0, server.output())
      assert.strictEqual(yield* auditedTimes(server.databaseUrl, "degrade"), 1)
      assert.strictEqual(yield* auditedTimes(server.databaseUrl, "set_thresholds"), 1)
    }).pipe(Effect.scoped), { timeout: 180_000 })

  it.live("kill -9 of a worker: the worker the primary starts again has the operator changes", () =>
    Effect.gen(function*() {
      const { apiKey, server } = yield* instance()
      yield* operator(server, "PATCH", "/config", { segment: { default_step: newStep } })
      yield* operator(server, "PATCH", "/degradation/thresholds", { failure_threshold: 9 })
      yield* operator(server, "POST", "/degradation/segment/degrade", { reason: "drill" })

      const victim = workerPid(server, 1)!
      process.kill(victim, "SIGKILL")
      yield* eventually("worker 1 started again", 60_000, Effect.sync(() => {
        const pid = workerPid(server, 1)
        return pid !== undefined && pid !== victim ? pid : undefined
      }))

      // Every answer of the new worker 1, from its first, shows the changes made before it started.
      yield* everyWorker(server, "the changes after the restart", (request, worker) =>
        Effect.gen(function*() {
          configChanged((yield* request("GET", "/api/v1/admin/config", { admin: true })).json, worker)
          yield* segmentDegraded(request, apiKey, worker)
        }))
    }).pipe(Effect.scoped), { timeout: 180_000 })

  it.live("a worker that cannot confirm a change: 503 naming it, and it applies the change once it runs", () =>
    Effect.gen(function*() {
      const { server } = yield* instance()
      const stopped = workerPid(server, 1)!
      yield* Effect.acquireRelease(
        Effect.sync(() => process.kill(stopped, "SIGSTOP")),
        () => Effect.sync(() => process.kill(stopped, "SIGCONT"))
      )

      // Worker 0 takes the change (a connection handed to the stopped worker gets no answer).
      const answer = yield* eventually("worker 0 answers the change", 60_000, Effect.map(
        Effect.exit(fresh(server, "PATCH", "/api/v1/admin/config", {
          admin: true,
          json: { segment: { default_step: newStep } },
          timeoutMillis: 20_000
        })),
        (exit) => (Exit.isSuccess(exit) ? exit.value : undefined)
      ))
      const error = assertError(answer, 503, "IDGEN-COMMON-0005")
      assert.deepStrictEqual(error.details["unconfirmed"].map((u: { worker: number }) => u.worker), [1], answer.text)
      assert.strictEqual(error.details["worker"], 0)

      // Worker 0 has it throughout; worker 1 once it has read the message it missed.
      process.kill(stopped, "SIGCONT")
      const changed = new Set<number>()
      yield* eventually("both workers show the change", 60_000, Effect.gen(function*() {
        const config = yield* fresh(server, "GET", "/api/v1/admin/config", { admin: true })
        const worker = workerOf(config)
        if (worker === BASE) configChanged(config.json, worker)
        else if (config.json.effective.segment.default_step === newStep) configChanged(config.json, worker)
        else return undefined
        changed.add(worker)
        return changed.size === 2 ? true : undefined
      }))
    }).pipe(Effect.scoped), { timeout: 180_000 })
})
