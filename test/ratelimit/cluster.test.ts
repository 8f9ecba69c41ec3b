/**
 * Rate limiting across two real server processes sharing one database and
 * one Redis (the suite's own, so that stopping it disturbs nobody): the per-workspace and
 * the per-IP token buckets hold for the cluster as a whole, answer 429 IDGEN-COMMON-0003
 * with `Retry-After` on the fast path and on the HttpApi path alike, leave other workspaces
 * alone, and keep being enforced per node while Redis is down.
 *
 * The limits are 1 token/s, so the bound on successes is `burst + elapsed seconds + 1`
 * whatever the speed of the machine; two independent nodes would allow twice the burst.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { request as httpRequest } from "node:http"
import { eventually } from "../support/Eventually.ts"
import { OwnRedis } from "../support/OwnRedis.ts"
import { type PairShape, pairLayer } from "../support/ServerPair.ts"
import { assertError, type ServerProcessShape, workspaceWithKey } from "../support/ServerProcess.ts"

class Pair extends Context.Service<Pair, PairShape>()("test/ratelimit/Pair") {}
class IpPair extends Context.Service<IpPair, PairShape>()("test/ratelimit/IpPair") {}

const Suite = Layer.mergeAll(
  pairLayer(Pair, "rl"),
  pairLayer(IpPair, "rlip", { env: { IDGEN_RATE_LIMIT_PER_IP_PER_SECOND: "1", IDGEN_RATE_LIMIT_PER_IP_BURST: "10" } })
).pipe(Layer.provideMerge(OwnRedis.layer))

const seq = (workspace: string) => ({ workspace, group: "g", biz_tag: "t" })

interface Tally {
  ok: number
  limited: number
  /** 429s per node index. */
  limitedBy: Array<number>
  elapsedSeconds: number
}

/** `n` sequential generate requests, alternating over `servers`; every 429 is checked. */
const hammer = (servers: ReadonlyArray<ServerProcessShape>, apiKey: string, workspace: string, n: number, scope: string) =>
  Effect.gen(function*() {
    const tally: Tally = { ok: 0, limited: 0, limitedBy: servers.map(() => 0), elapsedSeconds: 0 }
    const started = Date.now()
    for (let i = 0; i < n; i++) {
      const res = yield* servers[i % servers.length]!.request("POST", "/api/v1/generate", { apiKey, json: seq(workspace) })
      if (res.status === 200) {
        tally.ok++
        continue
      }
      const error = assertError(res, 429, "IDGEN-COMMON-0003")
      assert.strictEqual(error.details.scope, scope)
      assert.isAbove(error.details.retry_after_seconds, 0)
      assert.isAtLeast(Number(res.headers.get("retry-after")), 1, "Retry-After")
      tally.limited++
      tally.limitedBy[i % servers.length]!++
    }
    tally.elapsedSeconds = (Date.now() - started) / 1000
    return tally
  })

/** Most a 1/s bucket with `burst` can allow over the tally's run. */
const bound = (burst: number, tally: Tally) => burst + Math.ceil(tally.elapsedSeconds) + 1

