/**
 * Where the next segment of a biz_tag comes from, for this node's datacenter: straight from
 * the database (`layerLocal`: one `SegmentRepo.allocate` per segment), or — with Redis
 * configured (`layerRedis`) and `segment.pool_enabled` — from the segment pool the nodes share in Redis
 * (`RedisSegmentPool.ts`), which falls back to the direct path whenever Redis cannot answer;
 * each pooled segment is claimed against the fence in PostgreSQL (`PoolFenceRepo`) first.
 */
import { Context, Effect, Layer } from "effect"
import { ServerConfig } from "../config/ServerConfig.ts"
import { RedisClient } from "../redis/RedisClient.ts"
import { PoolFenceRepo } from "../storage/PoolFenceRepo.ts"
import type { AllocatedSegment, BizTagRecord } from "../storage/Records.ts"
import { SegmentRepo } from "../storage/SegmentRepo.ts"
import * as RedisSegmentPool from "./RedisSegmentPool.ts"
import type { LoadError } from "./SegmentActor.ts"

export interface SegmentSupplyShape {
  /**
   * The next segment of `tag` for this node. `step` is the size the actor asks for (its
   * dynamic step); a pool segment has the pool's size instead. Called by the tag's load,
   * one at a time on a node (a released actor's load ends before its successor's starts),
   * so calls for one tag never overlap on a node.
   */
  next(tag: BizTagRecord, step: number): Effect.Effect<AllocatedSegment, LoadError>
  /** The biz_tag incarnation `tagId` is gone: whatever is kept for it goes (never fails). */
  retire(tagId: string): Effect.Effect<void>
}

export class SegmentSupply extends Context.Service<SegmentSupply, SegmentSupplyShape>()(
  "@idgen/server/segment/SegmentSupply"
) {
  /** Every segment is one database allocation. */
  static readonly layerLocal: Layer.Layer<SegmentSupply, never, SegmentRepo | ServerConfig> = Layer.effect(
    SegmentSupply,
    Effect.gen(function*() {
      return SegmentSupply.of({ next: yield* directAllocator, retire: () => Effect.void })
    })
  )

  /** The Redis pool when it is enabled (`segment.pool_enabled`), else as `layerLocal`. */
  static readonly layerRedis: Layer.Layer<SegmentSupply, never, SegmentRepo | PoolFenceRepo | ServerConfig | RedisClient> = Layer.effect(
    SegmentSupply,
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const redis = yield* RedisClient
      const direct = yield* directAllocator
      if (!config.segment.pool.enabled) return SegmentSupply.of({ next: direct, retire: () => Effect.void })
      return SegmentSupply.of(
        yield* RedisSegmentPool.make({
          connection: redis,
          repo: yield* SegmentRepo,
          fence: yield* PoolFenceRepo,
          direct,
          datacenterId: config.node.datacenterId,
          node: config.node.name,
          ...config.segment.pool
        })
      )
    })
  )
}

/** `SegmentRepo.allocate` of `step` numbers for this node's datacenter. */
const directAllocator = Effect.gen(function*() {
  const repo = yield* SegmentRepo
  const config = yield* ServerConfig
  return (tag: BizTagRecord, step: number): Effect.Effect<AllocatedSegment, LoadError> =>
    repo.allocate({ bizTagId: tag.id, datacenterId: config.node.datacenterId, step, node: config.node.name })
})
