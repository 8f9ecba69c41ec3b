/**
 * Sizes and fault schedules of the chaos run: `smoke` (inside `npm test`: ≤ 2 minutes,
 * ≥ 1 M IDs, every fault kind once) and `full` (`npm run chaos`: ≥ 10 M IDs in ≤ 10
 * minutes, the fault cycle repeated). Faults of a schedule start at their time whatever
 * the others are doing, so they overlap; node kills rotate on their own beat on top.
 */
import type { Interface } from "./Callers.ts"

export type ScheduledFault =
  | { readonly kind: "postgres-restart"; readonly downMs: number }
  /** The standby stops receiving WAL `lagMs` before the primary is killed. */
  | { readonly kind: "postgres-failover"; readonly lagMs: number }
  | { readonly kind: "etcd-leader-kill"; readonly downMs: number }
  | { readonly kind: "etcd-quorum-loss"; readonly downMs: number }
  | { readonly kind: "redis-snapshot" }
  | { readonly kind: "redis-kill" }
  | { readonly kind: "redis-restore" }
  /** A step of the clock node's wall clock; "reset" steps it forward to real time again. */
  | { readonly kind: "clock-step"; readonly byMs: number | "reset" }

export interface Profile {
  readonly name: string
  /** Load runs at least this long (the schedule fits inside it) … */
  readonly loadMs: number
  /** … and on until this many IDs were collected, but never longer than `maxLoadMs`. */
  readonly minIds: number
  readonly maxLoadMs: number
  readonly killEveryMs: number
  /** The clock node's n-th kill (from 0) restarts it with its clock 2 s behind. */
  readonly behindOnKill: number
  readonly schedule: ReadonlyArray<{ readonly at: number } & ScheduledFault>
  /** Sequential callers: interface, IDs per request, at most how many requests a second, how many callers. */
  readonly lanes: ReadonlyArray<{ readonly via: Interface; readonly size: number; readonly perSecond: number; readonly count: number }>
  readonly secondDatacenter: boolean
}

/** One round of every dependency fault and clock step, starting at `t` (ms). */
const cycle = (t: number, failover: boolean): Profile["schedule"] => [
  { at: t + 2_000, kind: "redis-snapshot" },
  { at: t + 4_000, kind: "clock-step", byMs: -10 },
  // Long enough to drain the nodes' buffers and the Redis pool: refusals and fallbacks.
  { at: t + 6_000, kind: "postgres-restart", downMs: 12_000 },
  { at: t + 13_000, kind: "etcd-leader-kill", downMs: 3_000 },
  { at: t + 15_000, kind: "clock-step", byMs: -500 },
  { at: t + 19_000, kind: "redis-kill" },
  failover
    ? { at: t + 23_000, kind: "postgres-failover", lagMs: 2_000 }
    : { at: t + 25_000, kind: "postgres-restart", downMs: 4_000 },
  { at: t + 33_000, kind: "etcd-quorum-loss", downMs: 5_000 },
  { at: t + 35_000, kind: "clock-step", byMs: -5_000 },
  { at: t + 44_000, kind: "redis-restore" },
  { at: t + 50_000, kind: "clock-step", byMs: "reset" }
]

/**
 * About 840 requests and 48,000 IDs a second when the machine keeps up: paced, so that
 * the run leaves CPU to the rest of `npm test`, with requests many enough that 99.9 % is
 * a meaningful bar and batches large enough for the IDs on a loaded machine.
 */
const lanes: Profile["lanes"] = [
  { via: "http", size: 1, perSecond: 200, count: 1 },
  { via: "http", size: 200, perSecond: 40, count: 2 },
  { via: "grpc", size: 1, perSecond: 200, count: 1 },
  { via: "grpc", size: 200, perSecond: 40, count: 2 },
  { via: "rpc", size: 1, perSecond: 200, count: 1 },
  { via: "rpc", size: 200, perSecond: 40, count: 2 }
]

export const smoke: Profile = {
  name: "smoke",
  loadMs: 62_000,
  minIds: 1_000_000,
  maxLoadMs: 80_000,
  killEveryMs: 10_000,
  behindOnKill: 0,
  schedule: cycle(0, true),
  lanes,
  secondDatacenter: false
}

export const full: Profile = {
  name: "full",
  loadMs: 480_000,
  minIds: 10_000_000,
  maxLoadMs: 540_000,
  killEveryMs: 10_000,
  behindOnKill: 1,
  schedule: Array.from({ length: 8 }, (_, i) => cycle(i * 58_000, i === 0)).flat(),
  lanes,
  // The fourth node, in datacenter 1: its segment range and snowflake bits are its own.
  secondDatacenter: true
}

export const profiles: Readonly<Record<string, Profile>> = { smoke, full }
