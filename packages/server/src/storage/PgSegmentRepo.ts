/**
 * `SegmentRepo` on PostgreSQL (or the embedded store).
 *
 * One allocation is one transaction:
 * 1. make sure the (biz_tag, datacenter) row exists — `INSERT … ON CONFLICT DO NOTHING` at
 *    `max_id = range_start - 1`, datacenter d owning `[d*R + 1, (d+1)*R]`;
 * 2. advance it: `UPDATE … SET max_id = LEAST(max_id + step, range_end) … WHERE max_id < range_end`,
 *    reading the old bound from the same row locked `FOR UPDATE`, and write the audit row in
 *    the same statement;
 * 3. no row advanced → `SegmentExhausted`.
 * The row lock serialises concurrent allocators (fibers, pools, processes, nodes), and the
 * commit makes the range durable before anyone can hand out a number from it.
 *
 * On an external PostgreSQL the transaction first checks the database's incarnation
 * (`StorageFence`): after a failover no range is answered until every pointer has been
 * moved past what the old primary may have handed out; new rows then start that far in.
 *
 * A row keeps the range it was created with. R is pinned for the cluster (`PinnedSettings`,
 * changed only by `idgen cluster pin`), and the database refuses a new row that does not
 * match the pinned R or overlaps another datacenter's row of the biz_tag (migration 0005).
 */
import { DatacenterRange, Errors, Snowflake } from "@idgen/core"
import { Effect, Layer, Option, Result } from "effect"
import { SqlClient } from "effect/sql"
import { ServerConfig } from "../config/ServerConfig.ts"
import type { AllocatedSegment } from "./Records.ts"
import { type AllocateInput, SegmentRepo } from "./SegmentRepo.ts"
import { isForeignKeyViolation, orDatabaseUnavailable } from "./SqlFailure.ts"
import * as StorageFence from "./StorageFence.ts"

