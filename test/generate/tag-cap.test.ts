/**
 * Tag floods (issue 14, contract `max_auto_biz_tags`): a workspace auto-creates at most its
 * limit of biz_tags (default 10 000; operator-created ones do not count). Past it, an
 * unknown biz_tag is 404 IDGEN-COMMON-0007 naming the limit and the operator API, on HTTP,
 * gRPC and RPC alike — exact under concurrent requests — while the biz_tags it has keep
 * serving, the operator can still create more, and the node's memory stays bounded.
 */
import { status as Status } from "@grpc/grpc-js"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as GrpcClient from "../support/GrpcClient.ts"
import { rssBytes } from "../support/ProcessMemory.ts"
import * as RawRpc from "../support/RawRpc.ts"
import { assertError, createBizTag, ServerProcess, type ServerProcessShape, workspaceWithKey } from "../support/ServerProcess.ts"

const limit = 20
const tag = (workspace: string, biz_tag: string) => ({ workspace, group: "g", biz_tag })

/** Generates one ID of `biz_tag` over `via`: 200, or 404 with the contract's error naming the limit (checked). */
const generate = (
  server: ServerProcessShape,
  grpc: GrpcClient.GrpcClientShape,
  via: "http" | "grpc" | "rpc",
  apiKey: string,
  workspace: string,
  biz_tag: string
) => {
  const request = tag(workspace, biz_tag)
  const namesLimit = (message: string) => {
    assert.include(message, `limit of ${limit}`)
    assert.include(message, "max_auto_biz_tags")
    assert.include(message, `/api/v1/admin/workspaces/${workspace}/biz-tags`)
  }
  switch (via) {
    case "http":
      return Effect.map(server.request("POST", "/api/v1/generate", { apiKey, json: request }), (res) => {
        if (res.status === 200) return 200
        namesLimit(assertError(res, 404, "IDGEN-COMMON-0007").message)
        return 404
      })
    case "grpc":
      return Effect.map(grpc.call("Generate", request, { apiKey }), (reply) => {
        if (reply.ok) return 200
        namesLimit(GrpcClient.assertStatus(reply, Status.NOT_FOUND, "IDGEN-COMMON-0007").details)
        return 404
      })
    case "rpc":
      return Effect.map(RawRpc.call(server, "Generate", request, apiKey), ({ exit, text }) => {
        if (exit._tag === "Success") return 200
        const error = exit.cause[0].error
        assert.strictEqual(error?._tag, "NotFound", text)
        namesLimit(error.message)
        return 404
      })
  }
}

layer(ServerProcess.layer(), { timeout: "180 seconds", excludeTestServices: true })("auto-created biz_tags are capped per workspace", (it) => {
  it.effect("a workspace's limit defaults to 10000", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const created = yield* server.request("POST", "/api/v1/admin/workspaces", { admin: true, json: { name: "cap-default" } })
      assert.strictEqual(created.status, 201, created.text)
      assert.strictEqual(created.json.max_auto_biz_tags, 10_000)
    }))

  it.effect("60 new biz_tags at once over HTTP, gRPC and RPC: exactly the limit is created, the rest is 404 IDGEN-COMMON-0007; operator-created ones do not count and still work", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const grpc = yield* GrpcClient.make(server.grpcPort)
      const apiKey = yield* workspaceWithKey(server, { name: "cap", max_auto_biz_tags: limit })
      yield* createBizTag(server, "cap", { group: "g", name: "operator-1", algorithm: "segment" })

      const interfaces = ["http", "grpc", "rpc"] as const
      const results = yield* Effect.forEach(
        Array.from({ length: 60 }, (_, i) => i),
        (i) => Effect.map(generate(server, grpc, interfaces[i % 3]!, apiKey, "cap", `auto-${i}`), (status) => ({ i, status })),
        { concurrency: 12 }
      )
      const created = results.filter((r) => r.status === 200)
      assert.strictEqual(created.length, limit, JSON.stringify(results))
      for (const via of interfaces) assert.isTrue(results.some((r) => r.status === 404 && interfaces[r.i % 3] === via), `no 404 over ${via}`)

      // What exists keeps serving: the auto-created biz_tags and the operator's.
      for (const { i } of created.slice(0, 5)) assert.strictEqual(yield* generate(server, grpc, "http", apiKey, "cap", `auto-${i}`), 200)
      assert.strictEqual(yield* generate(server, grpc, "grpc", apiKey, "cap", "operator-1"), 200)
      // The operator can still create biz_tags past the limit.
      yield* createBizTag(server, "cap", { group: "g", name: "operator-2", algorithm: "snowflake" })
      assert.strictEqual(yield* generate(server, grpc, "rpc", apiKey, "cap", "operator-2"), 200)
      const listed = yield* server.request("GET", "/api/v1/admin/workspaces/cap/biz-tags", { admin: true })
      const names = (listed.json.items ?? listed.json) as Array<{ name: string }>
      assert.strictEqual(names.length, limit + 2, listed.text)
      // Other workspaces are not affected.
      const otherKey = yield* workspaceWithKey(server, { name: "cap-other", max_auto_biz_tags: limit })
      assert.strictEqual(yield* generate(server, grpc, "http", otherKey, "cap-other", "auto-0"), 200)
    }))

  it.effect("1000 new biz_tags against a full workspace: all 404, memory stays bounded", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const grpc = yield* GrpcClient.make(server.grpcPort)
      const apiKey = yield* workspaceWithKey(server, { name: "cap-flood", max_auto_biz_tags: limit })
      const fill = yield* Effect.forEach(Array.from({ length: limit }, (_, i) => i), (i) =>
        generate(server, grpc, "http", apiKey, "cap-flood", `fill-${i}`))
      assert.isTrue(fill.every((status) => status === 200))
      const before = yield* rssBytes(server.pid()!)
      const flood = yield* Effect.forEach(
        Array.from({ length: 1000 }, (_, i) => i),
        (i) => generate(server, grpc, "http", apiKey, "cap-flood", `flood-${i}`),
        { concurrency: 16 }
      )
      assert.deepStrictEqual(flood.filter((status) => status !== 404), [], "a biz_tag past the limit was created")
      const growth = (yield* rssBytes(server.pid()!)) - before
      assert.isBelow(growth, 64 * 1024 * 1024, `RSS grew ${(growth / 1024 / 1024).toFixed(1)} MiB`)
    }))
})
