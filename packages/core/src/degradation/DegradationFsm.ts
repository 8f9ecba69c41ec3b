/**
 * The degradation state machine of one node, pure: no clock, no I/O. The
 * server feeds it request outcomes and probe results and acts on what it returns.
 *
 * Each algorithm is `healthy` or `unhealthy`:
 * - healthy → unhealthy after `failureThreshold` consecutive failures, or at once by an operator;
 * - unhealthy → healthy after `recoveryThreshold` consecutive successes, counted only once it
 *   has been unhealthy for `minUnhealthyMillis` (hysteresis: a flapping database does not
 *   make the router flip on every other request), or at once by an operator. An algorithm
 *   an operator degraded stays unhealthy until an operator recovers it.
 *
 * The node's mode follows from the algorithms: `Normal` when all are healthy, `Critical`
 * when no numeric algorithm (segment, snowflake, formatted) is healthy — only UUIDs can be
 * issued — and `Degraded` otherwise.
 */
import { Algorithm } from "../Names.ts"

export type Mode = "Normal" | "Degraded" | "Critical"
export type Status = "healthy" | "unhealthy"

export const algorithms: ReadonlyArray<Algorithm> = Algorithm.literals
const numeric: ReadonlyArray<Algorithm> = ["segment", "snowflake", "formatted"]

export interface Thresholds {
  /** Consecutive failures that take a healthy algorithm out of the chains. */
  readonly failureThreshold: number
  /** Consecutive successes that bring an unhealthy one back. */
  readonly recoveryThreshold: number
  /** Minimum time unhealthy before successes count towards recovery. */
  readonly minUnhealthyMillis: number
}

export const defaultThresholds: Thresholds = { failureThreshold: 3, recoveryThreshold: 3, minUnhealthyMillis: 5_000 }

export interface AlgorithmHealth {
  readonly status: Status
  readonly consecutiveFailures: number
  readonly consecutiveSuccesses: number
  /** Unix ms of the last status change. */
  readonly since: number
  /** Held unhealthy by an operator: no automatic recovery. */
  readonly manual: boolean
  /** Why it is unhealthy (last failure or the operator's reason). */
  readonly reason: string | undefined
}

export interface State {
  readonly mode: Mode
  /** Unix ms of the last mode change. */
  readonly modeSince: number
  readonly thresholds: Thresholds
  readonly health: Readonly<Record<Algorithm, AlgorithmHealth>>
}

export type Event =
  | { readonly _tag: "Failure"; readonly algorithm: Algorithm; readonly now: number; readonly reason: string }
  | { readonly _tag: "Success"; readonly algorithm: Algorithm; readonly now: number }
  | { readonly _tag: "ManualDegrade"; readonly algorithm: Algorithm; readonly now: number; readonly reason: string }
  | { readonly _tag: "ManualRecover"; readonly algorithm: Algorithm; readonly now: number }
  | { readonly _tag: "SetThresholds"; readonly thresholds: Thresholds }

export interface Transition {
  readonly algorithm: Algorithm
  readonly from: Status
  readonly to: Status
  readonly manual: boolean
  readonly reason: string
  readonly at: number
  readonly modeFrom: Mode
  readonly modeTo: Mode
}

export interface Step {
  readonly state: State
  /** Status changes this event caused (at most one). */
  readonly transitions: ReadonlyArray<Transition>
}

const fresh = (now: number): AlgorithmHealth => ({
  status: "healthy",
  consecutiveFailures: 0,
  consecutiveSuccesses: 0,
  since: now,
  manual: false,
  reason: undefined
})

export const initial = (now: number, thresholds: Thresholds = defaultThresholds): State => ({
  mode: "Normal",
  modeSince: now,
  thresholds,
  health: Object.fromEntries(algorithms.map((a) => [a, fresh(now)])) as Record<Algorithm, AlgorithmHealth>
})

