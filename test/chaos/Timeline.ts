/**
 * The fault timeline of a chaos run: what was done to which part, from when until the
 * part was back, and what went wrong doing it. Times are real milliseconds since the run
 * started.
 */
import { Cause, Effect, Exit } from "effect"

export type FaultKind =
  | "node-kill"
  | "node-kill-behind"
  | "postgres-restart"
  | "postgres-failover"
  | "etcd-leader-kill"
  | "etcd-quorum-loss"
  | "redis-kill"
  | "redis-restore"
  | "clock-step"

export const faultKinds: ReadonlyArray<FaultKind> = [
  "node-kill",
  "node-kill-behind",
  "postgres-restart",
  "postgres-failover",
  "etcd-leader-kill",
  "etcd-quorum-loss",
  "redis-kill",
  "redis-restore",
  "clock-step"
]

/** Faults after which a node's dependencies (storage, worker id) must bring it back to ready. */
export const dependencyFaults: ReadonlySet<FaultKind> = new Set([
  "postgres-restart",
  "postgres-failover",
  "etcd-leader-kill",
  "etcd-quorum-loss"
])

export interface Fault {
  readonly kind: FaultKind
  readonly target: string
  readonly detail: string
  readonly start: number
  /** When the part was back (or, for a clock step, its wall clock past the step). */
  end: number | undefined
  error: string | undefined
}

export class Timeline {
  readonly faults: Array<Fault> = []

  readonly started: number

  constructor(started: number) {
    this.started = started
  }

  now(): number {
    return Date.now() - this.started
  }

  /** Runs `effect` as fault `kind` on `target`; its end is when the effect completes. */
  run<E>(kind: FaultKind, target: string, detail: string, effect: Effect.Effect<void, E>): Effect.Effect<void> {
    return Effect.suspend(() => {
      const fault: Fault = { kind, target, detail, start: this.now(), end: undefined, error: undefined }
      this.faults.push(fault)
      return Effect.map(Effect.exit(effect), (exit) => {
        fault.end = this.now()
        if (Exit.isFailure(exit)) fault.error = Cause.pretty(exit.cause).slice(0, 2000)
      })
    })
  }

  /** Faults in progress at `at` (all of them when `at` is omitted: now). */
  active(at = this.now()): ReadonlyArray<Fault> {
    return this.faults.filter((f) => f.start <= at && (f.end === undefined || f.end >= at))
  }

  /** Faults whose span, widened by `slackMs` after its end, overlaps [from, to]. */
  overlapping(from: number, to: number, slackMs: number): ReadonlyArray<Fault> {
    return this.faults.filter((f) => f.start <= to && (f.end ?? Infinity) + slackMs >= from)
  }
}
