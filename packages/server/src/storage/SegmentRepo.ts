/**
 * The segment distributor: hands out disjoint number ranges per (biz_tag, datacenter).
 * PostgreSQL is the authority; one allocation is one transaction.
 */
import type { DatacenterRange, Errors } from "@idgen/core"
import { Context, type Effect, type Option } from "effect"
import type { AllocatedSegment } from "./Records.ts"

export interface AllocateInput {
  readonly bizTagId: string
  readonly datacenterId: number
  readonly step: number
  /** Recorded in the audit row. */
  readonly node: string
}

export class SegmentRepo extends Context.Service<SegmentRepo, {
  /**
   * Advances the (biz_tag, datacenter) row by `step` and returns the new range.
   * Creates the row at the datacenter's range start on first use. Returns a shorter range
   * when fewer than `step` numbers remain; fails with SegmentExhausted when none remain.
   * SegmentAllocateFailed: invalid input (step not a positive integer, datacenter outside
   * 0–7, malformed id) or a biz_tag id that does not exist. The range is committed (and
   * audited in `segment_allocations`) before this returns.
   */
  allocate(
    input: AllocateInput
  ): Effect.Effect<AllocatedSegment, Errors.SegmentExhausted | Errors.DatabaseUnavailable | Errors.SegmentAllocateFailed>
  /** Numbers not yet handed out in the datacenter's range (the whole range before its first allocation). */
  remaining(bizTagId: string, datacenterId: number): Effect.Effect<number, Errors.DatabaseUnavailable>
  /**
   * The range the (biz_tag, datacenter) row was created with — kept for good, whatever R is
   * pinned later — or none before its first allocation.
   */
  rowRange(bizTagId: string, datacenterId: number): Effect.Effect<Option.Option<DatacenterRange.Range>, Errors.DatabaseUnavailable>
}>()("@idgen/server/storage/SegmentRepo") {}
