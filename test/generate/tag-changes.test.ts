/**
 * biz_tag changes across nodes: two server processes share a database and a Redis (the
 * suite's own). A biz_tag PATCHed on node A — its algorithm, its fallback chain, its step —
 * is served accordingly by node B within 2 s of the PATCH's answer with Redis (the
 * broadcast); with Redis stopped and with no Redis configured, B's database poll drops its
 * cached copy before the copy expires; a new step reaches B's running segment actor at its
 * next load. On the embedded store, whose
 * one node runs no poll (`test/storage/sole-owner.test.ts`), the node's next request after
 * the change's answer serves it.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { cacheTtlMillis } from "@idgen/server/generate/TagResolver"
import { OwnRedis } from "../support/OwnRedis.ts"
import { type PairShape, pairLayer } from "../support/ServerPair.ts"
import { assertError, createBizTag, ServerProcess, type ServerProcessShape, wait, workspaceWithKey } from "../support/ServerProcess.ts"

class Pair extends Context.Service<Pair, PairShape>()("test/generate/Pair") {}
class PairWithoutRedis extends Context.Service<PairWithoutRedis, PairShape>()("test/generate/PairWithoutRedis") {}

// Segments sized for 1 s of traffic: the step a node uses then stays within [0.5, 100] × the
// biz_tag's step at the rates of this test (the 5 min default would size it by the rate alone).
const PairLive = pairLayer(Pair, "tc", { toml: "[segment]\ntarget_segment_seconds = 1\n" }).pipe(Layer.provideMerge(OwnRedis.layer))

/** A workspace of its own (with an API key) and one biz_tag in it, created through node A. */
const setUp = (a: ServerProcessShape, ws: string, tag: Record<string, unknown>) =>
  Effect.gen(function*() {
    const key = yield* workspaceWithKey(a, { name: ws })
    yield* createBizTag(a, ws, { group: "g", name: "t", ...tag })
    return { ws, key }
  })
type Tag = Effect.Success<ReturnType<typeof setUp>>

const generate = (server: ServerProcessShape, { ws, key }: Tag) =>
  server.request("POST", "/api/v1/generate", { apiKey: key, json: { workspace: ws, group: "g", biz_tag: "t" } })

const patch = (server: ServerProcessShape, { ws }: Tag, json: Record<string, unknown>) =>
  Effect.map(server.request("PATCH", `/api/v1/admin/workspaces/${ws}/biz-tags/g/t`, { admin: true, json }), (res) => {
    assert.strictEqual(res.status, 200, res.text)
  })

/** Polls `check` until it holds, failing after `millis` (counted from now). */
const within = <E, R>(millis: number, what: string, check: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + millis
    while (!(yield* check)) {
      if (Date.now() > deadline) return assert.fail(`${what}: not within ${millis} ms`)
      yield* wait(20)
    }
  })

/** Node B serves `tag` with `algorithm` within 2 s (every answer meanwhile is a success). */
const servesWithin2s = (b: ServerProcessShape, tag: Tag, algorithm: string) =>
  within(
    2_000,
    `node B serves ${tag.ws}/g/t with ${algorithm}`,
    Effect.map(generate(b, tag), (res) => res.status === 200 && res.json.algorithm === algorithm)
  )

/** B has the old record cached (from `cachedFrom` at the earliest), then A changes its algorithm. */
const changedWhileCachedOnB = ({ a, b }: PairShape, ws: string) =>
  Effect.gen(function*() {
    const tag = yield* setUp(a, ws, { algorithm: "uuid_v4" })
    const cachedFrom = Date.now()
    const before = yield* generate(b, tag)
    assert.strictEqual(before.status, 200, before.text)
    assert.strictEqual(before.json.algorithm, "uuid_v4")
    yield* patch(a, tag, { algorithm: "uuid_v7" })
    return { tag, cachedFrom }
  })

/** The algorithm change, B following within 2 s. */
const algorithmChange = (pair: PairShape, ws: string) =>
  Effect.flatMap(changedWhileCachedOnB(pair, ws), ({ tag }) => servesWithin2s(pair.b, tag, "uuid_v7"))

/**
 * The algorithm change, B following through its database poll alone. B is not asked over and
 * over: a use of its copy past half the copy's lifetime starts a background read of the
 * record, which — not the poll — would bring the change. So B is asked once, its first use of
 * the copy since it cached it, a second before the copy expires: the answer is the new
 * algorithm only if the poll (every second, after each look) dropped the copy. That leaves
 * the poll about 4 s on a loaded machine.
 */
const algorithmChangeByPoll = (pair: PairShape, ws: string) =>
  Effect.gen(function*() {
    const { cachedFrom, tag } = yield* changedWhileCachedOnB(pair, ws)
    // The moment of the one question (above), not a stand-in for an event B would show.
    yield* wait(Math.max(0, cachedFrom + cacheTtlMillis - 1_000 - Date.now()))
    const after = yield* generate(pair.b, tag)
    assert.strictEqual(after.status, 200, after.text)
    assert.strictEqual(after.json.algorithm, "uuid_v7", "B answered from its cached copy: its database poll did not drop it")
  })

const stepOf = (metrics: string, ws: string) => {
  const line = metrics.split("\n").find((l) => l.startsWith("idgen_segment_step{") && l.includes(`workspace="${ws}"`))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1))
}

