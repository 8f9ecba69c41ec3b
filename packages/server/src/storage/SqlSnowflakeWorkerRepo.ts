/**
 * `SnowflakeWorkerRepo` on PostgreSQL (or the embedded store): the `snowflake_workers` row
 * of a (datacenter, worker). Acquiring is one transaction that creates the row if needed
 * and locks it, so of two nodes starting at once exactly one becomes the holder. Heartbeat
 * ages are measured on the database's clock: the nodes' own clocks may be stepped.
 */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { type AcquireInput, SnowflakeWorkerRepo, type WorkerSlot } from "./SnowflakeWorkerRepo.ts"
import { orDatabaseUnavailable } from "./SqlFailure.ts"

interface Row {
  readonly holder: string | null
  readonly heartbeat_age_ms: bigint
  readonly ceiling_ms: bigint
}

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  const acquire = Effect.fn("SnowflakeWorkerRepo.acquire")(
    function*({ datacenterId, holder, replaceAny, replaceHolder, staleAfterMs, workerId }: AcquireInput) {
      return yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`
          INSERT INTO snowflake_workers (datacenter_id, worker_id, holder, ceiling_ms)
          VALUES (${datacenterId}, ${workerId}, NULL, -1)
          ON CONFLICT (datacenter_id, worker_id) DO NOTHING`
        const rows = yield* sql<Row>`
          SELECT holder, ceiling_ms,
                 floor(extract(epoch FROM clock_timestamp() - heartbeat_at) * 1000)::bigint AS heartbeat_age_ms
          FROM snowflake_workers
          WHERE datacenter_id = ${datacenterId} AND worker_id = ${workerId}
          FOR UPDATE`
        const row = rows[0]!
        const heartbeatAgeMs = Number(row.heartbeat_age_ms)
        const other = row.holder !== null && row.holder !== holder ? row.holder : undefined
        if (other !== undefined && !replaceAny && other !== replaceHolder && heartbeatAgeMs <= staleAfterMs) {
          return { _tag: "HeldByOther", holder: other, heartbeatAgeMs } as const
        }
        yield* sql`
          UPDATE snowflake_workers SET holder = ${holder}, heartbeat_at = clock_timestamp()
          WHERE datacenter_id = ${datacenterId} AND worker_id = ${workerId}`
        return {
          _tag: "Acquired",
          ceilingMs: Number(row.ceiling_ms),
          replaced: other === undefined ? undefined : { holder: other, heartbeatAgeMs }
        } as const
      }))
    },
    orDatabaseUnavailable("SnowflakeWorkerRepo.acquire")
  )

  const renew = Effect.fn("SnowflakeWorkerRepo.renew")(
    function*({ datacenterId, workerId }: WorkerSlot, holder: string, ceilingMs: number) {
      const rows = yield* sql<{ readonly ceiling_ms: bigint }>`
        UPDATE snowflake_workers
        SET heartbeat_at = clock_timestamp(), ceiling_ms = GREATEST(ceiling_ms, ${BigInt(ceilingMs)})
        WHERE datacenter_id = ${datacenterId} AND worker_id = ${workerId} AND holder = ${holder}
        RETURNING ceiling_ms`
      return rows[0] === undefined ? undefined : Number(rows[0].ceiling_ms)
    },
    orDatabaseUnavailable("SnowflakeWorkerRepo.renew")
  )

  const release = Effect.fn("SnowflakeWorkerRepo.release")(
    function*({ datacenterId, workerId }: WorkerSlot, holder: string, finalCeilingMs: number | undefined) {
      const final = finalCeilingMs === undefined ? null : BigInt(finalCeilingMs)
      const rows = yield* sql`
        UPDATE snowflake_workers
        SET holder = NULL, heartbeat_at = clock_timestamp(), ceiling_ms = COALESCE(${final}::bigint, ceiling_ms)
        WHERE datacenter_id = ${datacenterId} AND worker_id = ${workerId} AND holder = ${holder}
        RETURNING 1`
      return rows.length === 1
    },
    orDatabaseUnavailable("SnowflakeWorkerRepo.release")
  )

  return SnowflakeWorkerRepo.of({ acquire, renew, release })
})

export const layer: Layer.Layer<SnowflakeWorkerRepo, never, SqlClient.SqlClient> = Layer.effect(SnowflakeWorkerRepo, make)
