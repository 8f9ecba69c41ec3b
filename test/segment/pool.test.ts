/**
 * The Redis segment pool on real PostgreSQL and a private redis-server: nodes (separate
 * pool instances, each with its own Redis connection) share one pool; FLUSHALL, a killed
 * Redis, and a Redis that hands entries out again — restarted from an old snapshot, a
 * `DUMP`/`RESTORE` into the same process, a failover to a replica and back — never make a
 * number appear twice.
 *
 * Pool segments have 1000 numbers; the nodes ask for step 7, so a segment of 7 numbers is
 * a direct database allocation (a pool miss) and one of 1000 came from the pool.
 */
import { assert, layer } from "@effect/vitest"
import { Names } from "@idgen/core"
import { Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { load } from "@idgen/server/config/ConfigLoader"
import { ServerConfig } from "@idgen/server/config/ServerConfig"
import { RedisClient } from "@idgen/server/redis/RedisClient"
import { poolKey } from "@idgen/server/segment/RedisSegmentPool"
import { SegmentSupply } from "@idgen/server/segment/SegmentSupply"
import type { AllocatedSegment, BizTagRecord } from "@idgen/server/storage/Records"
import * as Storage from "@idgen/server/storage/index"
import { BizTagRepo, WorkspaceRepo } from "@idgen/server/storage/index"
import * as OwnRedisServer from "../support/OwnRedis.ts"
import { OwnRedis } from "../support/OwnRedis.ts"
import { eventually } from "../support/Eventually.ts"
import { TestDatabase } from "../support/TestDatabase.ts"

const POOL_SEGMENT = 1000
const PER_REFILL = 10
const DIRECT_STEP = 7

const Config = Layer.effect(
  ServerConfig,
  Effect.gen(function*() {
    const { url } = yield* TestDatabase
    const redis = yield* OwnRedis
    return yield* load({
      IDGEN_DATABASE_URL: url,
      IDGEN_REDIS_URL: redis.url,
      IDGEN_ADMIN_TOKEN: "test-admin-token-0123456789",
      IDGEN_SEGMENT_POOL_SEGMENT_SIZE: String(POOL_SEGMENT),
      IDGEN_SEGMENT_POOL_SEGMENTS_PER_REFILL: String(PER_REFILL),
      IDGEN_SEGMENT_POOL_LOW_MARK: "3"
    })
  })
)
const Env = Storage.layer.pipe(
  Layer.provideMerge(Config),
  Layer.provideMerge(Layer.mergeAll(TestDatabase.layer, OwnRedis.layer))
)

/**
 * One node's pool: its own Redis connection (to `redisUrl`, else the suite's Redis) and
 * per-tag state, named `name` in audit rows; returned once the connection is ready.
 */
const node = (name: string, redisUrl?: string) =>
  Effect.gen(function*() {
    const base = yield* ServerConfig
    const redis = redisUrl === undefined ? base.redis : { url: Redacted.make(redisUrl) }
    const config = { ...base, node: { ...base.node, name }, redis }
    const context = yield* Layer.build(
      Layer.fresh(
        SegmentSupply.layerRedis.pipe(Layer.provideMerge(RedisClient.layer), Layer.provide(Layer.succeed(ServerConfig, config)))
      )
    )
    const connection = Context.get(context, RedisClient)!
    yield* eventually(`${name} connected to Redis`, 20_000, Effect.sync(() => connection.isReady()), 10)
    return Context.get(context, SegmentSupply)
  })

let tags = 0
const createTag = Effect.gen(function*() {
  yield* (yield* WorkspaceRepo).create({
    name: Names.WorkspaceName.make("pool"),
    defaultAlgorithm: "segment",
    autoCreateBizTags: true,
    rateLimit: null
  }).pipe(Effect.catchTag("Conflict", () => Effect.void))
  return yield* (yield* BizTagRepo).create({
    workspace: Names.WorkspaceName.make("pool"),
    group: Names.GroupName.make("g"),
    bizTag: Names.BizTagName.make(`t${++tags}`)
  }, { algorithm: "segment", fallback: [], step: DIRECT_STEP, formatTemplate: null })
})

const databaseAllocations = (tag: BizTagRecord) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly n: string }>`
      SELECT count(*) AS n FROM segment_allocations WHERE biz_tag_id = ${tag.id}::uuid`
    return Number(rows[0]!.n)
  })

const fromPool = (s: AllocatedSegment) => s.end - s.start + 1 === POOL_SEGMENT

