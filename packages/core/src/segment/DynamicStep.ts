/**
 * The size of the next segment to allocate for a biz_tag.
 *
 * The rate formula alone, `base × (1 + α·velocity) × (1 + β·pressure)` bounded to
 * `[0.5·base, 100·base]`, grows the step by at most 100× and only with the *ratio*
 * qps/step, so at high rates a segment still lasts milliseconds and every node hits the
 * database continuously. Hence a second, time-based target: a segment should last about
 * `targetSeconds` at the observed rate. The exact rule:
 *
 * ```
 * velocity   = observedQps / currentStep
 * formula    = baseStep × (1 + alpha × velocity) × (1 + beta × pressure)
 * designStep = clamp(formula, baseStep × minFactor, baseStep × maxFactor)
 * timeStep   = observedQps × targetSeconds
 * raised     = max(designStep, timeStep)
 * step       = max(1, round(min(raised, maxStep)))
 * ```
 *
 * `maxStep` is an absolute ceiling applied last, to both terms: it bounds how many
 * numbers a crash can skip (up to two segments per node) and how fast a datacenter's
 * range is consumed, so it wins even over the formula's lower bound when configured
 * below it. Inputs are sanitised (negative / non-finite qps → 0, pressure clamped to
 * 0–1, a step below 1 → 1) because they come from live measurements. Defaults:
 * α 0.5, β 0.3, factors 0.5 / 100, targetSeconds 300, maxStep 10 000 000.
 */
import { Schema } from "effect"

const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
const Positive = Schema.Finite.check(Schema.isGreaterThan(0))

export const Config = Schema.Struct({
  /** α, weight of velocity. */
  alpha: NonNegative,
  /** β, weight of CPU pressure. */
  beta: NonNegative,
  /** Lower bound of the formula as a multiple of the base step. */
  minFactor: Positive,
  /** Upper bound of the formula as a multiple of the base step. */
  maxFactor: Positive,
  /** A segment should last about this long at the observed rate. */
  targetSeconds: NonNegative,
  /** Hard ceiling on any step. */
  maxStep: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
}).check(
  Schema.makeFilter((c) => c.minFactor <= c.maxFactor, { message: "minFactor must not exceed maxFactor" })
)
export type Config = typeof Config.Type

export const defaultConfig: Config = {
  alpha: 0.5,
  beta: 0.3,
  minFactor: 0.5,
  maxFactor: 100,
  // Five minutes: about one allocation per 5 min per biz_tag and node, while a crash
  // skips a modest number of IDs.
  targetSeconds: 300,
  // 10 M keeps ≥ 1 000 segments in the default 10^10 range of a datacenter; at 1 M IDs/s
  // a segment still lasts 10 s.
  maxStep: 10_000_000
}

/**
 * Live measurements for one biz_tag on one node. Any tunable given here overrides the
 * `config` argument for this call (so callers can pass per-tag settings inline).
 */
export interface Input extends Partial<Config> {
  /** The configured step of the biz_tag. */
  readonly baseStep: number
  /** The step of the segment being consumed now. */
  readonly currentStep: number
  /** IDs per second recently handed out for this biz_tag. */
  readonly observedQps: number
  /** CPU usage 0–1; 0 when not measured. */
  readonly pressure?: number | undefined
}

const finiteOr = (x: number | undefined, fallback: number): number =>
  x !== undefined && Number.isFinite(x) ? x : fallback

export const nextStep = (input: Input, defaults: Config = defaultConfig): number => {
  const config = {
    alpha: input.alpha ?? defaults.alpha,
    beta: input.beta ?? defaults.beta,
    minFactor: input.minFactor ?? defaults.minFactor,
    maxFactor: input.maxFactor ?? defaults.maxFactor,
    targetSeconds: Math.max(0, finiteOr(input.targetSeconds, defaults.targetSeconds)),
    maxStep: Math.max(1, finiteOr(input.maxStep, defaults.maxStep))
  }
  const base = Math.max(1, finiteOr(input.baseStep, 1))
  const current = Math.max(1, finiteOr(input.currentStep, base))
  const qps = Math.max(0, finiteOr(input.observedQps, 0))
  const pressure = Math.min(1, Math.max(0, finiteOr(input.pressure, 0)))

  const velocity = qps / current
  const formula = base * (1 + config.alpha * velocity) * (1 + config.beta * pressure)
  const designStep = Math.min(base * config.maxFactor, Math.max(base * config.minFactor, formula))
  const raised = Math.max(designStep, qps * config.targetSeconds)
  return Math.max(1, Math.round(Math.min(raised, config.maxStep)))
}