export interface PgSegmentRepoOptions {
  /** R: datacenter d owns [d*R + 1, (d+1)*R]. */
  readonly rangeSize: number
  /**
   * The timeline fence's safety gap (`StorageFence`); unset on the embedded store, which has
   * no replication and is not fenced.
   */
  readonly failoverSafetyGap?: number | undefined
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const invalid = (message: string, details: Record<string, unknown>) =>
  new Errors.SegmentAllocateFailed({ message, details })

export const make = Effect.fnUntraced(function*(options: PgSegmentRepoOptions) {
  const R = options.rangeSize
  if (Result.isFailure(DatacenterRange.validateRangeSize(R))) {
    return yield* Effect.die(new Error(`segment.rangeSize must be an integer in 1..${DatacenterRange.MAX_RANGE_SIZE}, got ${R}`))
  }
  const sql = yield* SqlClient.SqlClient
  const fence = options.failoverSafetyGap === undefined
    ? StorageFence.unfenced
    : StorageFence.make(sql, options.failoverSafetyGap)

  const rangeOf = (datacenterId: number) => DatacenterRange.rangeAt(datacenterId, R)

  const validate = (bizTagId: string, datacenterId: number) => {
    if (!UUID.test(bizTagId)) {
      return Effect.fail(invalid("invalid biz_tag id", { biz_tag_id: bizTagId }))
    }
    if (Result.isFailure(DatacenterRange.validateDatacenterId(datacenterId))) {
      return Effect.fail(invalid(`datacenter_id must be 0..${Snowflake.MAX_DATACENTER_ID}`, { datacenter_id: datacenterId }))
    }
    return Effect.void
  }

  const allocate = Effect.fn("SegmentRepo.allocate")(
    function*(input: AllocateInput) {
      const { bizTagId, datacenterId, node, step } = input
      yield* validate(bizTagId, datacenterId)
      if (!Number.isSafeInteger(step) || step < 1) {
        return yield* invalid("step must be a positive integer", { biz_tag_id: bizTagId, step })
      }
      const range = rangeOf(datacenterId)

      const transaction = Effect.gen(function*() {
        const checked = yield* fence.check(node)
        const firstMax = Math.min(range.start - 1 + checked.newRowOffset, range.end)
        yield* sql`
          INSERT INTO segments (biz_tag_id, datacenter_id, range_start, range_end, max_id, step)
          VALUES (${bizTagId}::uuid, ${datacenterId}, ${BigInt(range.start)}, ${BigInt(range.end)},
                  ${BigInt(firstMax)}, ${BigInt(step)})
          ON CONFLICT (biz_tag_id, datacenter_id) DO NOTHING`.pipe(
          Effect.catchIf(isForeignKeyViolation, () =>
            Effect.fail(invalid("unknown biz_tag", { biz_tag_id: bizTagId, datacenter_id: datacenterId })))
        )
        const rows = yield* sql<{ readonly start_id: bigint; readonly end_id: bigint }>`
          WITH old AS (
            SELECT max_id FROM segments
            WHERE biz_tag_id = ${bizTagId}::uuid AND datacenter_id = ${datacenterId}
            FOR UPDATE
          ), advanced AS (
            UPDATE segments AS s
            SET max_id = LEAST(s.max_id + ${BigInt(step)}, s.range_end), step = ${BigInt(step)}, updated_at = now()
            FROM old
            WHERE s.biz_tag_id = ${bizTagId}::uuid AND s.datacenter_id = ${datacenterId} AND s.max_id < s.range_end
            RETURNING old.max_id + 1 AS start_id, s.max_id AS end_id
          ), audit AS (
            INSERT INTO segment_allocations (biz_tag_id, datacenter_id, start_id, end_id, step, node)
            SELECT ${bizTagId}::uuid, ${datacenterId}, start_id, end_id, ${BigInt(step)}, ${node} FROM advanced
          )
          SELECT start_id, end_id FROM advanced`
        const row = rows[0]
        if (row === undefined) {
          const current = yield* sql<{ readonly max_id: bigint }>`
            SELECT max_id FROM segments WHERE biz_tag_id = ${bizTagId}::uuid AND datacenter_id = ${datacenterId}`
          const exhausted = current[0]
          // The row moved to a new id under us: the biz_tag was created again (`SqlBizTagRepo`).
          if (exhausted === undefined) return yield* invalid("unknown biz_tag", { biz_tag_id: bizTagId, datacenter_id: datacenterId })
          return yield* new Errors.SegmentExhausted({
            message: `datacenter ${datacenterId} has no numbers left for this biz_tag`,
            // The row id: the request pipeline adds the names clients know (`SegmentGenerator`).
            details: {
              biz_tag_id: bizTagId,
              datacenter_id: datacenterId,
              max_id: String(exhausted.max_id),
              range_end: String(range.end)
            }
          })
        }
        return { checked, segment: { start: Number(row.start_id), end: Number(row.end_id) } satisfies AllocatedSegment }
      })
      const { checked, segment } = yield* sql.withTransaction(transaction)
      yield* fence.committed(checked, { bizTagId, datacenterId, rangeStart: range.start, rangeEnd: range.end, step, end: segment.end })
      return segment
    },
    orDatabaseUnavailable("SegmentRepo.allocate")
  )

  const remaining = Effect.fn("SegmentRepo.remaining")(
    function*(bizTagId: string, datacenterId: number) {
      const range = rangeOf(datacenterId)
      if (!UUID.test(bizTagId)) return range.end - range.start + 1
      const rows = yield* sql<{ readonly remaining: bigint }>`
        SELECT range_end - max_id AS remaining FROM segments
        WHERE biz_tag_id = ${bizTagId}::uuid AND datacenter_id = ${datacenterId}`
      const row = rows[0]
      return row === undefined ? range.end - range.start + 1 : Number(row.remaining)
    },
    orDatabaseUnavailable("SegmentRepo.remaining")
  )

  const rowRange = Effect.fn("SegmentRepo.rowRange")(
    function*(bizTagId: string, datacenterId: number) {
      if (!UUID.test(bizTagId)) return Option.none()
      const rows = yield* sql<{ readonly range_start: bigint; readonly range_end: bigint }>`
        SELECT range_start, range_end FROM segments
        WHERE biz_tag_id = ${bizTagId}::uuid AND datacenter_id = ${datacenterId}`
      return Option.map(Option.fromNullishOr(rows[0]), (row) => ({ start: Number(row.range_start), end: Number(row.range_end) }))
    },
    orDatabaseUnavailable("SegmentRepo.rowRange")
  )

  return SegmentRepo.of({ allocate, remaining, rowRange })
})

/** `SegmentRepo` with an explicit range size (tests, tools). Requires `SqlClient`. */
export const layerWith = (options: PgSegmentRepoOptions): Layer.Layer<SegmentRepo, never, SqlClient.SqlClient> =>
  Layer.effect(SegmentRepo, make(options))

/**
 * `SegmentRepo` with `segment.rangeSize` and `segment.failoverSafetyGap` from the configuration,
 * fenced on an external database. Requires `SqlClient` and `ServerConfig`.
 */
export const layer: Layer.Layer<SegmentRepo, never, SqlClient.SqlClient | ServerConfig> = Layer.effect(
  SegmentRepo,
  Effect.gen(function*() {
    const config = yield* ServerConfig
    return yield* make({
      rangeSize: config.segment.rangeSize,
      failoverSafetyGap: config.database.url === undefined ? undefined : config.segment.failoverSafetyGap
    })
  })
)
