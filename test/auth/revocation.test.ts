/**
 * API-key revocation across nodes: two server processes share a database and
 * a Redis (the suite's own); both trust verified keys locally for 2000 ms, the most the
 * configuration allows. A key revoked through node A is refused by node B within 2 s,
 * and B's log shows the broadcast did it. Failed key use lands in the audit log.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { OwnRedis } from "../support/OwnRedis.ts"
import { type PairShape, pairLayer } from "../support/ServerPair.ts"
import { assertError, wait } from "../support/ServerProcess.ts"

class Pair extends Context.Service<Pair, PairShape>()("test/auth/Pair") {}

// Both nodes trust verified keys locally for 2000 ms, the most the configuration allows.
const PairLive = pairLayer(Pair, "rev", { toml: "[auth]\ncache_ttl_millis = 2000\n" }).pipe(
  Layer.provide(OwnRedis.layer)
)

const seq = { workspace: "rev", group: "g", biz_tag: "t" }

layer(PairLive, { excludeTestServices: true, timeout: 120_000 })("API-key revocation broadcast", (it) => {
  it.effect("a key revoked on node A is refused on node B within 2 s", () =>
    Effect.gen(function*() {
      const { a, b } = yield* Pair
      const created = yield* a.request("POST", "/api/v1/admin/workspaces", {
        admin: true,
        json: { name: "rev", default_algorithm: "uuid_v7" }
      })
      assert.strictEqual(created.status, 201, created.text)
      const key = yield* a.request("POST", "/api/v1/admin/workspaces/rev/api-keys", { admin: true })
      assert.strictEqual(key.status, 201, key.text)
      const { id, key: apiKey } = key.json as { id: string; key: string }
      // Both nodes have verified (and cached) the key.
      for (const server of [a, b]) {
        assert.strictEqual((yield* server.request("POST", "/api/v1/generate", { apiKey, json: seq })).status, 200)
      }
      const revoked = yield* a.request("DELETE", `/api/v1/admin/workspaces/rev/api-keys/${id}`, { admin: true })
      assert.isBelow(revoked.status, 300, revoked.text)
      const deadline = Date.now() + 2_000
      while (true) {
        const res = yield* b.request("POST", "/api/v1/generate", { apiKey, json: seq })
        if (res.status === 401) {
          assertError(res, 401, "IDGEN-COMMON-0002")
          break
        }
        assert.strictEqual(res.status, 200, res.text)
        if (Date.now() > deadline) return assert.fail("node B still accepts the revoked key after 2 s")
        yield* wait(20)
      }
      assert.include(b.output(), id, "node B logged the revocation broadcast")
      assert.include(b.output(), "API key revoked (broadcast)")
      // And it stays refused on both nodes (the shared cache cannot bring it back).
      for (const server of [a, b]) {
        assert.strictEqual((yield* server.request("POST", "/api/v1/generate", { apiKey, json: seq })).status, 401)
      }
    }))
})
