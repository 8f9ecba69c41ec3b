/**
 * The database's durability as metrics: whether commits wait for a synchronous standby
 * (`storage/ReplicationMode.ts`, refreshed in the background) and how often the segment
 * pointers were fenced after the database changed incarnation (`storage/StorageFence.ts`).
 * Not published on the embedded store, which has no replication.
 */
import { Metric } from "effect"

export const synchronousReplication = Metric.gauge("idgen_storage_synchronous_replication", {
  description: "1 when this node's commits wait for a synchronous standby (synchronous_standby_names set and " +
    "synchronous_commit on, remote_write or remote_apply), 0 when a failover can lose the last commits"
})

export const standbys = Metric.gauge("idgen_storage_standbys", {
  description: "Standbys streaming from the database this node writes to (pg_stat_replication)"
})

export const fences = Metric.counter("idgen_storage_fences_total", {
  description: "Times this node moved every segment pointer past a safety gap because the database changed " +
    "incarnation (system identifier or timeline: a promoted standby, a restore)",
  incremental: true
})
