import { assert, describe, it } from "@effect/vitest"
import { DegradationFsm, type Names } from "@idgen/core"
import fc from "fast-check"

const thresholds: DegradationFsm.Thresholds = { failureThreshold: 3, recoveryThreshold: 2, minUnhealthyMillis: 1000 }
const algorithm = fc.constantFrom<Names.Algorithm>(...DegradationFsm.algorithms)

/** Events with non-decreasing times: each carries a delay since the previous one. */
const event = fc.oneof(
  fc.record({ _tag: fc.constant("Failure" as const), algorithm, delay: fc.nat(800), reason: fc.constant("DatabaseUnavailable") }),
  fc.record({ _tag: fc.constant("Success" as const), algorithm, delay: fc.nat(800) }),
  fc.record({ _tag: fc.constant("ManualDegrade" as const), algorithm, delay: fc.nat(800), reason: fc.constant("maintenance") }),
  fc.record({ _tag: fc.constant("ManualRecover" as const), algorithm, delay: fc.nat(800) })
)

type EventArb = typeof event extends fc.Arbitrary<infer A> ? A : never

const run = (events: ReadonlyArray<EventArb>, check: (before: DegradationFsm.State, e: DegradationFsm.Event, after: DegradationFsm.Step) => void) => {
  let now = 0
  let state = DegradationFsm.initial(now, thresholds)
  for (const { delay, ...rest } of events) {
    now += delay
    const e = { ...rest, now } as DegradationFsm.Event
    const next = DegradationFsm.step(state, e)
    check(state, e, next)
    state = next.state
  }
  return state
}

describe("DegradationFsm", () => {
  it("the mode always follows the algorithms' health", () => {
    fc.assert(fc.property(fc.array(event, { maxLength: 200 }), (events) => {
      run(events, (_, __, { state }) => assert.strictEqual(state.mode, DegradationFsm.modeOf(state.health)))
    }))
  })

  it("a healthy algorithm goes down only after failureThreshold consecutive failures, or by an operator", () => {
    fc.assert(fc.property(fc.array(event, { maxLength: 200 }), (events) => {
      run(events, (before, e, { transitions }) => {
        for (const t of transitions.filter((t) => t.to === "unhealthy")) {
          if (e._tag === "ManualDegrade") continue
          assert.strictEqual(e._tag, "Failure")
          assert.strictEqual(before.health[t.algorithm].consecutiveFailures + 1, thresholds.failureThreshold)
        }
      })
    }))
  })

  it("automatic recovery needs the dwell time and recoveryThreshold successes; an operator's degrade holds", () => {
    fc.assert(fc.property(fc.array(event, { maxLength: 200 }), (events) => {
      run(events, (before, e, { transitions }) => {
        for (const t of transitions.filter((t) => t.to === "healthy")) {
          if (e._tag === "ManualRecover") continue
          const h = before.health[t.algorithm]
          assert.strictEqual(e._tag, "Success")
          assert.isFalse(h.manual, "an operator's degrade recovered by itself")
          assert.isAtLeast(t.at - h.since, thresholds.minUnhealthyMillis)
          assert.strictEqual(h.consecutiveSuccesses + 1, thresholds.recoveryThreshold)
        }
      })
    }))
  })

  it("route keeps chain order, prefers healthy algorithms and never returns an operator-held one", () => {
    fc.assert(fc.property(
      fc.array(event, { maxLength: 100 }),
      fc.uniqueArray(algorithm, { minLength: 1, maxLength: 5 }),
      (events, chain) => {
        const state = run(events, () => {})
        const plan = DegradationFsm.route(state, chain)
        const positions = plan.map((a) => chain.indexOf(a))
        assert.deepStrictEqual(positions, [...positions].sort((a, b) => a - b))
        assert.isTrue(plan.every((a) => !state.health[a].manual))
        const healthy = chain.filter((a) => state.health[a].status === "healthy")
        if (healthy.length > 0) assert.deepStrictEqual(plan, healthy)
      }
    ))
  })

  it("Normal → Degraded → Critical → Normal through a database and a clock outage", () => {
    let s = DegradationFsm.initial(0, thresholds)
    const fail = (algorithm: Names.Algorithm, now: number) => (s = DegradationFsm.step(s, { _tag: "Failure", algorithm, now, reason: "x" }).state)
    const ok = (algorithm: Names.Algorithm, now: number) => (s = DegradationFsm.step(s, { _tag: "Success", algorithm, now }).state)
    for (const t of [1, 2, 3]) fail("segment", t)
    assert.strictEqual(s.mode, "Degraded")
    for (const t of [1, 2, 3]) fail("formatted", t)
    for (const t of [4, 5, 6]) fail("snowflake", t)
    assert.strictEqual(s.mode, "Critical")
    // Successes inside the dwell time do not count.
    for (const t of [10, 20, 30]) ok("snowflake", t)
    assert.strictEqual(s.health.snowflake.status, "unhealthy")
    ok("snowflake", 1006)
    ok("snowflake", 1007)
    assert.strictEqual(s.mode, "Degraded")
    for (const a of ["segment", "formatted"] as const) [1100, 1200].forEach((t) => ok(a, t))
    assert.strictEqual(s.mode, "Normal")
  })

  it("rejects meaningless thresholds", () => {
    assert.isTrue(DegradationFsm.validThresholds(thresholds))
    assert.isFalse(DegradationFsm.validThresholds({ ...thresholds, failureThreshold: 0 }))
    assert.isFalse(DegradationFsm.validThresholds({ ...thresholds, minUnhealthyMillis: -1 }))
  })
})
