/**
 * The manager's supervised probe fiber under TestClock: a database outage takes segment
 * out after `failureThreshold` probes, recovery waits for the dwell time plus
 * `recoveryThreshold` passing probes, an operator's degrade holds against passing probes,
 * and every automatic transition reaches the audit log.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { type AuditEvent, AuditLog } from "@idgen/server/audit/AuditLog"
import { ServerConfig, type ServerConfigShape } from "@idgen/server/config/ServerConfig"
import * as DegradationManager from "@idgen/server/degradation/DegradationManager"

const config = {
  node: { name: "node-a" },
  degradation: { failureThreshold: 3, recoveryThreshold: 2, minUnhealthyMillis: 5000, probeIntervalMillis: 1000 }
} as ServerConfigShape

const setup = Effect.gen(function*() {
  const audited: Array<AuditEvent> = []
  let databaseDown = false
  const manager = yield* DegradationManager.make({
    database: Effect.sync(() => (databaseDown ? "DatabaseUnavailable: down" : undefined)),
    snowflake: () => undefined
  }).pipe(
    Effect.provide(Layer.mergeAll(
      Layer.succeed(ServerConfig, config),
      Layer.succeed(AuditLog, AuditLog.of({ record: (e) => Effect.sync(() => void audited.push(e)), flush: Effect.void }))
    ))
  )
  return { manager, audited, setDatabaseDown: (down: boolean) => (databaseDown = down) }
})

describe("DegradationManager", () => {
  it.effect("probes take segment out and bring it back with hysteresis", () =>
    Effect.gen(function*() {
      const { manager, audited, setDatabaseDown } = yield* setup
      yield* TestClock.adjust(2000)
      assert.strictEqual(manager.snapshot().mode, "Normal")

      setDatabaseDown(true)
      yield* TestClock.adjust(2000)
      assert.isTrue(manager.isHealthy("segment"), "two failed probes are below the threshold")
      yield* TestClock.adjust(1000)
      assert.isFalse(manager.isHealthy("segment"))
      assert.isFalse(manager.isHealthy("formatted"))
      assert.strictEqual(manager.snapshot().mode, "Degraded")
      assert.deepStrictEqual(manager.plan(["segment", "snowflake"]), ["snowflake"])

      setDatabaseDown(false)
      yield* TestClock.adjust(3000)
      assert.isFalse(manager.isHealthy("segment"), "passing probes inside the dwell time do not count")
      yield* TestClock.adjust(4000)
      assert.isTrue(manager.isHealthy("segment"))
      assert.strictEqual(manager.snapshot().mode, "Normal")
      yield* Effect.yieldNow
      const events = audited.filter((e) => e.eventType === "degradation").map((e) => `${e.resource} ${e.action}`)
      assert.includeMembers(events, ["algorithm:segment degrade", "algorithm:segment recover"])
    }))

  it.effect("request failures count only when they say something about the node", () =>
    Effect.gen(function*() {
      const { manager } = yield* setup
      const exhausted = { _tag: "SegmentExhausted", message: "range used up" } as never
      for (let i = 0; i < 10; i++) manager.failed("segment", exhausted)
      assert.isTrue(manager.isHealthy("segment"))
      const down = { _tag: "DatabaseUnavailable", message: "down" } as never
      for (let i = 0; i < 3; i++) manager.failed("segment", down)
      assert.isFalse(manager.isHealthy("segment"))
    }))

  it.effect("a {WORKER} template without a worker id does not take formatted out for every template", () =>
    Effect.gen(function*() {
      const { manager } = yield* setup
      const noWorker = { _tag: "NoAvailableWorkerId", message: "no worker id" } as never
      for (let i = 0; i < 10; i++) manager.failed("formatted", noWorker)
      assert.isTrue(manager.isHealthy("formatted"))
      for (let i = 0; i < 3; i++) manager.failed("snowflake", noWorker)
      assert.isFalse(manager.isHealthy("snowflake"))
      const down = { _tag: "DatabaseUnavailable", message: "down" } as never
      for (let i = 0; i < 3; i++) manager.failed("formatted", down)
      assert.isFalse(manager.isHealthy("formatted"))
    }))

  it.effect("an operator's degrade holds until recovered; thresholds change at run time", () =>
    Effect.gen(function*() {
      const { manager, audited } = yield* setup
      yield* manager.degrade("snowflake", "maintenance", "ops")
      yield* TestClock.adjust(60_000)
      assert.isFalse(manager.isHealthy("snowflake"))
      assert.deepStrictEqual(manager.plan(["snowflake"]), [])
      yield* manager.recover("snowflake", "ops")
      assert.isTrue(manager.isHealthy("snowflake"))

      assert.isUndefined(yield* manager.setThresholds({ failureThreshold: 0 }, "ops"))
      const next = yield* manager.setThresholds({ failureThreshold: 1 }, "ops")
      assert.strictEqual(next?.thresholds.failureThreshold, 1)
      manager.failed("uuid_v7", { _tag: "UuidGenerateFailed", message: "no entropy" } as never)
      assert.isFalse(manager.isHealthy("uuid_v7"))
      assert.deepStrictEqual(
        audited.filter((e) => e.eventType === "operator").map((e) => e.action),
        ["degrade", "recover", "set_thresholds"]
      )
    }))
})
