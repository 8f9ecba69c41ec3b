import { assert, describe, it } from "@effect/vitest"
import { DynamicStep } from "@idgen/core"
import { Schema } from "effect"

const noTimeTarget: DynamicStep.Config = { ...DynamicStep.defaultConfig, targetSeconds: 0, maxStep: Number.MAX_SAFE_INTEGER }

describe("segment DynamicStep", () => {
  it("uses the design's defaults", () => {
    const c = DynamicStep.defaultConfig
    assert.deepStrictEqual([c.alpha, c.beta, c.minFactor, c.maxFactor], [0.5, 0.3, 0.5, 100])
    assert.isTrue(Schema.is(DynamicStep.Config)(c))
    assert.isFalse(Schema.is(DynamicStep.Config)({ ...c, minFactor: 200 }))
  })

  it("an idle tag keeps its base step", () => {
    assert.strictEqual(DynamicStep.nextStep({ baseStep: 1000, currentStep: 1000, observedQps: 0, pressure: 0 }), 1000)
  })

  it("applies the formula base × (1 + α·qps/step) × (1 + β·pressure)", () => {
    // velocity 2000/1000 = 2 → 1000 × 2 × 1.15 = 2300
    const step = DynamicStep.nextStep({ baseStep: 1000, currentStep: 1000, observedQps: 2000, pressure: 0.5 }, noTimeTarget)
    assert.strictEqual(step, 2300)
    // Pressure raises the step.
    const calm = DynamicStep.nextStep({ baseStep: 1000, currentStep: 1000, observedQps: 2000, pressure: 0 }, noTimeTarget)
    assert.strictEqual(calm, 2000)
  })

  it("bounds the formula to [0.5 × base, 100 × base]", () => {
    const huge = DynamicStep.nextStep({ baseStep: 1000, currentStep: 1, observedQps: 1e9, pressure: 1 }, noTimeTarget)
    assert.strictEqual(huge, 100_000)
    const shrinking = DynamicStep.nextStep(
      { baseStep: 1000, currentStep: 1000, observedQps: 0, pressure: 0 },
      { ...noTimeTarget, minFactor: 0.5, alpha: 0, beta: 0 }
    )
    assert.isTrue(shrinking >= 500)
    // With a minFactor above 1 the lower bound is visible.
    const floor = DynamicStep.nextStep({ baseStep: 1000, currentStep: 1000, observedQps: 0 }, { ...noTimeTarget, minFactor: 2 })
    assert.strictEqual(floor, 2000)
  })

  it("raises the step so a segment lasts targetSeconds at the observed rate, capped by maxStep", () => {
    // 10 000 IDs/s for 300 s = 3 000 000, far above the formula's 100 × base.
    const raised = DynamicStep.nextStep({ baseStep: 1000, currentStep: 1000, observedQps: 10_000, pressure: 0 })
    assert.strictEqual(raised, 3_000_000)
    const capped = DynamicStep.nextStep({ baseStep: 1000, currentStep: 1000, observedQps: 1_000_000, pressure: 0 })
    assert.strictEqual(capped, DynamicStep.defaultConfig.maxStep)
    const lowCeiling = DynamicStep.nextStep(
      { baseStep: 1000, currentStep: 1000, observedQps: 0, pressure: 0 },
      { ...DynamicStep.defaultConfig, maxStep: 300 }
    )
    assert.strictEqual(lowCeiling, 300)
  })

  it("takes per-call overrides of the tunables in the input", () => {
    const input = { baseStep: 1000, currentStep: 1000, observedQps: 10_000, pressure: 0 }
    assert.strictEqual(DynamicStep.nextStep({ ...input, targetSeconds: 60 }), 600_000)
    assert.strictEqual(DynamicStep.nextStep({ ...input, maxStep: 50_000 }), 50_000)
    // An override beats the config argument.
    assert.strictEqual(DynamicStep.nextStep({ ...input, targetSeconds: 10 }, { ...DynamicStep.defaultConfig, targetSeconds: 999 }), 100_000)
  })

  it("sanitises live measurements", () => {
    const base = { baseStep: 1000, currentStep: 1000, pressure: 0 }
    assert.strictEqual(DynamicStep.nextStep({ ...base, observedQps: Number.NaN }), 1000)
    assert.strictEqual(DynamicStep.nextStep({ ...base, observedQps: -50 }), 1000)
    assert.strictEqual(DynamicStep.nextStep({ ...base, observedQps: 0, pressure: 7 }, noTimeTarget), 1300)
    assert.strictEqual(DynamicStep.nextStep({ baseStep: 0, currentStep: 0, observedQps: 0 }), 1)
  })

  it.prop("always an integer in [1, maxStep], ≥ min(0.5 × base, maxStep), monotone in qps", {
    baseStep: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000_000 })),
    currentStep: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100_000_000 })),
    qps: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 5_000_000 })),
    more: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1_000_000 })),
    pressure: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
    maxStep: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100_000_000 })),
    targetSeconds: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3600 }))
  }, ({ baseStep, currentStep, maxStep, more, pressure, qps, targetSeconds }) => {
    const config = { ...DynamicStep.defaultConfig, maxStep, targetSeconds }
    const step = DynamicStep.nextStep({ baseStep, currentStep, observedQps: qps, pressure }, config)
    assert.isTrue(Number.isInteger(step) && step >= 1 && step <= maxStep)
    assert.isTrue(step >= Math.min(Math.round(baseStep * 0.5), maxStep))
    assert.isTrue(step <= Math.max(baseStep * 100, qps * targetSeconds) + 1)
    const faster = DynamicStep.nextStep({ baseStep, currentStep, observedQps: qps + more, pressure }, config)
    assert.isTrue(faster >= step)
  })
})
