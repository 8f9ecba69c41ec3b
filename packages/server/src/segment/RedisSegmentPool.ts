/**
 * A pool of ready segments per (biz_tag, datacenter) shared by the nodes in Redis: a node
 * takes its next segment with one atomic pop instead of an allocation. Whichever node sees
 * the pool run low refills it — one database allocation of `segmentsPerRefill × segmentSize`
 * numbers, split into that many segments and pushed — so the database sees one allocation
 * per `segmentsPerRefill` segments cluster-wide.
 *
 * Why this never issues a number twice (PostgreSQL stays the authority, Redis is trusted
 * with nothing):
 * - Every entry is a range PostgreSQL allocated exactly once (one committed, audited
 *   transaction, never handed to anyone else), split into disjoint pieces pushed in
 *   increasing order.
 * - Redis may hand an entry out again: a `DUMP`/`RESTORE` of the key, a restart from an
 *   older snapshot, a failover to a replica that had not seen the pop (and back). So a
 *   popped entry is used only after it is claimed in PostgreSQL (`PoolFenceRepo`): one
 *   conditional single-row write that moves the biz_tag's `consumed_to` fence from below
 *   the entry's start to its end. The fence only moves up, so claimed entries never
 *   overlap, whatever Redis returns; an entry the fence refuses (used already, or a later
 *   one was claimed first) is dropped — a gap — and the node pops again, skipping
 *   everything at or below the fence it was told.
 * - A claim that fails (database unreachable) puts the entry back at the head of the list,
 *   where the fence judges it again for whoever pops it next. So the pool serves only
 *   while PostgreSQL answers: without it no entry can be proven unused.
 * - Losing entries (FLUSHALL, a crash without persistence, a push or pop reply lost to a
 *   timeout) loses numbers: gaps, never duplicates.
 * - The key carries the biz_tag id and the datacenter, so entries never cross either.
 * - A node refuses a segment that is not above the last one it installed (its double
 *   buffer would reject it as a Reversal): the pop script drops entries starting at or
 *   below `floor` (gaps) and returns the first one above it. That happens after this node
 *   fell back to a direct allocation, which lands above every pool entry allocated before.
 *
 * Availability never depends on Redis: while it is down or slow (the connection's short
 * command timeout), after a failed call (for `backoffMillis`), or when the pool stays empty
 * for `refillWaitMillis` while a refill (of this node or, under the lock, another) is under
 * way, the segment comes straight from the database (`direct`, the actor's dynamic step).
 *
 * Refills: single-flight per pool on a node (`refilling`), and across nodes a short lock
 * (SET NX PX) so they do not all refill at once. A pop that leaves fewer than `lowMark`
 * entries starts a background refill; a pop that finds the pool empty refills in the
 * foreground and keeps the first segment of the new range for itself (one database trip,
 * like a direct allocation, but it refills the pool too; that segment never enters Redis,
 * so it needs no claim).
 *
 * Step: a pool segment always has `segmentSize` numbers, whatever step the actor asks for
 * (its dynamic step applies to direct allocations only); at high rates size the pool
 * segments so that one lasts at least a few seconds, since each one costs a Redis round
 * trip and a claim.
 */
