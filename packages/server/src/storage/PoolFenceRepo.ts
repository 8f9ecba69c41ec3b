/**
 * The fence of the Redis segment pool: per (biz_tag, datacenter), how far the pool's
 * segments are consumed. A node uses a segment it popped from Redis only after claiming it
 * here, so whatever Redis hands out again (a restored dump, a failover and back), a pool
 * segment is used at most once. PostgreSQL is the authority, as for allocations.
 */
import type { Errors } from "@idgen/core"
import { Context, type Effect } from "effect"
import type { AllocatedSegment } from "./Records.ts"

export interface ClaimInput {
  readonly bizTagId: string
  readonly datacenterId: number
  readonly segment: AllocatedSegment
}

export interface Claim {
  /** The segment is this caller's to use: the fence moved from below its start to its end. */
  readonly claimed: boolean
  /** The fence after the call: nothing at or below it may be claimed any more. */
  readonly consumedTo: number
}

export class PoolFenceRepo extends Context.Service<PoolFenceRepo, {
  /**
   * Moves the fence to `segment.end` if it is below `segment.start` (one conditional
   * single-row write); otherwise refuses: the segment was used already, or a later one
   * was claimed first — either way it must stay unused (a gap). The fence only moves up,
   * so claimed segments never overlap, whatever Redis returns. SegmentAllocateFailed when
   * the biz_tag id no longer exists (created again since: the segment is the old one's).
   */
  claim(input: ClaimInput): Effect.Effect<Claim, Errors.DatabaseUnavailable | Errors.SegmentAllocateFailed>
}>()("@idgen/server/storage/PoolFenceRepo") {}
