/**
 * How many worker processes an instance runs and what each is told (`cluster/WorkerPlan.ts`),
 * from configurations as the loader builds them.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { availableParallelism } from "node:os"
import * as WorkerPlan from "@idgen/server/cluster/WorkerPlan"
import { load } from "@idgen/server/config/ConfigLoader"

const PG = { IDGEN_DATABASE_URL: "postgres://postgres@127.0.0.1:5432/x" }
const ports = { http: 8080, grpc: 50051, metrics: undefined }

describe("WorkerPlan", () => {
  it.effect("PostgreSQL with static ids: the configured count; worker i gets the base id + i", () =>
    Effect.gen(function*() {
      const config = yield* load({ ...PG, IDGEN_WORKERS: "3", IDGEN_WORKER_ID: "10", IDGEN_NODE_NAME: "n" })
      assert.deepStrictEqual(yield* WorkerPlan.plan(config), { workers: 3, note: undefined })
      assert.deepStrictEqual(WorkerPlan.workerEnv(config, 2, ports), {
        IDGEN_WORKER_INDEX: "2",
        IDGEN_NODE_NAME: "n",
        IDGEN_HTTP_PORT: "8080",
        IDGEN_GRPC_PORT: "50051",
        IDGEN_WORKER_ID: "12"
      })
    }))

  it.effect("static ids past 255 are refused, naming both settings", () =>
    Effect.gen(function*() {
      const config = yield* load({ ...PG, IDGEN_WORKERS: "4", IDGEN_WORKER_ID: "253" })
      const exit = yield* Effect.exit(WorkerPlan.plan(config))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      assert.strictEqual(error?._tag, "Fail")
      assert.include(error?._tag === "Fail" ? error.error.message : "", "need worker ids 253…256, past the largest, 255")
      // 253 + 3 workers fits.
      assert.strictEqual((yield* WorkerPlan.plan(yield* load({ ...PG, IDGEN_WORKERS: "3", IDGEN_WORKER_ID: "253" }))).workers, 3)
    }))

  it.effect("with etcd each worker leases its id: no bound from the static id, none passed on", () =>
    Effect.gen(function*() {
      const config = yield* load({ ...PG, IDGEN_WORKERS: "4", IDGEN_WORKER_ID: "255", IDGEN_ETCD_ENDPOINTS: "http://127.0.0.1:2379" })
      assert.strictEqual((yield* WorkerPlan.plan(config)).workers, 4)
      assert.notProperty(WorkerPlan.workerEnv(config, 1, ports), "IDGEN_WORKER_ID")
    }))

  it.effect("the embedded store: one worker, with a note when more were asked for", () =>
    Effect.gen(function*() {
      const asked = yield* WorkerPlan.plan(yield* load({ IDGEN_WORKERS: "4" }))
      assert.strictEqual(asked.workers, 1)
      assert.include(asked.note, "one worker process: node.workers (IDGEN_WORKERS: 4) is reduced to 1 on the embedded store, which has a single owner")
      assert.deepStrictEqual(yield* WorkerPlan.plan(yield* load({ IDGEN_WORKERS: "1" })), { workers: 1, note: undefined })
    }))

  it.effect("the embedded store, node.workers unset: the note says the default (the available parallelism) is reduced", () =>
    Effect.gen(function*() {
      const cores = availableParallelism()
      const plan = yield* WorkerPlan.plan(yield* load({}))
      assert.strictEqual(plan.workers, 1)
      if (cores === 1) return assert.isUndefined(plan.note)
      assert.include(plan.note, `one worker process: the default of node.workers (IDGEN_WORKERS), the available parallelism, ${cores}, is reduced to 1`)
      assert.notInclude(plan.note, "IDGEN_WORKERS: ", "not said to be set")
    }))

  it.effect("PostgreSQL, node.workers unset: the available parallelism", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* WorkerPlan.plan(yield* load(PG))).workers, availableParallelism())
    }))
})
