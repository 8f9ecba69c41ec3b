/**
 * How long a node cut off from the database honours an API key (`auth.outage_grace_ms`):
 * it cannot learn of a revocation made elsewhere, so past the grace it answers 503
 * IDGEN-SEG-1003 (it cannot check the key; the key is not known to be bad, so not 401).
 * Two nodes on the suite's own PostgreSQL, one alone and one sharing verified keys
 * through Redis (whose entries outlive the grace), both with a grace of GRACE_MS. The
 * biz_tag issues uuid_v7, which needs no database: only the key check can refuse.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { OwnPostgres } from "../support/OwnPostgres.ts"
import { OwnRedis } from "../support/OwnRedis.ts"
import * as ServerProcess from "../support/ServerProcess.ts"
import { eventually } from "../support/Eventually.ts"

const GRACE_MS = 5_000
/** The most a key can outlive the grace: the local trust (`cache_ttl_millis`, default 1 s) and a request's round trip. */
const SLACK_MS = 2_500

const body = { workspace: "grace", group: "g", biz_tag: "t" }

describe("API keys while the database is unreachable", () => {
  layer(Layer.merge(OwnPostgres.layer, OwnRedis.layer), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect(`a key is honoured ${GRACE_MS / 1000} s after its last confirmation, then 503 IDGEN-SEG-1003, and again once the database is back`, () =>
      Effect.gen(function*() {
        const pg = yield* OwnPostgres
        const redis = yield* OwnRedis
        const env = { IDGEN_AUTH_OUTAGE_GRACE_MS: String(GRACE_MS) }
        const alone = yield* ServerProcess.make(pg.url, { env: { ...env, IDGEN_WORKER_ID: "1", IDGEN_NODE_NAME: "alone" } })
        const shared = yield* ServerProcess.make(pg.url, {
          env: { ...env, IDGEN_WORKER_ID: "2", IDGEN_NODE_NAME: "shared", IDGEN_REDIS_URL: redis.url }
        })
        const nodes = [alone, shared]
        const apiKey = yield* ServerProcess.workspaceWithKey(alone, { name: "grace", default_algorithm: "uuid_v7" })
        const generate = (node: ServerProcess.ServerProcessShape) => node.request("POST", "/api/v1/generate", { apiKey, json: body })

        // Both nodes verify the key against the database (and know the biz_tag) just before it goes.
        for (const node of nodes) {
          const res = yield* generate(node)
          assert.strictEqual(res.status, 200, res.text)
        }
        // The shared entry of the key outlives the grace: only the bound can refuse the key there.
        const entry = `idgen:apikey:${createHash("sha256").update(apiKey).digest("hex")}`
        assert.isAbove(Number(yield* redis.command("PTTL", entry)), GRACE_MS + SLACK_MS)
        yield* pg.stop
        yield* Effect.addFinalizer(() => Effect.ignore(pg.start))
        const stoppedAt = Date.now()

        // Each node answers 200 until its grace ends, then the contract's storage error.
        const refusedAfter = yield* Effect.forEach(nodes, (node) =>
          Effect.gen(function*() {
            while (true) {
              const res = yield* generate(node)
              const elapsed = Date.now() - stoppedAt
              if (res.status !== 200) {
                ServerProcess.assertError(res, 503, "IDGEN-SEG-1003")
                return elapsed
              }
              assert.strictEqual(res.json.algorithm, "uuid_v7")
              if (elapsed > GRACE_MS + SLACK_MS) return assert.fail(`key still honoured ${elapsed} ms into the outage`)
              yield* ServerProcess.wait(100)
            }
          }), { concurrency: "unbounded" })
        for (const elapsed of refusedAfter) {
          // Confirmed at most a second or so before the stop: honoured for most of the grace.
          assert.isAtLeast(elapsed, GRACE_MS - SLACK_MS)
        }

        yield* pg.start
        for (const node of nodes) {
          yield* eventually("the key works again", 30_000, Effect.map(generate(node), (res) => res.status === 200 ? true : undefined))
        }
      }))

    it.effect("a valid key this node never verified, while the database is down: 503 IDGEN-SEG-1003, never a failed-attempt 429", () =>
      Effect.gen(function*() {
        const pg = yield* OwnPostgres
        // A small failed-attempt budget per address: lookups the database could not answer must not spend it.
        const node = yield* ServerProcess.make(pg.url, {
          env: { IDGEN_WORKER_ID: "3", IDGEN_NODE_NAME: "fresh", IDGEN_AUTH_FAILED_PER_IP_BURST: "3", IDGEN_AUTH_FAILED_PER_IP_PER_SECOND: "1" }
        })
        const apiKey = yield* ServerProcess.workspaceWithKey(node, { name: "unverified", default_algorithm: "uuid_v7" })
        const json = { ...body, workspace: "unverified" }
        yield* pg.stop
        yield* Effect.addFinalizer(() => Effect.ignore(pg.start))
        for (let i = 0; i < 12; i++) {
          const res = yield* node.request("POST", "/api/v1/generate", { apiKey, json })
          ServerProcess.assertError(res, 503, "IDGEN-SEG-1003")
        }
        yield* pg.start
        yield* eventually("the key works once the database is back", 30_000,
          Effect.map(node.request("POST", "/api/v1/generate", { apiKey, json }), (res) => res.status === 200 ? true : undefined))
      }))
  })
})
