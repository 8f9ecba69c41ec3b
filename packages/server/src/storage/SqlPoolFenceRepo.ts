/**
 * `PoolFenceRepo` on PostgreSQL (or the embedded store): one `segment_pool_fences` row per
 * (biz_tag, datacenter). A claim is one upsert whose update applies only while
 * `consumed_to < start`; the row lock serialises concurrent claims, so of two claims of the
 * same segment exactly one sees the old fence.
 */
import { Errors } from "@idgen/core"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { type ClaimInput, PoolFenceRepo } from "./PoolFenceRepo.ts"
import { isForeignKeyViolation, orDatabaseUnavailable } from "./SqlFailure.ts"

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  const claim = Effect.fn("PoolFenceRepo.claim")(
    function*({ bizTagId, datacenterId, segment }: ClaimInput) {
      const moved = yield* sql`
        INSERT INTO segment_pool_fences AS f (biz_tag_id, datacenter_id, consumed_to)
        VALUES (${bizTagId}::uuid, ${datacenterId}, ${BigInt(segment.end)})
        ON CONFLICT (biz_tag_id, datacenter_id) DO UPDATE SET consumed_to = EXCLUDED.consumed_to
        WHERE f.consumed_to < ${BigInt(segment.start)}
        RETURNING 1`.pipe(
        Effect.catchIf(isForeignKeyViolation, () =>
          Effect.fail(
            new Errors.SegmentAllocateFailed({
              message: "unknown biz_tag",
              details: { biz_tag_id: bizTagId, datacenter_id: datacenterId }
            })
          ))
      )
      if (moved.length === 1) return { claimed: true, consumedTo: segment.end }
      // Refused (rare): read the fence, so the caller skips every entry at or below it at once.
      const rows = yield* sql<{ readonly consumed_to: bigint }>`
        SELECT consumed_to FROM segment_pool_fences
        WHERE biz_tag_id = ${bizTagId}::uuid AND datacenter_id = ${datacenterId}`
      return { claimed: false, consumedTo: Number(rows[0]?.consumed_to ?? segment.end) }
    },
    orDatabaseUnavailable("PoolFenceRepo.claim")
  )

  return PoolFenceRepo.of({ claim })
})

export const layer: Layer.Layer<PoolFenceRepo, never, SqlClient.SqlClient> = Layer.effect(PoolFenceRepo, make)
