import { DatacenterRange } from "@idgen/core"
import { Schema } from "effect"
import { IntBetween, NonNegativeInt, PositiveInt, Ratio } from "../SchemaHelpers.ts"
import * as Section from "../Section.ts"
import * as Setting from "../Setting.ts"

/** Numbers every pointer skips after a database failover unless configured (`storage/StorageFence.ts`). */
export const DEFAULT_FAILOVER_SAFETY_GAP = 1_000_000_000

export const section = Section.make("segment", {
  rangeSize: Setting.make("range_size", DatacenterRange.RangeSize, {
    default: DatacenterRange.DEFAULT_RANGE_SIZE,
    doc: "R: datacenter d owns [d·R + 1, (d+1)·R]; pinned for the cluster at first start (idgen cluster pin)"
  }),
  failoverSafetyGap: Setting.make("failover_safety_gap", IntBetween(0, DatacenterRange.MAX_RANGE_SIZE), {
    default: DEFAULT_FAILOVER_SAFETY_GAP,
    doc: "Numbers every segment pointer skips when the database changed incarnation (promoted standby, restore); at least what all nodes allocate per biz_tag and datacenter within the replication lag (see PostgreSQL failover)"
  }),
  defaultStep: Setting.make("default_step", PositiveInt, { default: 1000, live: true, doc: "Base step of new biz_tags" }),
  preloadThreshold: Setting.make(
    "preload_threshold",
    Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMinimum: true, exclusiveMaximum: true })),
    {
      default: 0.1,
      live: true,
      doc: "Fraction of a segment consumed that starts loading the next (applies to biz_tags started after a change)"
    }
  ),
  targetSegmentSeconds: Setting.make("target_segment_seconds", PositiveInt, {
    default: 300,
    live: true,
    doc: "A segment should last about this long at the observed rate"
  }),
  maxStep: Setting.make("max_step", PositiveInt, { default: 10_000_000, live: true, doc: "Upper bound of the dynamic step; a biz_tag's step above it is refused (400)" }),
  takeTimeoutMillis: Setting.make("take_timeout_ms", IntBetween(1, 60_000), {
    default: 3000,
    live: true,
    doc: "A take that finds L1 and L2 empty waits at most this long for a refill, then IDGEN-SEG-1003 (storage did not answer in time), or IDGEN-SEG-1002 when the last load failed for another reason"
  }),
  idleReleaseMillis: Setting.make("idle_release_ms", IntBetween(0, 86_400_000), {
    default: 600_000,
    live: true,
    doc: "A biz_tag unused this long on this node releases its ring and actor (buffered numbers become gaps); 0 = never"
  }),
  /** The L1 ring of hot biz_tags (`segment/L1Rings.ts`). */
  l1: Setting.prefixed("l1_", {
    capacity: Setting.make("capacity", IntBetween(0, 16_777_216), {
      default: 4096,
      live: true,
      doc: "Slots of a hot biz_tag's L1 ring (8 bytes each); 0 turns L1 off"
    }),
    lowWatermark: Setting.make("low_watermark", Ratio, {
      default: 0.25,
      live: true,
      doc: "Fraction of the ring below which it is refilled from L2"
    }),
    highWatermark: Setting.make("high_watermark", Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMinimum: true })), {
      default: 1,
      live: true,
      doc: "Fraction of the ring a refill fills up to"
    }),
    hotIdsPerSecond: Setting.make("hot_ids_per_second", NonNegativeInt, {
      default: 1000,
      live: true,
      doc: "A biz_tag taking at least this many IDs/s on this node gets a ring; 0 = every biz_tag at its first use"
    }),
    memoryBudgetBytes: Setting.make("memory_budget_bytes", NonNegativeInt, {
      default: 16 * 1024 * 1024,
      live: true,
      doc: "Bound on all rings together; past it new rings get what is left (≥ 64 slots) or none (takes go straight to L2)"
    })
  }),
  /** The Redis segment pool shared by the nodes (`RedisSegmentPool.ts`); used only with `redis.url`. */
  pool: Setting.prefixed("pool_", {
    enabled: Setting.make("enabled", Schema.Boolean, {
      default: true,
      doc: "With `redis.url`: take segments from the pool shared in Redis (one pop) instead of the database"
    }),
    segmentSize: Setting.make("segment_size", PositiveInt, {
      default: 100_000,
      doc: "Numbers per pool segment (replaces the dynamic step while the pool serves)"
    }),
    segmentsPerRefill: Setting.make("segments_per_refill", IntBetween(1, 1000), {
      default: 20,
      doc: "Pool segments one refill allocates from the database as one range"
    }),
    lowMark: Setting.make("low_mark", IntBetween(0, 1000), {
      default: 5,
      doc: "A pop leaving fewer segments than this in the pool starts a refill"
    })
  })
})