/** What the nodes received, per node in order. */
interface Run {
  readonly perNode: Array<Array<AllocatedSegment>>
  readonly total: () => number
}

/**
 * Each node takes segments one after another (as its loads do) until `until`
 * says stop, checking that every segment starts above its previous one (else its double
 * buffer would reject it).
 */
const drive = (supplies: ReadonlyArray<SegmentSupply["Service"]>, tag: BizTagRecord, until: () => boolean, run: Run) =>
  Effect.forEach(
    supplies,
    (supply, i) =>
      Effect.gen(function*() {
        const mine = run.perNode[i]!
        while (!until()) {
          const segment = yield* supply.next(tag, DIRECT_STEP)
          const last = mine.at(-1)
          if (last !== undefined) assert.isAbove(segment.start, last.end, `node ${i}: segment not above its previous one`)
          mine.push(segment)
          yield* Effect.yieldNow
        }
      }),
    { concurrency: "unbounded", discard: true }
  )

const newRun = (nodes: number): Run => {
  const perNode = Array.from({ length: nodes }, () => [] as Array<AllocatedSegment>)
  return { perNode, total: () => perNode.reduce((n, s) => n + s.length, 0) }
}

/** How many segments each node has received so far. */
const mark = (run: Run) => run.perNode.map((segments) => segments.length)

/** Each node's segments received after `from` (a `mark`). */
const since = (run: Run, from: ReadonlyArray<number>, to?: ReadonlyArray<number>) =>
  run.perNode.map((segments, i) => segments.slice(from[i], to?.[i]))

/** No number in two segments, across all nodes. */
const assertDisjoint = (segments: ReadonlyArray<AllocatedSegment>) => {
  const sorted = [...segments].sort((a, b) => a.start - b.start)
  for (let i = 1; i < sorted.length; i++) {
    assert.isAbove(sorted[i]!.start, sorted[i - 1]!.end, `overlap: [${sorted[i - 1]!.start}, ${sorted[i - 1]!.end}] and [${sorted[i]!.start}, ${sorted[i]!.end}]`)
  }
}

/**
 * Numbers handed out more than once, counted exactly: each segment's overlap with all the
 * segments before it (in order of their start), summed.
 */
const duplicatedNumbers = (segments: ReadonlyArray<AllocatedSegment>) => {
  let covered = 0
  let duplicated = 0
  for (const { end, start } of [...segments].sort((a, b) => a.start - b.start)) {
    duplicated += Math.max(0, Math.min(end, covered) - start + 1)
    covered = Math.max(covered, end)
  }
  return duplicated
}

/** The pool's entries in Redis, as `start:end` (whatever else an entry carries is cut off). */
const entriesOf = (redis: OwnRedisServer.OwnRedisShape, key: string) =>
  Effect.map(redis.command("LRANGE", key, "0", "-1"), (list) =>
    (list as Array<string>).map((entry) => entry.split(":").slice(-2).join(":")))

const entryOf = (s: AllocatedSegment) => `${s.start}:${s.end}`

/** The pool list on `replica` equals the one on `primary`, polled until it does. */
const inSync = (primary: OwnRedisServer.OwnRedisShape, replica: OwnRedisServer.OwnRedisShape, key: string) =>
  eventually(
    `${replica.url} in sync with ${primary.url}`,
    20_000,
    Effect.map(
      Effect.all([primary.command("LRANGE", key, "0", "-1"), replica.command("LRANGE", key, "0", "-1")]),
      ([p, r]) => JSON.stringify(p) === JSON.stringify(r) ? true : undefined
    )
  )

/** Runs `nodes` nodes until `script` (the controller) returns. */
const withNodes = <A>(
  count: number,
  tag: BizTagRecord,
  script: (run: Run) => Effect.Effect<A, never, OwnRedis>
) =>
  Effect.gen(function*() {
    const supplies = yield* Effect.forEach(Array.from({ length: count }, (_, i) => `node-${i}`), (name) => node(name))
    const run = newRun(count)
    let done = false
    const [result] = yield* Effect.all(
      [script(run).pipe(Effect.ensuring(Effect.sync(() => (done = true)))), drive(supplies, tag, () => done, run)],
      { concurrency: "unbounded" }
    )
    return { run, result }
  })

