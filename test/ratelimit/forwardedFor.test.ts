/**
 * `rate_limit.trusted_proxies`: the per-IP limit keys on `X-Forwarded-For` only when the
 * connection comes from a trusted proxy (here the tests' own 127.0.0.1), and then on the
 * rightmost address that is not a proxy; from any other peer the header is ignored. Each
 * scenario runs round-robin over the three HTTP ways in: the fast path (generate), the
 * router (parse) and `/rpc`. Limits are 1 token/s with a burst of 3, so the bound on
 * successes is `3 + elapsed seconds + 1` whatever the speed of the machine.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as RawRpc from "../support/RawRpc.ts"
import { make, type ServerProcessShape, workspaceWithKey } from "../support/ServerProcess.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

class Untrusted extends Context.Service<Untrusted, ServerProcessShape>()("test/ratelimit/forwardedFor/Untrusted") {}
class Trusted extends Context.Service<Trusted, ServerProcessShape>()("test/ratelimit/forwardedFor/Trusted") {}

const serverWith = <I>(tag: Context.Key<I, ServerProcessShape>, trustedProxies: string) =>
  Layer.effect(
    tag,
    Effect.flatMap(TestDatabase.make, (databaseUrl) =>
      make(databaseUrl, {
        env: {
          IDGEN_RATE_LIMIT_PER_IP_PER_SECOND: "1",
          IDGEN_RATE_LIMIT_PER_IP_BURST: "3",
          IDGEN_RATE_LIMIT_TRUSTED_PROXIES: trustedProxies
        }
      })).pipe(Effect.orDie)
  )

const Suite = Layer.mergeAll(serverWith(Untrusted, "10.0.0.0/8, fd00::/8"), serverWith(Trusted, "127.0.0.1/32"))

const seq = { workspace: "xff", group: "g", biz_tag: "t" }

/** One request claiming `forwardedFor`: true when admitted, false when refused by the per-IP limit (checked). */
type Way = (server: ServerProcessShape, apiKey: string, forwardedFor: string) => Effect.Effect<boolean>

const refusedForAddress = (status: number, text: string) => {
  assert.strictEqual(status, 429, text)
  assert.include(text, "client_ip")
  return false
}

const fastPath: Way = (server, apiKey, forwardedFor) =>
  Effect.map(
    server.request("POST", "/api/v1/generate", { apiKey, json: seq, headers: { "x-forwarded-for": forwardedFor } }),
    (res) => res.status === 200 || refusedForAddress(res.status, res.text)
  )

/** Parse of an id that is not one: admitted requests get the contract's 400, refused ones the 429. */
const router: Way = (server, apiKey, forwardedFor) =>
  Effect.map(
    server.request("POST", "/api/v1/parse", { apiKey, json: { id: "x" }, headers: { "x-forwarded-for": forwardedFor } }),
    (res) => res.status === 400 || refusedForAddress(res.status, res.text)
  )

const rpc: Way = (server, apiKey, forwardedFor) =>
  Effect.map(RawRpc.post(server, RawRpc.message("Generate", seq), { "x-api-key": apiKey, "x-forwarded-for": forwardedFor }), (res) => {
    assert.strictEqual(res.status, 200, res.text)
    const exit = JSON.parse(res.text.trim()).exit
    return exit._tag === "Success" || refusedForAddress(429, res.text)
  })

const ways = [fastPath, router, rpc]

/** `n` requests round-robin over the ways, the i-th claiming `forwardedFor(i)`; admitted and refused counts per way. */
const hammer = (server: ServerProcessShape, apiKey: string, n: number, forwardedFor: (i: number) => string) =>
  Effect.gen(function*() {
    const started = Date.now()
    let ok = 0
    const refusedBy = ways.map(() => 0)
    for (let i = 0; i < n; i++) {
      if (yield* ways[i % ways.length]!(server, apiKey, forwardedFor(i))) ok++
      else refusedBy[i % ways.length]!++
    }
    return { ok, refusedBy, bound: 3 + Math.ceil((Date.now() - started) / 1000) + 1 }
  })

layer(Suite, { excludeTestServices: true, timeout: 120_000 })("X-Forwarded-For and trusted proxies", (it) => {
  it.effect("from a peer that is not a trusted proxy the header is ignored: every claimed address shares the peer's bucket", () =>
    Effect.gen(function*() {
      const server = yield* Untrusted
      const apiKey = yield* workspaceWithKey(server, { name: "xff" })
      const tally = yield* hammer(server, apiKey, 18, (i) => `198.51.100.${i + 1}`)
      assert.isAtMost(tally.ok, tally.bound, JSON.stringify(tally))
      assert.isTrue(tally.refusedBy.every((n) => n > 0), `every way refused some: ${JSON.stringify(tally)}`)
    }))

  it.effect("from a trusted proxy the rightmost untrusted address is the client: two clients get separate buckets", () =>
    Effect.gen(function*() {
      const server = yield* Trusted
      const apiKey = yield* workspaceWithKey(server, { name: "xff" })
      // Client A, sometimes with made-up hops in front (the client's own writing) and the proxy's behind.
      const a = yield* hammer(server, apiKey, 18, (i) =>
        i % 2 === 0 ? "198.51.100.1" : `203.0.113.${i}, 198.51.100.1, 127.0.0.1`)
      assert.isAtMost(a.ok, a.bound, JSON.stringify(a))
      assert.isTrue(a.refusedBy.every((n) => n > 0), `every way refused client A: ${JSON.stringify(a)}`)
      // Client B has its own full bucket (burst 3): one request per way, all admitted.
      const b = yield* hammer(server, apiKey, 3, () => "198.51.100.2")
      assert.deepStrictEqual(b.refusedBy, [0, 0, 0], JSON.stringify(b))
      assert.strictEqual(b.ok, 3)
    }))
})
