/**
 * The alert expression language (a PromQL subset): parsing, PromQL's meaning for
 * selectors, comparisons, arithmetic, aggregation and range functions, and the built-in
 * rules and their annotation templates.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as AlertRules from "@idgen/server/alerting/AlertRules"
import * as Expression from "@idgen/server/alerting/Expression"
import { SampleHistory } from "@idgen/server/alerting/MetricSamples"

const parse = (text: string) => {
  const result = Expression.parse(text)
  if (Result.isFailure(result)) throw new Error(result.failure.message)
  return result.success
}

const source = (series: Record<string, ReadonlyArray<[Record<string, string>, number]>>): Expression.SeriesSource => ({
  instant: (name) => (series[name] ?? []).map(([labels, value]) => ({ labels, value })),
  range: () => []
})

const evaluate = (text: string, from: Expression.SeriesSource) => {
  const result = Expression.evaluate(parse(text), from)
  if (Result.isFailure(result)) throw new Error(result.failure.message)
  return result.success
}

describe("alert expressions", () => {
  it("selectors, matchers and comparison filters", () => {
    const s = source({
      m: [[{ tag: "a", dc: "0" }, 0.1], [{ tag: "b", dc: "0" }, 0.5], [{ tag: "c", dc: "1" }, 0.05]]
    })
    assert.deepStrictEqual(evaluate("m < 0.2", s).map((x) => x.labels.tag), ["a", "c"])
    assert.deepStrictEqual(evaluate(`m{dc="0"} < 0.2`, s).map((x) => x.labels.tag), ["a"])
    assert.deepStrictEqual(evaluate(`m{tag=~"a|b"} >= 0.1`, s).map((x) => x.value), [0.1, 0.5])
    assert.deepStrictEqual(evaluate(`m{tag!~"a|b"}`, s).map((x) => x.labels.tag), ["c"])
    assert.deepStrictEqual(evaluate(`m{dc!="0"} * 100`, s).map((x) => x.value), [5])
    assert.deepStrictEqual(evaluate("m > 1", s), [])
  })

  it("aggregation, vector matching and set operators", () => {
    const s = source({
      errors: [[{ code: "x", instance: "n1" }, 2], [{ code: "y", instance: "n1" }, 3]],
      total: [[{ instance: "n1" }, 100]],
      up: [[{ instance: "n1" }, 1]]
    })
    assert.deepStrictEqual(evaluate("sum by (instance) (errors) / sum by (instance) (total)", s), [
      { labels: { instance: "n1" }, value: 0.05 }
    ])
    assert.deepStrictEqual(evaluate("sum(errors) / sum(total) > 0.01", s), [{ labels: {}, value: 0.05 }])
    assert.deepStrictEqual(evaluate("count(errors)", s), [{ labels: {}, value: 2 }])
    assert.deepStrictEqual(evaluate("max without (code) (errors)", s), [{ labels: { instance: "n1" }, value: 3 }])
    assert.strictEqual(evaluate("total > 50 and up == 1", s).length, 1)
    assert.strictEqual(evaluate("total > 500 or up == 1", s).length, 1)
    assert.deepStrictEqual(evaluate("absent(nothing)", s), [{ labels: {}, value: 1 }])
    // Nothing to divide: no result, no alert (as in PromQL).
    assert.deepStrictEqual(evaluate("sum(missing) / sum(total) > 0", s), [])
  })

  it("rate and increase over the evaluator's history, through counter resets", () => {
    const history = new SampleHistory()
    const at = (ms: number, value: number) =>
      history.record([{ name: "c_total", labels: { k: "v" }, value }], ms, 600_000)
    at(0, 10)
    at(60_000, 40)
    at(120_000, 5) // reset: counted as +5
    const s = at(180_000, 25)
    const [increase] = evaluate("increase(c_total[5m])", s)
    // 30 + 5 + 20 = 55 over the 3 minutes covered; extrapolated by at most 10 %.
    assert.isTrue(increase!.value >= 55 && increase!.value <= 55 * 1.1, String(increase!.value))
    const [rate] = evaluate("rate(c_total[5m])", s)
    assert.closeTo(rate!.value, increase!.value / 300, 1e-9)
    assert.deepStrictEqual(evaluate("max_over_time(c_total[5m])", s)[0]!.value, 40)
    // One sample is not enough for a rate.
    assert.deepStrictEqual(evaluate("rate(c_total[30s])", s), [])
  })

  it("parse errors name the position", () => {
    for (const bad of ["m >", "rate(m)", "sum(m", `m{a="x}`, "m[5m]", "m @ 1", "rate(m[5q])"]) {
      const result = Expression.parse(bad)
      assert.isTrue(Result.isFailure(result), bad)
    }
    const failure = Expression.parse("m >")
    assert.isTrue(Result.isFailure(failure) && /at \d+$/.test(failure.failure.message))
  })

  it("durations in Prometheus form", () => {
    assert.strictEqual(Expression.parseDuration("1h30m"), 5_400_000)
    assert.strictEqual(Expression.parseDuration("0s"), 0)
    assert.strictEqual(Expression.parseDuration("250ms"), 250)
    assert.isUndefined(Expression.parseDuration("5 minutes"))
    assert.strictEqual(Expression.formatDuration(90_000), "1m30s")
    assert.strictEqual(Expression.formatDuration(0), "0s")
  })

  it("every built-in rule parses; configured rules replace built-ins by name; templates expand", () => {
    const builtin = AlertRules.builtinRules(AlertRules.defaultThresholds)
    assert.includeMembers(builtin.map((r) => r.name), [
      "IdgenSegmentRangeLow",
      "IdgenClockDrift",
      "IdgenWorkerLeaseLost",
      "IdgenDegraded",
      "IdgenHighErrorRatio",
      "IdgenSegmentBufferStarvation"
    ])
    const rules = AlertRules.effectiveRules({
      builtin: true,
      thresholds: AlertRules.defaultThresholds,
      rules: [
        { name: "IdgenDegraded", expr: "idgen_health_status > 1", forMs: 0, severity: "critical", labels: {}, annotations: {} },
        { name: "Mine", expr: "up == 0", forMs: 0, severity: "info", labels: { team: "ids" }, annotations: {} }
      ]
    })
    assert.isTrue(Result.isSuccess(rules))
    const compiled = Result.getOrThrow(rules)
    assert.strictEqual(compiled.length, builtin.length + 1)
    assert.strictEqual(compiled.find((r) => r.name === "IdgenDegraded")!.expr, "idgen_health_status > 1")
    const broken = AlertRules.effectiveRules({
      builtin: false,
      thresholds: AlertRules.defaultThresholds,
      rules: [{ name: "Bad", expr: "rate(x)", forMs: 0, severity: "info", labels: {}, annotations: {} }]
    })
    assert.isTrue(Result.isFailure(broken))
    assert.strictEqual(
      AlertRules.expandTemplate("{{ $labels.biz_tag }} at {{ $value | humanizePercentage }} ({{$value}})", { biz_tag: "t" }, 0.1234),
      "t at 12.34% (0.1234)"
    )
  })
})
