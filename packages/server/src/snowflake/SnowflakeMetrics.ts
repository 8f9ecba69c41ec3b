/**
 * The snowflake side's metrics, served on `/metrics`: which worker id is held and for how
 * long its lease (or heartbeat) has gone unconfirmed, the reserved timestamp ceiling, clock drift and
 * what the generator did about it (waits, logical clock, refusals).
 *
 * Counters are pushed where things happen (`updateUnsafe`, the generator's hot path is
 * synchronous). Values that live in the services' own state — drift, lease age, queue
 * length — are gauges read at scrape time (`ScrapeTime.gauge`), so nothing is paid per ID.
 */
import type { Clock } from "effect"
import { Effect, Metric, type Scope } from "effect"
import * as ScrapeTime from "../observability/ScrapeTime.ts"

export const workerId = Metric.gauge("idgen_snowflake_worker_id", {
  description: "Worker id this node issues snowflake IDs with; -1 while it holds none"
})
export const workerHeld = Metric.gauge("idgen_snowflake_worker_id_held", {
  description: "1 while this node may issue snowflake IDs (worker id held, lease confirmed), else 0"
})
export const leaseAge = Metric.gauge("idgen_snowflake_lease_age_seconds", {
  description: "Seconds since the send time of the last confirmed keep-alive of the worker lease (etcd) or heartbeat of the static worker id"
})
export const ceilingAhead = Metric.gauge("idgen_snowflake_ceiling_ahead_seconds", {
  description: "How far the reserved timestamp ceiling is ahead of the clock"
})
export const ceilingWait = Metric.gauge("idgen_snowflake_ceiling_wait_seconds", {
  description: "How far the clock is behind the timestamp ceiling recorded by the worker id's previous holders while this node waits for it (0 when not waiting)"
})
export const acquisitions = Metric.counter("idgen_snowflake_worker_acquisitions_total", {
  description: "Worker ids acquired (leased from etcd, or the static id taken hold of in storage)",
  incremental: true
})
export const leasesLost = Metric.counter("idgen_snowflake_leases_lost_total", {
  description: "Worker leases found expired, revoked or taken over; static worker ids taken over by another node",
  incremental: true
})
export const fenced = Metric.counter("idgen_snowflake_fenced_total", {
  description: "Times issuing stopped because the lease was not confirmed within ttl - fencing margin, or the static id's reservation ran out with storage unreachable",
  incremental: true
})

export const clockDrift = Metric.gauge("idgen_snowflake_clock_drift_seconds", {
  description: "How far the clock is behind the last issued snowflake timestamp now (0 when it is not)"
})
export const driftObserved = Metric.histogram("idgen_snowflake_clock_drift_observed_seconds", {
  description: "Backward clock drift seen by issuing requests",
  boundaries: [0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 60]
})
const backward = (tier: "wait" | "logical" | "refused") =>
  Metric.counter("idgen_snowflake_clock_backward_total", {
    description: "Issuing requests that found the clock behind the last issued timestamp, by how they were handled",
    incremental: true,
    attributes: { tier }
  })
export const backwardWait = backward("wait")
export const backwardLogical = backward("logical")
export const backwardRefused = backward("refused")

const waits = (reason: "sequence_exhausted" | "clock_behind") =>
  Metric.counter("idgen_snowflake_waits_total", {
    description: "Waits of issuing requests in the clock catcher's queue, by reason",
    incremental: true,
    attributes: { reason }
  })
export const waitSequence = waits("sequence_exhausted")
export const waitClock = waits("clock_behind")
export const waitQueue = Metric.gauge("idgen_snowflake_wait_queue", {
  description: "Issuing requests waiting for the clock right now"
})
export const logicalIds = Metric.counter("idgen_snowflake_logical_ids_total", {
  description: "Snowflake IDs issued on the logical clock (wall clock moderately behind)",
  incremental: true
})
export const sequenceOverflows = Metric.counter("idgen_snowflake_sequence_overflows_total", {
  description: "Requests refused with IDGEN-SNOW-2002 (no sequence within the wait limit)",
  incremental: true
})

/**
 * The gauges of a held worker id, read from its holder's state: seconds since the last
 * confirmation (monotonic; -1 before the first) and how far the reserved ceiling is ahead.
 */
export const holdGauges = (
  clock: Clock.Clock,
  state: { readonly confirmedAtNs: () => bigint | undefined; readonly ceilingMs: () => number | undefined }
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.andThen(
    ScrapeTime.gauge(leaseAge, () => {
      const confirmedAtNs = state.confirmedAtNs()
      return confirmedAtNs === undefined ? -1 : Number((clock.monotonicTimeNanosUnsafe() - confirmedAtNs) / 1_000_000n) / 1000
    }),
    ScrapeTime.gauge(ceilingAhead, () => {
      const ceilingMs = state.ceilingMs()
      return ceilingMs === undefined ? 0 : (ceilingMs - clock.currentTimeMillisUnsafe()) / 1000
    })
  )
