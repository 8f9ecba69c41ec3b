/**
 * Which biz_tags of this node get an L1 ring, and how big — within a global memory budget.
 *
 * Policy: a biz_tag gets a ring once its observed rate on this node reaches
 * `segment.l1_hot_ids_per_second` (0: every biz_tag, as soon as its actor starts); a ring
 * has `segment.l1_capacity` slots of 8 bytes, and the sum over all rings stays within
 * `segment.l1_memory_budget_bytes`. When the budget cannot hold a full ring, a new ring
 * gets what is left if that is at least `minRingSlots` (or the configured capacity, if
 * smaller), else no ring: the biz_tag then takes straight from L2, which is correct, only
 * without the pre-generated slots. A ring's memory returns to the budget when its
 * biz_tag is released for idleness.
 */
import type { ServerConfigShape } from "../config/ServerConfig.ts"
import type { RingShape } from "./SegmentActor.ts"

export const slotBytes = Float64Array.BYTES_PER_ELEMENT
/** Smaller rings are not worth their refill wake-ups. */
export const minRingSlots = 64

export type L1Settings = ServerConfigShape["segment"]["l1"]

/** Watermarks as slot counts, `low ≤ high` even when configured the other way round. */
export const shapeOf = (capacity: number, settings: L1Settings): RingShape => {
  const high = Math.min(capacity, Math.max(1, Math.floor(capacity * settings.highWatermark)))
  return { capacity, high, low: Math.min(high, Math.floor(capacity * settings.lowWatermark)) }
}

export class RingBudget {
  private used = 0

  /** The shape of a new ring (its slots now count against the budget), or undefined for none. */
  grant(settings: L1Settings): RingShape | undefined {
    if (settings.capacity === 0) return undefined
    const affordable = Math.floor((settings.memoryBudgetBytes - this.used) / slotBytes)
    const slots = Math.min(settings.capacity, affordable)
    if (slots < Math.min(minRingSlots, settings.capacity)) return undefined
    this.used += slots * slotBytes
    return shapeOf(slots, settings)
  }

  release(capacity: number): void {
    this.used -= capacity * slotBytes
  }

  get usedBytes(): number {
    return this.used
  }
}

/** How often the generator looks for idle and hot biz_tags. */
export const sweepIntervalMillis = (idleReleaseMillis: number): number =>
  idleReleaseMillis > 0 ? Math.max(10, Math.min(1000, Math.floor(idleReleaseMillis / 4))) : 1000