export const modeOf = (health: Readonly<Record<Algorithm, AlgorithmHealth>>): Mode => {
  if (algorithms.every((a) => health[a].status === "healthy")) return "Normal"
  return numeric.some((a) => health[a].status === "healthy") ? "Degraded" : "Critical"
}

/** Rejects thresholds that would make the machine meaningless (zero counts, negative dwell). */
export const validThresholds = (t: Thresholds): boolean =>
  Number.isInteger(t.failureThreshold) && t.failureThreshold >= 1 &&
  Number.isInteger(t.recoveryThreshold) && t.recoveryThreshold >= 1 &&
  Number.isFinite(t.minUnhealthyMillis) && t.minUnhealthyMillis >= 0

const nextHealth = (h: AlgorithmHealth, event: Event, t: Thresholds): AlgorithmHealth => {
  switch (event._tag) {
    case "Failure": {
      const failures = h.consecutiveFailures + 1
      if (h.status === "healthy" && failures >= t.failureThreshold) {
        return { status: "unhealthy", consecutiveFailures: failures, consecutiveSuccesses: 0, since: event.now, manual: false, reason: event.reason }
      }
      return { ...h, consecutiveFailures: failures, consecutiveSuccesses: 0, reason: h.status === "unhealthy" && !h.manual ? event.reason : h.reason }
    }
    case "Success": {
      // Successes before the dwell time count for nothing: recovery needs a quiet run after it.
      const counts = h.status === "healthy" || (!h.manual && event.now - h.since >= t.minUnhealthyMillis)
      const successes = counts ? h.consecutiveSuccesses + 1 : 0
      if (h.status === "unhealthy" && !h.manual && successes >= t.recoveryThreshold) {
        return { ...fresh(event.now), consecutiveSuccesses: successes }
      }
      return { ...h, consecutiveFailures: 0, consecutiveSuccesses: successes }
    }
    case "ManualDegrade":
      return { status: "unhealthy", consecutiveFailures: 0, consecutiveSuccesses: 0, since: h.status === "unhealthy" ? h.since : event.now, manual: true, reason: event.reason }
    case "ManualRecover":
      return h.status === "healthy" ? h : fresh(event.now)
    case "SetThresholds":
      return h
  }
}

const reasonOf = (event: Event, h: AlgorithmHealth): string => {
  switch (event._tag) {
    case "ManualRecover":
      return "recovered by an operator"
    case "Success":
      return `${h.consecutiveSuccesses} consecutive successes`
    default:
      return h.reason ?? ""
  }
}

export const step = (state: State, event: Event): Step => {
  if (event._tag === "SetThresholds") return { state: { ...state, thresholds: event.thresholds }, transitions: [] }
  const before = state.health[event.algorithm]
  const after = nextHealth(before, event, state.thresholds)
  const health = { ...state.health, [event.algorithm]: after }
  const mode = modeOf(health)
  const modeSince = mode === state.mode ? state.modeSince : event.now
  const next: State = { ...state, health, mode, modeSince }
  if (before.status === after.status) return { state: next, transitions: [] }
  return {
    state: next,
    transitions: [{
      algorithm: event.algorithm,
      from: before.status,
      to: after.status,
      manual: event._tag === "ManualDegrade" || event._tag === "ManualRecover",
      reason: reasonOf(event, after),
      at: event.now,
      modeFrom: state.mode,
      modeTo: mode
    }]
  }
}

/**
 * The order in which a biz_tag's chain is tried: its healthy algorithms in chain order.
 * When none is healthy, every algorithm not held down by an operator, in chain order, so
 * a request still gets the real error (or a success that feeds recovery) rather than a
 * refusal invented here.
 */
export const route = (state: State, chain: ReadonlyArray<Algorithm>): ReadonlyArray<Algorithm> => {
  const healthy = chain.filter((a) => state.health[a].status === "healthy")
  return healthy.length > 0 ? healthy : chain.filter((a) => !state.health[a].manual)
}
