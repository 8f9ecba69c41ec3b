/**
 * Segment take rate through a real SegmentActor (via SegmentGenerator, as the server
 * runs it) fed by real storage — the throw-away PostgreSQL database in
 * IDGEN_DATABASE_URL, or the embedded store under IDGEN_DATA_DIR — so refills are part
 * of the measurement. Numeric `takeOneNow()` against a `++n` counter and
 * `String(takeOneNow())` against `String(++n)`. A take that finds the buffer dry goes
 * through `actor.take(1)`, as the server's router does.
 *
 * L1: `takeOneNow()` of a biz_tag with an L1 ring against an L2-only biz_tag in the same
 * rounds, both in chunks of `ringChunk` with a yield between chunks (the ring refills
 * asynchronously, so a synchronous run longer than the ring drains it into L2 fallbacks).
 * The ring tag is started first with `l1_hot_ids_per_second = 0` and a memory budget of
 * exactly one ring, so it gets the ring and every later biz_tag takes straight from L2.
 * Prints one BENCH_RESULT line.
 */
import type { Names } from "@idgen/core"
import { load } from "@idgen/server/config/ConfigLoader"
import { LiveConfig } from "@idgen/server/config/HotReload"
import { ServerConfig } from "@idgen/server/config/ServerConfig"
import { SegmentGenerator } from "@idgen/server/segment/SegmentGenerator"
import { SegmentSupply } from "@idgen/server/segment/SegmentSupply"
import * as Storage from "@idgen/server/storage/index"
import { BizTagRepo, WorkspaceRepo } from "@idgen/server/storage/index"
import { Effect, Layer } from "effect"
import { type Body, type Candidate, compare, envNumber, ring } from "../lib/measure.ts"
import { emit } from "../lib/protocol.ts"

const roundMs = envNumber("BENCH_ROUND_MS", 300)
const rounds = envNumber("BENCH_ROUNDS", 10)

const program = Effect.gen(function*() {
  const config = yield* ServerConfig
  const workspaces = yield* WorkspaceRepo
  const tags = yield* BizTagRepo
  const segments = yield* SegmentGenerator

  const workspace = "bench" as Names.WorkspaceName
  yield* workspaces.create({ name: workspace, defaultAlgorithm: "segment", autoCreateBizTags: true, rateLimit: null })
  const tagOf = (name: string) =>
    tags.ensure(
      { workspace, group: "inprocess" as Names.GroupName, bizTag: name as Names.BizTagName },
      { algorithm: "segment", fallback: [], step: config.segment.defaultStep, formatTemplate: null }
    )
  // One biz_tag per candidate, so each measures its own refills. The ring's first.
  const ringed = yield* segments.actorFor(yield* tagOf("l1"))
  const l2Only = yield* segments.actorFor(yield* tagOf("l2"))
  const numeric = yield* segments.actorFor(yield* tagOf("numeric"))
  const string = yield* segments.actorFor(yield* tagOf("string"))

  // The slow path of a take that found the buffer dry (first take, or a late refill).
  const runPromise = Effect.runPromiseWith(yield* Effect.context<never>())
  const slowTake = (actor: typeof numeric) => () => runPromise(actor.take(1).pipe(Effect.orDie)).then(() => 1)
  const slow = { numeric: 0, string: 0, l1: 0, l2: 0 }

  const takeLoop = (actor: typeof numeric, sink: Array<number>): Body => (k) => {
    for (let i = 0; i < k; i++) {
      const v = actor.takeOneNow()
      if (v < 0) return i
      sink[i & 1023] = v
    }
    return k
  }
  const l1Sink: Array<number> = ring(0)
  const l2Sink: Array<number> = ring(0)

  const n1: Array<number> = ring(0)
  const segmentNumber: Body = (k) => {
    for (let i = 0; i < k; i++) {
      const v = numeric.takeOneNow()
      if (v < 0) return i
      n1[i & 1023] = v
    }
    return k
  }
  let m = 0
  const n2: Array<number> = ring(0)
  const counterNumber: Body = (k) => {
    for (let i = 0; i < k; i++) n2[i & 1023] = ++m
    return k
  }
  const s1: Array<string> = ring("")
  const segmentString: Body = (k) => {
    for (let i = 0; i < k; i++) {
      const v = string.takeOneNow()
      if (v < 0) return i
      s1[i & 1023] = String(v)
    }
    return k
  }
  let n = 0
  const s2: Array<string> = ring("")
  const counterString: Body = (k) => {
    for (let i = 0; i < k; i++) s2[i & 1023] = String(++n)
    return k
  }
  // Informational: the same counter in datacenter 1's range (values above 2^31 are not Smis).
  let big = 10_000_000_000
  const s3: Array<string> = ring("")
  const counterStringDc1: Body = (k) => {
    for (let i = 0; i < k; i++) s3[i & 1023] = String(++big)
    return k
  }

  const chunk = 65_536
  const candidates: Array<Candidate> = [
    { name: "++n", body: counterNumber, chunk },
    {
      name: "segment takeOneNow()",
      body: segmentNumber,
      chunk,
      onStall: () => (slow.numeric++, slowTake(numeric)())
    },
    { name: "String(++n)", body: counterString, chunk },
    {
      name: "String(segment takeOneNow())",
      body: segmentString,
      chunk,
      onStall: () => (slow.string++, slowTake(string)())
    },
    { name: "String(++n) from 1e10", body: counterStringDc1, chunk },
    {
      name: "L1 ring takeOneNow()",
      body: takeLoop(ringed, l1Sink),
      chunk: ringChunk,
      onStall: () => (slow.l1++, slowTake(ringed)())
    },
    {
      name: "L2 takeOneNow()",
      body: takeLoop(l2Only, l2Sink),
      chunk: ringChunk,
      onStall: () => (slow.l2++, slowTake(l2Only)())
    }
  ]
  const series = yield* Effect.promise(() => compare(candidates, { warmupMs: 1000, roundMs, rounds }))
  return {
    store: config.database.url === undefined ? "embedded" : "postgresql",
    series,
    slowTakes: slow,
    finalStep: { numeric: numeric.currentStep(), string: string.currentStep() },
    l1: { capacity: ringed.ring()?.capacity ?? 0, chunk: ringChunk, ...ringed.stats() },
    buffered: { numeric: numeric.buffered(), string: string.buffered() }
  }
})

const ringCapacity = envNumber("BENCH_L1_CAPACITY", 65_536)
const ringChunk = envNumber("BENCH_L1_CHUNK", 16_384)
const config = await Effect.runPromise(load(process.env, {
  segment: { l1_capacity: ringCapacity, l1_hot_ids_per_second: 0, l1_memory_budget_bytes: ringCapacity * 8 }
}))
const result = await Effect.runPromise(
  program.pipe(
    Effect.provide(
      SegmentGenerator.layer.pipe(Layer.provide([SegmentSupply.layerLocal, LiveConfig.layer({})]), Layer.provideMerge(Storage.layer), Layer.provideMerge(Layer.succeed(ServerConfig, config)))
    ),
    Effect.scoped
  )
)
emit(result)
// The scope is closed: leave now.
process.exit(0)
