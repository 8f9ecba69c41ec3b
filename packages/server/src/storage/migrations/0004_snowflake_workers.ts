/**
 * Static snowflake worker ids (`node.worker_id`, no etcd): one row per (datacenter,
 * worker) in the node's own storage, holding what a lease holds in etcd — who issues with
 * the id right now (`holder`, kept alive by `heartbeat_at`, database time) and the
 * timestamp ceiling reserved before any timestamp is used (`ceiling_ms`, -1: never used).
 * The ceiling outlives every holder, so a node restarted after kill -9 with its clock
 * behind starts above everything the id issued before (`StorageWorkerIdentity`).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`CREATE TABLE snowflake_workers (
    datacenter_id smallint NOT NULL CONSTRAINT snowflake_workers_datacenter_id_check CHECK (datacenter_id BETWEEN 0 AND 7),
    worker_id smallint NOT NULL CONSTRAINT snowflake_workers_worker_id_check CHECK (worker_id BETWEEN 0 AND 255),
    holder text,
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    ceiling_ms bigint NOT NULL CONSTRAINT snowflake_workers_ceiling_ms_check CHECK (ceiling_ms >= -1),
    CONSTRAINT snowflake_workers_pkey PRIMARY KEY (datacenter_id, worker_id)
  )`)
})