layer(PairLive, { excludeTestServices: true, timeout: 120_000 })("biz_tag changes across nodes", (it) => {
  it.effect("an algorithm changed on node A is served by node B within 2 s", () => Effect.flatMap(Pair, (pair) => algorithmChange(pair, "tc-alg")))

  it.effect("a fallback chain changed on node A is walked by node B within 2 s", () =>
    Effect.gen(function*() {
      const { a, b } = yield* Pair
      const tag = yield* setUp(a, "tc-fb", { algorithm: "uuid_v4" })
      // An operator holds uuid_v4 down on B: without a fallback, B cannot serve the biz_tag.
      const degraded = yield* b.request("POST", "/api/v1/admin/degradation/uuid_v4/degrade", { admin: true, json: {} })
      assert.strictEqual(degraded.status, 200, degraded.text)
      yield* Effect.gen(function*() {
        const held = yield* generate(b, tag)
        assert.strictEqual(held.status, 503, held.text)
        yield* patch(a, tag, { fallback: ["uuid_v7"] })
        yield* servesWithin2s(b, tag, "uuid_v7")
      }).pipe(Effect.ensuring(b.request("POST", "/api/v1/admin/degradation/uuid_v4/recover", { admin: true })))
    }))

  it.effect("a step changed on node A reaches node B's running segment actor", () =>
    Effect.gen(function*() {
      const { a, b } = yield* Pair
      const tag = yield* setUp(a, "tc-step", { algorithm: "segment", step: 100 })
      const metrics = Effect.map(b.request("GET", "/metrics"), (res) => res.text)
      const batch = Effect.map(
        b.request("POST", "/api/v1/generate/batch", { apiKey: tag.key, json: { workspace: tag.ws, group: "g", biz_tag: "t", size: 500 } }),
        (res) => assert.strictEqual(res.status, 200, res.text)
      )
      yield* batch
      const before = stepOf(yield* metrics, tag.ws)
      assert.isDefined(before, "B runs the biz_tag's actor")
      assert.isBelow(before!, 5_000_000)
      yield* patch(a, tag, { step: 10_000_000 })
      // The record reaches B within 2 s; the actor uses its step from its next load, which
      // B's own consumption (5 segments' worth per batch) brings about at once.
      yield* within(
        2_000,
        "idgen_segment_step on B",
        Effect.gen(function*() {
          yield* batch
          return (stepOf(yield* metrics, tag.ws) ?? 0) >= 5_000_000
        })
      )
    }))

  it.effect("Redis stopped: node B follows through its database poll, before its cached copy expires", () =>
    Effect.gen(function*() {
      const redis = yield* OwnRedis
      yield* redis.stop
      yield* algorithmChangeByPoll(yield* Pair, "tc-noredis").pipe(Effect.ensuring(redis.start))
    }))
})

layer(
  pairLayer(PairWithoutRedis, "tcp", { env: { IDGEN_REDIS_URL: "" } }).pipe(Layer.provide(OwnRedis.layer)),
  { excludeTestServices: true, timeout: 120_000 }
)("biz_tag changes across nodes without Redis", (it) => {
  it.effect("an algorithm changed on node A is served by node B through its database poll, before its cached copy expires", () =>
    Effect.flatMap(PairWithoutRedis, (pair) => algorithmChangeByPoll(pair, "tcp-alg")))
})

layer(ServerProcess.layer({ env: { IDGEN_DATABASE_URL: "" } }), { excludeTestServices: true, timeout: 120_000 })(
  "biz_tag changes on the embedded store",
  (it) => {
    it.effect("PATCHed: the next request serves the new algorithm, the new fallback chain; DELETEd: the next one answers 404", () =>
      Effect.gen(function*() {
        const node = yield* ServerProcess
        const health = yield* node.request("GET", "/health")
        assert.include(health.json.checks.replication.message, "embedded", health.text)
        const tag = yield* setUp(node, "tc-embedded", { algorithm: "uuid_v4" })
        const served = (algorithm: string) =>
          Effect.map(generate(node, tag), (res) => {
            assert.strictEqual(res.status, 200, res.text)
            assert.strictEqual(res.json.algorithm, algorithm)
          })
        yield* served("uuid_v4")
        yield* patch(node, tag, { algorithm: "uuid_v7" })
        yield* served("uuid_v7")

        // uuid_v7 held down by the operator: the biz_tag is served only once its chain has a fallback.
        const degraded = yield* node.request("POST", "/api/v1/admin/degradation/uuid_v7/degrade", { admin: true, json: {} })
        assert.strictEqual(degraded.status, 200, degraded.text)
        yield* Effect.gen(function*() {
          assertError(yield* generate(node, tag), 503, "IDGEN-COMMON-0005")
          yield* patch(node, tag, { fallback: ["uuid_v4"] })
          yield* served("uuid_v4")
        }).pipe(Effect.ensuring(node.request("POST", "/api/v1/admin/degradation/uuid_v7/recover", { admin: true })))

        const deleted = yield* node.request("DELETE", `/api/v1/admin/workspaces/${tag.ws}/biz-tags/g/t`, { admin: true })
        assert.strictEqual(deleted.status, 204, deleted.text)
        assertError(yield* generate(node, tag), 404, "IDGEN-COMMON-0007")
      }))
  }
)
