/**
 * A workspace's limit on IDs per second (`rate_limit.ids_per_second`, `ids_burst`) beside
 * its limit on requests: a batch of n takes n tokens. Two nodes sharing a Redis, so the
 * IDs bucket is the cluster's. The IDs bucket here holds 100 and refills at 1/s, while
 * requests are limited far above what the test sends: a batch of 1000 is refused at once,
 * 60 then 60 more across the two nodes is refused the second time, a batch of 10 passes
 * — over HTTP, gRPC and Effect RPC alike, each answered with its interface's 429.
 */
import { status as Status } from "@grpc/grpc-js"
import { assert, layer } from "@effect/vitest"
import { IdgenClient } from "@idgen/client"
import { Errors } from "@idgen/core"
import { Context, Effect, Layer, type Scope } from "effect"
import * as GrpcClient from "../support/GrpcClient.ts"
import { OwnRedis } from "../support/OwnRedis.ts"
import { type PairShape, pairLayer } from "../support/ServerPair.ts"
import { type ServerProcessShape, workspaceWithKey } from "../support/ServerProcess.ts"

class Pair extends Context.Service<Pair, PairShape>()("test/ratelimit/idsPerSecond/Pair") {}

const Suite = pairLayer(Pair, "rlids").pipe(Layer.provideMerge(OwnRedis.layer))

const rateLimit = { per_second: 1000, burst: 1000, ids_per_second: 1, ids_burst: 100 }

/** One batch on some node: true when its `size` IDs were served, false when refused by the IDs limit (checked). */
type Batch = (server: ServerProcessShape, size: number) => Effect.Effect<boolean>

interface Interface {
  readonly name: string
  /** The batch call of this interface, with its clients for `servers` connected. */
  readonly batch: (
    apiKey: string,
    workspace: string,
    servers: ReadonlyArray<ServerProcessShape>
  ) => Effect.Effect<Batch, never, Scope.Scope>
}

const http: Interface = {
  name: "http",
  batch: (apiKey, workspace) =>
    Effect.succeed<Batch>((server, size) =>
      Effect.map(
        server.request("POST", "/api/v1/generate/batch", { apiKey, json: { workspace, group: "g", biz_tag: "t", size } }),
        (res) => {
          if (res.status === 200) {
            assert.lengthOf(res.json.ids, size)
            return true
          }
          assert.strictEqual(res.status, 429, res.text)
          assert.strictEqual(res.json.error.code, "IDGEN-COMMON-0003")
          assert.strictEqual(res.json.error.details.scope, "workspace_ids", res.text)
          assert.strictEqual(res.json.error.details.workspace, workspace)
          assert.match(String(res.headers.get("retry-after")), /^[1-9][0-9]*$/)
          return false
        }
      )
    )
}

const grpc: Interface = {
  name: "grpc",
  batch: (apiKey, workspace, servers) =>
    Effect.gen(function*() {
      const clients = new Map<ServerProcessShape, GrpcClient.GrpcClientShape>()
      for (const server of servers) clients.set(server, yield* GrpcClient.make(server.grpcPort))
      return (server, size) =>
        Effect.gen(function*() {
          const reply = yield* clients.get(server)!.call("BatchGenerate", { workspace, group: "g", biz_tag: "t", size }, { apiKey })
          if (reply.ok) {
            assert.lengthOf((reply.value as { ids: Array<unknown> }).ids, size)
            return true
          }
          GrpcClient.assertStatus(reply, Status.RESOURCE_EXHAUSTED, "IDGEN-COMMON-0003")
          assert.match(String(reply.metadata["retry-after"]), /^[1-9][0-9]*$/, "retry-after")
          assert.include(reply.details, "ids_per_second")
          return false
        })
    })
}

const rpc: Interface = {
  name: "rpc",
  batch: (apiKey, workspace, servers) =>
    Effect.gen(function*() {
      const clients = new Map<ServerProcessShape, IdgenClient["Service"]>()
      for (const server of servers) {
        const built = yield* Layer.build(IdgenClient.layer({ endpoints: [server.baseUrl], apiKey, transport: "http" }))
        clients.set(server, Context.get(built, IdgenClient))
      }
      return (server, size) =>
        Effect.gen(function*() {
          const result = yield* Effect.result(clients.get(server)!.batch(`${workspace}/g/t`, size))
          if (result._tag === "Success") {
            assert.lengthOf(result.success.ids, size)
            return true
          }
          assert.instanceOf(result.failure, Errors.RateLimitExceeded, String(result.failure))
          const error = result.failure as Errors.RateLimitExceeded
          assert.isAbove(error.retryAfterSeconds, 0)
          assert.strictEqual(error.details?.["scope"], "workspace_ids")
          assert.strictEqual(error.details?.["workspace"], workspace)
          return false
        })
    })
}

layer(Suite, { excludeTestServices: true, timeout: 120_000 })("IDs per second per workspace, 2 nodes sharing Redis", (it) => {
  it.effect("the operator API keeps ids_per_second/ids_burst beside per_second/burst, and leaves them out when unset", () =>
    Effect.gen(function*() {
      const { a, b } = yield* Pair
      yield* workspaceWithKey(a, { name: "ids-shape", rate_limit: { per_second: 5, burst: 7, ids_per_second: 50 } })
      const got = yield* b.request("GET", "/api/v1/admin/workspaces/ids-shape", { admin: true })
      assert.deepStrictEqual(got.json.rate_limit, { per_second: 5, burst: 7, ids_per_second: 50, ids_burst: 50 })
      yield* workspaceWithKey(a, { name: "requests-only", rate_limit: { per_second: 5, burst: 7 } })
      const plain = yield* b.request("GET", "/api/v1/admin/workspaces/requests-only", { admin: true })
      assert.deepStrictEqual(plain.json.rate_limit, { per_second: 5, burst: 7 })
      const cleared = yield* b.request("PATCH", "/api/v1/admin/workspaces/ids-shape", {
        admin: true,
        json: { rate_limit: { per_second: 5, burst: 7 } }
      })
      assert.deepStrictEqual(cleared.json.rate_limit, { per_second: 5, burst: 7 }, cleared.text)
    }))

  for (const iface of [http, grpc, rpc]) {
    it.effect(`${iface.name}: a batch over the IDs limit is refused with 429 IDGEN-COMMON-0003 and Retry-After; a small one passes`, () =>
      Effect.gen(function*() {
        const { a, b } = yield* Pair
        const workspace = `ids-${iface.name}`
        const apiKey = yield* workspaceWithKey(a, { name: workspace, rate_limit: rateLimit })
        const batch = yield* iface.batch(apiKey, workspace, [a, b])
        assert.isFalse(yield* batch(a, 1000), "1000 IDs > ids_burst 100")
        assert.isTrue(yield* batch(b, 10), "10 IDs")
        assert.isTrue(yield* batch(a, 60), "60 more IDs: 70 of 100")
        // 30 left plus a token a second: 60 more only after 30 s.
        assert.isFalse(yield* batch(b, 60), "60 more IDs on the other node")
        assert.isTrue(yield* batch(b, 10), "10 IDs still pass")
      }))
  }
})