layer(Env, { timeout: 120_000, excludeTestServices: true })("Redis segment pool", (it) => {
  it.effect("three nodes share one pool: no number twice, far fewer database allocations than segments", () =>
    Effect.scoped(Effect.gen(function*() {
      const tag = yield* createTag
      const { run } = yield* withNodes(3, tag, (run) => eventually("300 segments", 20_000, Effect.sync(() => run.total() >= 300), 10))
      const all = run.perNode.flat()
      assertDisjoint(all)
      const pooled = all.filter(fromPool).length
      const allocations = yield* databaseAllocations(tag)
      assert.isAbove(pooled, all.length * 0.8, `only ${pooled} of ${all.length} segments came from the pool`)
      // One refill per PER_REFILL pool segments, plus the misses.
      assert.isBelow(allocations, all.length / 5, `${allocations} database allocations for ${all.length} segments`)
      assert.isTrue(run.perNode.every((segments) => segments.some(fromPool)), "every node took from the pool")
    })))

  it.effect("FLUSHALL mid-run: no number twice, the pool refills and serves again", () =>
    Effect.scoped(Effect.gen(function*() {
      const tag = yield* createTag
      const { run } = yield* withNodes(2, tag, (run) =>
        Effect.gen(function*() {
          yield* eventually("50 segments before FLUSHALL", 20_000, Effect.sync(() => run.total() >= 50), 10)
          yield* (yield* OwnRedis).command("FLUSHALL")
          const before = mark(run)
          yield* eventually(
            "30 pool segments after FLUSHALL",
            20_000,
            Effect.sync(() => since(run, before).flat().filter(fromPool).length >= 30),
            10
          )
        }))
      assertDisjoint(run.perNode.flat())
    })))

  it.effect("Redis killed mid-run: segments keep coming from the database, and from the pool once Redis is back", () =>
    Effect.scoped(Effect.gen(function*() {
      const tag = yield* createTag
      const { result, run } = yield* withNodes(2, tag, (run) =>
        Effect.gen(function*() {
          const redis = yield* OwnRedis
          yield* eventually("30 segments before the kill", 20_000, Effect.sync(() => run.total() >= 30), 10)
          yield* redis.stop
          // A pop in flight when the kill landed may still return a pool segment: skip one per node.
          const atKill = mark(run).map((n) => n + 1)
          yield* eventually("50 segments per node while Redis is down", 20_000, Effect.sync(() => since(run, atKill).every((s) => s.length >= 50)), 10)
          const atStart = mark(run)
          yield* redis.start
          yield* eventually(
            "every node takes from the pool again",
            20_000,
            Effect.sync(() => since(run, atStart).every((segments) => segments.some(fromPool))),
            10
          )
          return since(run, atKill, atStart).flat()
        }))
      assert.isAtLeast(result.length, 100)
      assert.isTrue(result.every((s) => !fromPool(s)), "segments while Redis was down came from the database")
      assertDisjoint(run.perNode.flat())
    })))

  it.effect("a Redis restarted with an older snapshot: entries taken since are refused, the others served once", () =>
    Effect.scoped(Effect.gen(function*() {
      const redis = yield* OwnRedis
      const tag = yield* createTag
      const key = poolKey(tag.id, 0)
      const a = yield* node("node-a")
      // The first take refills the pool (one allocation, the first segment kept).
      const first = yield* a.next(tag, DIRECT_STEP)
      assert.isTrue(fromPool(first))
      const snapshot = (yield* redis.command("LRANGE", key, "0", "-1")) as Array<string>
      assert.strictEqual(snapshot.length, PER_REFILL - 1)
      // Taken after the "snapshot"...
      const issued = [first, yield* a.next(tag, DIRECT_STEP), yield* a.next(tag, DIRECT_STEP)]
      assert.deepStrictEqual(issued.slice(1).map(entryOf), snapshot.slice(0, 2))
      // ...and the server comes back with the snapshot's data: a new process, the old entries.
      yield* redis.stop
      yield* redis.start
      yield* redis.command("RPUSH", key, ...snapshot)
      const b = yield* node("node-b")
      const after = [yield* b.next(tag, DIRECT_STEP), yield* b.next(tag, DIRECT_STEP)]
      assert.strictEqual(duplicatedNumbers([...issued, ...after]), 0, "numbers handed out twice")
      // The two taken entries are refused; node b gets the next ones, never taken before.
      assert.deepStrictEqual(after.map(entryOf), snapshot.slice(2, 4))
    })))

  it.effect("pool entries below a node's last segment are dropped, not handed to it", () =>
    Effect.scoped(Effect.gen(function*() {
      const redis = yield* OwnRedis
      const tag = yield* createTag
      const key = poolKey(tag.id, 0)
      const a = yield* node("node-a")
      yield* a.next(tag, DIRECT_STEP)
      const entries = (yield* redis.command("LRANGE", key, "0", "-1")) as Array<string>
      // Pool empty and another node refilling: node b allocates directly, above every entry.
      yield* redis.command("DEL", key)
      yield* redis.command("SET", `${key}:lock`, "another-node", "PX", "60000")
      const b = yield* node("node-b")
      const direct = yield* b.next(tag, DIRECT_STEP)
      assert.isFalse(fromPool(direct))
      // The refill lands (the entries, all below b's segment): b must not take them.
      yield* redis.command("RPUSH", key, ...entries)
      const next = yield* b.next(tag, DIRECT_STEP)
      assert.isAbove(next.start, direct.end)
      assert.strictEqual(yield* redis.command("LLEN", key), 0)
      // Node a, still below them, would have used them; with the lock gone the pool refills.
      yield* redis.command("DEL", `${key}:lock`)
      const refilled = yield* b.next(tag, DIRECT_STEP)
      assert.isTrue(fromPool(refilled))
      assert.isAbove(refilled.start, next.end)
    })))

  it.effect("DUMP of the pool, pops by two nodes, RESTORE into the same Redis process: no number twice", () =>
    Effect.scoped(Effect.gen(function*() {
      const redis = yield* OwnRedis
      const tag = yield* createTag
      const key = poolKey(tag.id, 0)
      const runId = Effect.map(redis.command("INFO", "server"), (info) => /run_id:(\w+)/.exec(String(info))![1])
      const [a, b] = yield* Effect.forEach(["node-a", "node-b"], (name) => node(name))
      // The first take refills the pool: the first segment kept, PER_REFILL - 1 pushed.
      const issued = [yield* a.next(tag, DIRECT_STEP)]
      const dump = yield* redis.commandBuffer("DUMP", key)
      const before = yield* runId
      const taken = yield* Effect.forEach([a, b, a, b], (supply) => supply.next(tag, DIRECT_STEP))
      issued.push(...taken)
      yield* redis.command("RESTORE", key, "0", dump as Buffer, "REPLACE")
      assert.strictEqual(yield* runId, before, "the same Redis process")
      const restored = yield* entriesOf(redis, key)
      assert.strictEqual(restored.length, PER_REFILL - 1)
      assert.includeMembers(restored, taken.map(entryOf), "the restored pool holds the entries taken after the DUMP")
      // A fresh node (nothing installed yet) and the two others keep taking.
      const c = yield* node("node-c")
      for (const supply of [c, a, b, c, a, b, c, a]) issued.push(yield* supply.next(tag, DIRECT_STEP))
      assert.isTrue(issued.every(fromPool), "every segment came from the pool")
      assert.strictEqual(duplicatedNumbers(issued), 0, "numbers handed out twice")
    })))

  it.effect("failover to a replica and back: entries the old primary popped, replayed to it by the replica, are never used twice", () =>
    Effect.scoped(Effect.gen(function*() {
      const x = yield* OwnRedis
      const y = yield* OwnRedisServer.make
      const tag = yield* createTag
      const key = poolKey(tag.id, 0)
      yield* y.command("REPLICAOF", "127.0.0.1", String(x.port))
      const a = yield* node("node-a", x.url)
      const issued = [yield* a.next(tag, DIRECT_STEP)]
      yield* inSync(x, y, key)
      // Failover: the replica is promoted; the old primary, cut off, still serves node a.
      yield* y.command("REPLICAOF", "NO", "ONE")
      const taken = yield* Effect.forEach([1, 2, 3], () => a.next(tag, DIRECT_STEP))
      issued.push(...taken)
      // The old primary rejoins as a replica of the new one (a full resync: its pops are lost)...
      yield* x.command("REPLICAOF", "127.0.0.1", String(y.port))
      yield* inSync(y, x, key)
      // ...and is promoted back, the other demoted again.
      yield* x.command("REPLICAOF", "NO", "ONE")
      yield* y.command("REPLICAOF", "127.0.0.1", String(x.port))
      assert.includeMembers(yield* entriesOf(x, key), taken.map(entryOf), "the old primary holds again the entries node a took")
      const c = yield* node("node-c", x.url)
      for (const supply of [c, a, c, a, c, a]) issued.push(yield* supply.next(tag, DIRECT_STEP))
      assert.isTrue(issued.every(fromPool), "every segment came from the pool")
      assert.strictEqual(duplicatedNumbers(issued), 0, "numbers handed out twice")
    })))
})