/** A generate request with a chunked body: the fast path leaves those to the HttpApi router. */
const routerGenerate = (server: ServerProcessShape, apiKey: string, workspace: string) =>
  Effect.callback<{ status: number; retryAfter: string | undefined; body: string }>((resume) => {
    const req = httpRequest({
      host: "127.0.0.1",
      port: server.port,
      method: "POST",
      path: "/api/v1/generate",
      headers: { "content-type": "application/json", "x-api-key": apiKey, "transfer-encoding": "chunked" }
    }, (res) => {
      let body = ""
      res.on("data", (chunk: Buffer) => (body += chunk.toString()))
      res.on("end", () =>
        resume(Effect.succeed({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"], body })))
    })
    req.on("error", (error) => resume(Effect.die(error)))
    req.end(JSON.stringify(seq(workspace)))
  })

layer(Suite, { excludeTestServices: true, timeout: 120_000 })("rate limiting across 2 nodes sharing Redis", (it) => {
  it.effect("a workspace's limit holds for the cluster; other workspaces are unaffected", () =>
    Effect.gen(function*() {
      const { a, b } = yield* Pair
      const limitedKey = yield* workspaceWithKey(a, { name: "rl-ws", rate_limit: { per_second: 1, burst: 20 } })
      const freeKey = yield* workspaceWithKey(a, { name: "rl-free" })
      const tally = yield* hammer([a, b], limitedKey, "rl-ws", 60, "workspace")
      assert.isAtMost(tally.ok, bound(20, tally), JSON.stringify(tally))
      assert.isAtLeast(tally.ok, 20, JSON.stringify(tally))
      assert.isAbove(tally.limitedBy[0]!, 0, "node A refused some")
      assert.isAbove(tally.limitedBy[1]!, 0, "node B refused some")
      // The HttpApi path (here: a chunked body) refuses the same way, with Retry-After. The
      // bucket gains a token a second, so of a few quick calls at most one or two can pass.
      const viaRouter = yield* Effect.forEach([1, 2, 3, 4, 5], () => routerGenerate(b, limitedKey, "rl-ws"))
        .pipe(Effect.map((answers) => answers.find((answer) => answer.status !== 200) ?? answers[0]!))
      assert.strictEqual(viaRouter.status, 429, viaRouter.body)
      assert.strictEqual(JSON.parse(viaRouter.body).error.code, "IDGEN-COMMON-0003")
      assert.isAtLeast(Number(viaRouter.retryAfter), 1)
      // The other workspace is served on both nodes meanwhile.
      const free = yield* hammer([a, b], freeKey, "rl-free", 20, "workspace")
      assert.strictEqual(free.ok, 20)
      assert.strictEqual((yield* routerGenerate(b, freeKey, "rl-free")).status, 200)
    }))

  it.effect("a client address's limit holds for the cluster, across workspaces", () =>
    Effect.gen(function*() {
      const { a, b } = yield* IpPair
      const one = yield* workspaceWithKey(a, { name: "ip-one" })
      const two = yield* workspaceWithKey(a, { name: "ip-two" })
      // Operator requests do not count: only the ID endpoints are limited.
      const started = Date.now()
      const first = yield* hammer([a, b], one, "ip-one", 20, "client_ip")
      const second = yield* hammer([b, a], two, "ip-two", 20, "client_ip")
      const tally = { ...first, ok: first.ok + second.ok, elapsedSeconds: (Date.now() - started) / 1000 }
      assert.isAtMost(tally.ok, bound(10, tally), JSON.stringify([first, second]))
      assert.isAbove(first.limited + second.limited, 0)
    }))

  it.effect("Redis down: each node keeps enforcing the limit on its own, nothing crashes; Redis back: cluster-wide again", () =>
    Effect.gen(function*() {
      const { a, b } = yield* Pair
      const redis = yield* OwnRedis
      const key = yield* workspaceWithKey(a, { name: "rl-down", rate_limit: { per_second: 1, burst: 10 } })
      yield* redis.stop
      for (const server of [a, b]) {
        const tally = yield* hammer([server], key, "rl-down", 25, "workspace")
        assert.isAtMost(tally.ok, bound(10, tally), JSON.stringify(tally))
        assert.isAbove(tally.limited, 0)
        assert.strictEqual((yield* server.request("GET", "/live")).status, 200)
      }
      yield* redis.start
      // Back to Redis once the nodes have reconnected: the bucket shows up in Redis again.
      const back = yield* workspaceWithKey(a, { name: "rl-back", rate_limit: { per_second: 1, burst: 10 } })
      for (const server of [a, b]) {
        yield* eventually(
          "the node takes tokens from Redis again",
          20_000,
          Effect.gen(function*() {
            yield* redis.command("DEL", "idgen:ratelimit:ws:rl-back")
            yield* server.request("POST", "/api/v1/generate", { apiKey: back, json: seq("rl-back") })
            return (yield* redis.command("EXISTS", "idgen:ratelimit:ws:rl-back")) === 1
          })
        )
      }
      const fresh = yield* workspaceWithKey(a, { name: "rl-fresh", rate_limit: { per_second: 1, burst: 20 } })
      const tally = yield* hammer([a, b], fresh, "rl-fresh", 60, "workspace")
      assert.isAtMost(tally.ok, bound(20, tally), JSON.stringify(tally))
    }))
})
