/**
 * The alert state machine: properties of `AlertState.step` over arbitrary evaluation
 * sequences, and the evaluator fiber under `TestClock` agreeing with it — the rule's
 * `for`, the evaluation interval and the Pending → Firing → Resolved walk, with no real
 * time passing.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric, Schema } from "effect"
import { FetchHttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import { AlertEvaluator } from "@idgen/server/alerting/AlertEvaluator"
import * as AlertState from "@idgen/server/alerting/AlertState"
import { load } from "@idgen/server/config/ConfigLoader"
import { LiveConfig } from "@idgen/server/config/HotReload"
import { ServerConfig } from "@idgen/server/config/ServerConfig"

const Step = Schema.Struct({
  value: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 10 })),
  /** Evaluations until the next change of the value. */
  evaluations: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 4 }))
})
const Steps = Schema.Array(Step).check(Schema.isMaxLength(25))
const ForMs = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 4 }))

const threshold = 5
const intervalMs = 1000

/** Runs `step` at every evaluation of the sequence; returns the states and transitions seen. */
const simulate = (steps: ReadonlyArray<typeof Step.Type>, forMs: number) => {
  let state = AlertState.inactive
  let now = 0
  const trace: Array<{ now: number; holds: boolean; state: AlertState.AlertState; transition: AlertState.Transition }> = []
  for (const { value, evaluations } of steps) {
    for (let i = 0; i < evaluations; i++) {
      now += intervalMs
      const holds = value > threshold
      const next = AlertState.step(state, holds ? value : undefined, now, forMs)
      state = next.state
      trace.push({ now, holds, state, transition: next.transition })
    }
  }
  return trace
}

describe("AlertState.step", () => {
  it.prop("fires only after holding for `for`, resolves only from firing", {
    steps: Steps,
    forIntervals: ForMs
  }, ({ forIntervals, steps }) => {
    const forMs = forIntervals * intervalMs
    const trace = simulate(steps, forMs)
    let heldSince: number | undefined
    let wasFiring = false
    for (const { holds, now, state, transition } of trace) {
      heldSince = holds ? heldSince ?? now : undefined
      if (state.status === "firing") {
        assert.isTrue(holds, "firing while the condition does not hold")
        assert.isDefined(heldSince)
        assert.isAtLeast(now - heldSince!, forMs, "fired before `for` elapsed")
        assert.strictEqual(state.activeSinceMs, heldSince)
      }
      if (state.status === "pending") {
        assert.isTrue(holds)
        assert.isBelow(now - state.activeSinceMs!, forMs)
      }
      if (transition === "resolved") {
        assert.isTrue(wasFiring, "resolved without having fired")
        assert.isFalse(holds)
        assert.strictEqual(state.resolvedAtMs, now)
      }
      if (transition === "firing") assert.isFalse(wasFiring, "fired twice without resolving")
      // Held continuously for at least `for` (and evaluated): firing.
      if (holds && now - heldSince! >= forMs) assert.strictEqual(state.status, "firing")
      if (!holds) assert.include(["inactive", "resolved"], state.status)
      wasFiring = state.status === "firing"
    }
  })

  it("for 0 skips pending; pending that stops holding is dropped silently", () => {
    const fired = AlertState.step(AlertState.inactive, 1, 10, 0)
    assert.strictEqual(fired.transition, "firing")
    assert.strictEqual(fired.state.status, "firing")
    const pending = AlertState.step(AlertState.inactive, 1, 10, 5000)
    assert.strictEqual(pending.transition, "pending")
    const dropped = AlertState.step(pending.state, undefined, 20, 5000)
    assert.deepStrictEqual(dropped, { state: AlertState.inactive, transition: "none" })
  })
})

const gauge = Metric.gauge("test_alert_gauge")

/** An evaluator over a private metric registry, with one rule `test_alert_gauge > 5` for `forMs`. */
const evaluatorLayer = (forMs: number) =>
  AlertEvaluator.layerWith.pipe(
    Layer.provideMerge(LiveConfig.layer({})),
    Layer.provideMerge(Layer.effect(
      ServerConfig,
      Effect.orDie(load({}, {
        node: { name: "test-node" },
        alerting: {
          evaluation_interval_ms: intervalMs,
          builtin_rules: false,
          log_channel: false,
          rules: [{ name: "TestHigh", expr: `test_alert_gauge > ${threshold}`, for: `${forMs}ms`, severity: "critical" }]
        }
      }))
    )),
    Layer.provide(FetchHttpClient.layer)
  )

describe("AlertEvaluator under TestClock", () => {
  it.effect("pending, firing after `for`, resolved, and the idgen_alerts gauge", () =>
    Effect.gen(function*() {
      const evaluator = yield* AlertEvaluator
      const state = () => evaluator.alerts().find((a) => a.name === "TestHigh")?.state
      yield* Metric.update(gauge, 9)
      yield* TestClock.adjust(intervalMs)
      assert.strictEqual(state(), "pending")
      yield* TestClock.adjust(intervalMs)
      assert.strictEqual(state(), "pending")
      yield* TestClock.adjust(intervalMs)
      assert.strictEqual(state(), "firing")
      const firing = evaluator.alerts()[0]!
      assert.strictEqual(firing.value, 9)
      assert.deepStrictEqual(firing.labels, { instance: "test-node", alertname: "TestHigh", severity: "critical" })
      const gauges = yield* Metric.snapshot
      const active = gauges.find((m) => m.id === "idgen_alerts" && m.attributes?.state === "firing")
      assert.deepStrictEqual(active?.state, { value: 1 })
      yield* Metric.update(gauge, 1)
      yield* TestClock.adjust(intervalMs)
      assert.strictEqual(state(), "resolved")
      assert.isNotNull(evaluator.alerts()[0]!.resolved_at)
    }).pipe(
      Effect.provide(evaluatorLayer(2 * intervalMs)),
      Effect.provideService(Metric.MetricRegistry, new Map())
    ))

  it.effect.prop("the fiber agrees with AlertState.step at every evaluation", {
    steps: Steps,
    forIntervals: ForMs
  }, ({ forIntervals, steps }) =>
    Effect.gen(function*() {
      const forMs = forIntervals * intervalMs
      const expected = simulate(steps, forMs)
      const evaluator = yield* AlertEvaluator
      let at = 0
      for (const { value, evaluations } of steps) {
        yield* Metric.update(gauge, value)
        for (let i = 0; i < evaluations; i++) {
          yield* TestClock.adjust(intervalMs)
          const model = expected[at++]!.state.status
          const seen = evaluator.alerts().find((a) => a.name === "TestHigh")?.state ?? "inactive"
          assert.strictEqual(seen, model, `evaluation ${at}`)
        }
      }
    }).pipe(
      Effect.provide(evaluatorLayer(forMs(forIntervals))),
      Effect.provideService(Metric.MetricRegistry, new Map()),
      Effect.scoped
    ), { arbitrary: { runs: 30 } })
})

const forMs = (intervals: number) => intervals * intervalMs
