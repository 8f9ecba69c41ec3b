/**
 * The pure state machine behind the one stateful snowflake generator of a node.
 *
 * Split Sonyflake style: this module only decides *which* (timestamp, sequence) to issue
 * given the last issued pair and a clock reading; the caller owns the clock, the waiting
 * and the bit packing (`Layout`). Keeping it pure lets tests drive it with arbitrary,
 * even hostile, clock readings.
 *
 * Invariant: every issued (timestamp, sequence) pair is strictly greater, in
 * lexicographic order, than every pair issued before from the same state chain.
 *
 * Clock handling (drift = lastMs - nowMs when the clock reads behind the last issue):
 * - drift ≤ 0: normal; a new millisecond restarts the sequence at 0.
 * - 0 < drift ≤ waitThresholdMs: `WaitUntil` — a short wait is cheaper than any trick.
 * - waitThresholdMs < drift ≤ logicalThresholdMs: `Logical` — keep issuing on a logical
 *   clock that continues from the last pair (advancing one ms per 1024 IDs), so a
 *   moderate NTP step back does not stop the service. The logical clock runs ahead of
 *   the wall clock; the wall clock catches up and normal issuing resumes by itself.
 * - drift > logicalThresholdMs: `ClockBackward` — refuse; the service falls back.
 * Sequence exhaustion within a millisecond on the wall clock is `WaitUntil(lastMs + 1)`.
 */
import { Schema } from "effect"
import { MAX_SEQUENCE } from "./Layout.ts"

/** The last issued pair. `lastMs` is absolute Unix ms (wall or logical). */
export interface State {
  readonly lastMs: number
  readonly sequence: number
}

/**
 * The starting state. Nothing at or before `afterMs` will be issued: pass the highest
 * timestamp a previous run of this worker may have used (or leave the default, -1, when
 * none is known) so that a restart onto a clock that went back never reissues an ID.
 */
export const initialState = (afterMs: number = -1): State => ({ lastMs: afterMs, sequence: MAX_SEQUENCE })

export const Policy = Schema.Struct({
  /** Clock behind by at most this much → wait instead of issuing. */
  waitThresholdMs: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  /** Clock behind by at most this much (and more than the wait threshold) → logical clock. */
  logicalThresholdMs: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
}).check(
  Schema.makeFilter((p) => p.waitThresholdMs <= p.logicalThresholdMs, {
    message: "waitThresholdMs must not exceed logicalThresholdMs"
  })
)
export type Policy = typeof Policy.Type

export const defaultPolicy: Policy = { waitThresholdMs: 5, logicalThresholdMs: 1000 }

/**
 * IDs may be issued: sequences `sequence … sequence + count - 1`, all at `timestampMs`.
 * `state` is the state to keep for the next call.
 */
export interface Issue {
  readonly _tag: "Issue"
  readonly timestampMs: number
  readonly sequence: number
  readonly count: number
  readonly state: State
}

/** Like `Issue`, but on the logical clock because the wall clock is `driftMs` behind. */
export interface Logical {
  readonly _tag: "Logical"
  readonly timestampMs: number
  readonly sequence: number
  readonly count: number
  readonly driftMs: number
  readonly state: State
}

/** Nothing can be issued before the clock reads `ms`; the state is unchanged. */
export interface WaitUntil {
  readonly _tag: "WaitUntil"
  readonly ms: number
  readonly reason: "SequenceExhausted" | "ClockBehind"
}

/** The clock is further behind than the logical clock tolerates; the state is unchanged. */
export interface ClockBackward {
  readonly _tag: "ClockBackward"
  readonly driftMs: number
}

export type Decision = Issue | Logical | WaitUntil | ClockBackward

/**
 * Issues up to `n` (≥ 1) pairs in one decision, all in the same millisecond: a batch of
 * 1000 is one call when the millisecond has room, and the caller calls again (which may
 * answer `WaitUntil`) for the rest. `nowMs` is integer Unix ms (a fraction is floored).
 */
export const take = (state: State, nowMs: number, n: number, policy: Policy = defaultPolicy): Decision => {
  const now = Math.floor(nowMs)
  const lastMs = state.lastMs
  if (now > lastMs) {
    // A fresh millisecond: start at sequence 0.
    const count = n < MAX_SEQUENCE + 1 ? n : MAX_SEQUENCE + 1
    return { _tag: "Issue", timestampMs: now, sequence: 0, count, state: { lastMs: now, sequence: count - 1 } }
  }
  if (now === lastMs) {
    if (state.sequence >= MAX_SEQUENCE) return { _tag: "WaitUntil", ms: lastMs + 1, reason: "SequenceExhausted" }
    const sequence = state.sequence + 1
    const count = Math.min(n, MAX_SEQUENCE - state.sequence)
    return { _tag: "Issue", timestampMs: now, sequence, count, state: { lastMs, sequence: sequence + count - 1 } }
  }
  const driftMs = lastMs - now
  if (driftMs <= policy.waitThresholdMs) {
    // Wait until the clock reaches the last millisecond again (or the next one when that
    // millisecond is used up); resuming then continues the sequence without a gap.
    return state.sequence >= MAX_SEQUENCE
      ? { _tag: "WaitUntil", ms: lastMs + 1, reason: "SequenceExhausted" }
      : { _tag: "WaitUntil", ms: lastMs, reason: "ClockBehind" }
  }
  if (driftMs <= policy.logicalThresholdMs) {
    // Continue right after the last pair; on overflow the logical clock moves one ms on.
    const overflow = state.sequence >= MAX_SEQUENCE
    const timestampMs = overflow ? lastMs + 1 : lastMs
    const sequence = overflow ? 0 : state.sequence + 1
    const count = Math.min(n, MAX_SEQUENCE + 1 - sequence)
    return {
      _tag: "Logical",
      timestampMs,
      sequence,
      count,
      driftMs,
      state: { lastMs: timestampMs, sequence: sequence + count - 1 }
    }
  }
  return { _tag: "ClockBackward", driftMs }
}

/** One pair: `take(state, nowMs, 1, policy)`. */
export const next = (state: State, nowMs: number, policy: Policy = defaultPolicy): Decision =>
  take(state, nowMs, 1, policy)