import { Clock, Effect } from "effect"
import type { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import type { RedisConnection } from "../redis/RedisClient.ts"
import type { PoolFenceRepo } from "../storage/PoolFenceRepo.ts"
import type { AllocatedSegment, BizTagRecord } from "../storage/Records.ts"
import type { SegmentRepo } from "../storage/SegmentRepo.ts"
import type { LoadError } from "./SegmentActor.ts"
import * as SegmentPoolMetrics from "./SegmentPoolMetrics.ts"

/** How `SegmentSupply` gets a tag's next segment (this pool is one way, `direct` the other). */
type NextSegment = (tag: BizTagRecord, step: number) => Effect.Effect<AllocatedSegment, LoadError>

/** Pops the first entry above ARGV[1]: {start, end, left, dropped}; start '' when none. */
const popScript = `local above = tonumber(ARGV[1])
local dropped = 0
while true do
  local entry = redis.call('LPOP', KEYS[1])
  if not entry then return {'', '', 0, dropped} end
  local s, e = string.match(entry, '^(%d+):(%d+)$')
  if s and tonumber(s) > above then
    return {s, e, redis.call('LLEN', KEYS[1]), dropped}
  end
  dropped = dropped + 1
end
`

/** Deletes the lock only if it is still ours. */
const unlockScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

/** Held by a refilling node; outlasts a database allocation, so another node takes over only after a crash. */
const lockMillis = 5_000
/** After a failed Redis call, how long to allocate directly before trying Redis again. */
const backoffMillis = 1_000
/** An empty pool with a refill under way: how long to poll for it before allocating directly. */
const refillWaitMillis = 50
const refillPollMillis = 5

export interface PoolOptions {
  readonly connection: RedisConnection
  readonly repo: SegmentRepo["Service"]
  readonly fence: PoolFenceRepo["Service"]
  /** The database path: fallback, and what a miss costs. */
  readonly direct: NextSegment
  readonly datacenterId: number
  readonly node: string
  readonly segmentSize: number
  readonly segmentsPerRefill: number
  readonly lowMark: number
}

interface Pool {
  readonly key: string
  readonly lockKey: string
  /**
   * Entries at or below it are never taken: the end of the last segment handed to this
   * node's actor (a Reversal otherwise), or the fence PostgreSQL last reported.
   */
  floor: number
  refilling: boolean
  readonly metrics: SegmentPoolMetrics.PoolTagMetrics
}

/** Pool segments of `size` numbers covering `range`; the last may be shorter. */
export const split = (range: AllocatedSegment, size: number): Array<AllocatedSegment> => {
  const pieces: Array<AllocatedSegment> = []
  for (let start = range.start; start <= range.end; start += size) {
    pieces.push({ start, end: Math.min(start + size - 1, range.end) })
  }
  return pieces
}

/** A pool entry in Redis. */
const entryOf = (segment: AllocatedSegment) => `${segment.start}:${segment.end}`

/** The pool's Redis key of a biz_tag in a datacenter (one hash slot with its lock). */
export const poolKey = (bizTagId: string, datacenterId: number) => `idgen:segpool:{${bizTagId}:${datacenterId}}`

type Script<Args extends Array<string | number>, A> = (key: string, ...args: Args) => Promise<A>

const defineScript = <Args extends Array<string | number>, A>(client: Redis, name: string, lua: string) => {
  client.defineCommand(name, { numberOfKeys: 1, lua })
  return ((client as unknown as Record<string, Script<Args, A>>)[name]!).bind(client) as Script<Args, A>
}

export const make = Effect.fnUntraced(function*(options: PoolOptions) {
  const scope = yield* Effect.scope
  const metrics = yield* SegmentPoolMetrics.make
  const { client, isReady } = options.connection
  const pop = defineScript<[number], [string, string, number, number]>(client, "idgenSegmentPoolPop", popScript)
  const unlock = defineScript<[string], number>(client, "idgenSegmentPoolUnlock", unlockScript)
  const pools = new Map<string, Pool>()
  let downUntil = 0
  let down = false

  const poolOf = (tag: BizTagRecord): Pool => {
    let pool = pools.get(tag.id)
    if (pool === undefined) {
      const key = poolKey(tag.id, options.datacenterId)
      pool = { key, lockKey: `${key}:lock`, floor: 0, refilling: false, metrics: metrics.track(tag) }
      pools.set(tag.id, pool)
    }
    return pool
  }

  /** A Redis call, or `undefined` when it failed (then Redis is left alone for `backoffMillis`). */
  const call = <A>(f: () => Promise<A>): Effect.Effect<A | undefined> =>
    Effect.tryPromise(f).pipe(
      Effect.tap(() => {
        if (!down) return Effect.void
        down = false
        return Effect.logInfo("segment pool: Redis answers again")
      }),
      Effect.catch((error) =>
        Effect.gen(function*() {
          downUntil = (yield* Clock.currentTimeMillis) + backoffMillis
          if (!down) {
            down = true
            yield* Effect.logWarning("segment pool: Redis unavailable, allocating segments from the database", error.cause)
          }
          return undefined
        })
      )
    )

  const handOut = (pool: Pool, segment: AllocatedSegment) => {
    pool.floor = Math.max(pool.floor, segment.end)
    return segment
  }

  /**
   * One database allocation for `segmentsPerRefill` pool segments, pushed under the lock;
   * `keep` keeps the first for the caller. `undefined` when another node holds the lock or
   * Redis failed before the allocation.
   */
  const refill = (tag: BizTagRecord, pool: Pool, keep: boolean) =>
    Effect.gen(function*() {
      const token = randomUUID()
      const locked = yield* call(() => client.set(pool.lockKey, token, "PX", lockMillis, "NX"))
      if (locked !== "OK") return undefined
      return yield* Effect.gen(function*() {
        // The pop that asked for this refill may predate one that just landed (its lock
        // released a moment ago): refilling again would only pile up pool entries.
        const length = yield* call(() => client.llen(pool.key))
        if (length !== undefined && length >= (keep ? 1 : options.lowMark)) return undefined
        const range = yield* options.repo.allocate({
          bizTagId: tag.id,
          datacenterId: options.datacenterId,
          step: options.segmentSize * options.segmentsPerRefill,
          node: options.node
        })
        pool.metrics.refilled()
        const pieces = split(range, options.segmentSize)
        const kept = keep ? pieces.shift() : undefined
        if (pieces.length > 0) {
          // A failed push loses these ranges: gaps.
          const length = yield* call(() => client.rpush(pool.key, ...pieces.map(entryOf)))
          if (length !== undefined) pool.metrics.length(length)
        }
        return kept
      }).pipe(Effect.ensuring(call(() => unlock(pool.lockKey, token))))
    }).pipe(
      Effect.onExit(() => Effect.sync(() => void (pool.refilling = false))),
      Effect.withSpan("SegmentPool.refill", { attributes: { "idgen.biz_tag": tag.name, "idgen.keep": keep } })
    )

  const startRefill = (tag: BizTagRecord, pool: Pool, keep: boolean) => {
    pool.refilling = true
    return refill(tag, pool, keep)
  }

  /**
   * A popped entry is this node's only once the fence takes it: the segment, or `"refused"`
   * (a gap; the floor moves up to the fence). Fails when the database does not answer,
   * after putting the entry back; and when the biz_tag was created again (its id is gone),
   * leaving the entry out.
   */
  const claim = (tag: BizTagRecord, pool: Pool, segment: AllocatedSegment) =>
    options.fence.claim({ bizTagId: tag.id, datacenterId: options.datacenterId, segment }).pipe(
      Effect.tapErrorTag("DatabaseUnavailable", () => call(() => client.lpush(pool.key, entryOf(segment)))),
      Effect.map(({ claimed, consumedTo }) => {
        if (claimed) {
          pool.metrics.popped()
          return segment
        }
        pool.metrics.fenced()
        pool.floor = Math.max(pool.floor, consumedTo)
        return "refused" as const
      })
    )

  /**
   * One pop: the claimed segment, `"refused"`, `"empty"`, or `undefined` when Redis failed.
   * Starts a background refill when low.
   */
  const popOnce = (tag: BizTagRecord, pool: Pool) =>
    Effect.gen(function*() {
      const popped = yield* call(() => pop(pool.key, pool.floor))
      if (popped === undefined) return undefined
      const [start, end, left, dropped] = popped
      if (dropped > 0) pool.metrics.discarded(dropped)
      pool.metrics.length(left)
      if (start === "") return "empty" as const
      if (left < options.lowMark && !pool.refilling) {
        yield* Effect.forkIn(
          startRefill(tag, pool, false).pipe(
            Effect.catch((error) => Effect.logWarning("segment pool: refill failed", error.message))
          ),
          scope
        )
      }
      return yield* claim(tag, pool, { start: Number(start), end: Number(end) })
    })

  const next = (tag: BizTagRecord, step: number): Effect.Effect<AllocatedSegment, LoadError> =>
    Effect.gen(function*() {
      const pool = poolOf(tag)
      const now = yield* Clock.currentTimeMillis
      if (isReady() && now >= downUntil) {
        const deadline = now + refillWaitMillis
        while (true) {
          const popped = yield* popOnce(tag, pool)
          if (popped === undefined) break
          // Each refusal raises the floor past the refused entry: the list only gets shorter.
          if (popped === "refused") continue
          if (popped !== "empty") return handOut(pool, popped)
          if (!pool.refilling) {
            const kept = yield* startRefill(tag, pool, true)
            if (kept !== undefined) return handOut(pool, kept)
          }
          // Another refill (this node's or another node's) is under way: it lands within
          // about one database round trip, which is what a direct allocation would cost.
          if ((yield* Clock.currentTimeMillis) >= deadline) break
          yield* Effect.sleep(refillPollMillis)
        }
      }
      pool.metrics.missed()
      return handOut(pool, yield* options.direct(tag, step))
    })

  /**
   * The incarnation `tagId` of a biz_tag is gone (deleted, or created again under a new id):
   * its pool state goes, and its Redis entries with it — numbers never issued (gaps).
   */
  const retire = (tagId: string) =>
    Effect.suspend(() => {
      const pool = pools.get(tagId)
      if (pool === undefined) return Effect.void
      pools.delete(tagId)
      return Effect.asVoid(call(() => client.del(pool.key)))
    })

  return { next, retire }
})
