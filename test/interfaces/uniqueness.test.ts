/**
 * HTTP, gRPC and Effect RPC clients pulling from the same biz_tags (segment and snowflake)
 * of one real server at the same time: over 500 000 IDs, not one issued twice.
 */
import { assert, layer } from "@effect/vitest"
import { IdgenClient } from "@idgen/client"
import { Context, Effect, Layer } from "effect"
import * as GrpcClient from "../support/GrpcClient.ts"
import { createBizTag, ServerProcess, workspaceWithKey } from "../support/ServerProcess.ts"

const batchSize = 2000
const batchesPerTag = 42 // × 2 tags × 3 interfaces × 2000 = 504 000 IDs

layer(ServerProcess.layer(), { timeout: "180 seconds", excludeTestServices: true })("cross-interface uniqueness", (it) => {
  it.effect("HTTP + gRPC + RPC concurrently: ≥ 500 000 IDs, zero duplicates", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "mix" })
      yield* createBizTag(server, "mix", { group: "g", name: "events", algorithm: "snowflake" })
      const grpc = yield* GrpcClient.make(server.grpcPort)
      const rpc = Context.get(yield* Layer.build(IdgenClient.layer({ endpoints: [server.baseUrl], apiKey })), IdgenClient)
      const tags = ["orders", "events"] as const

      const viaHttp = (biz_tag: string) =>
        Effect.map(
          server.request("POST", "/api/v1/generate/batch", { apiKey, json: { workspace: "mix", group: "g", biz_tag, size: batchSize } }),
          (res) => {
            assert.strictEqual(res.status, 200, res.text)
            return res.json.ids as ReadonlyArray<string>
          }
        )
      const viaGrpc = (biz_tag: string) =>
        Effect.map(
          grpc.call("BatchGenerate", { workspace: "mix", group: "g", biz_tag, size: batchSize }, { apiKey }),
          (reply) => GrpcClient.valueOf(reply).ids as ReadonlyArray<string>
        )
      const viaRpc = (biz_tag: string) => Effect.map(rpc.batch(`mix/g/${biz_tag}`, batchSize), (batch) => batch.ids)

      const pull = (via: (tag: string) => Effect.Effect<ReadonlyArray<string>, unknown>) =>
        Effect.forEach(
          tags.flatMap((tag) => Array.from({ length: batchesPerTag }, () => tag)),
          (tag) => via(tag),
          { concurrency: 2 }
        )
      const [http, grpcIds, rpcIds] = yield* Effect.all([pull(viaHttp), pull(viaGrpc), pull(viaRpc)], {
        concurrency: "unbounded"
      })

      const seen = new Set<string>()
      let total = 0
      for (const batches of [http, grpcIds, rpcIds]) {
        for (const batch of batches) {
          assert.strictEqual(batch.length, batchSize)
          for (const id of batch) seen.add(id)
          total += batch.length
        }
      }
      assert.isAtLeast(total, 500_000)
      assert.strictEqual(seen.size, total, `${total - seen.size} duplicate IDs`)
    }))
})
