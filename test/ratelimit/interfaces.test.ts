/**
 * Rate limiting on every interface: the per-workspace and per-IP token
 * buckets that hold for HTTP (`cluster.test.ts`) hold over gRPC (RESOURCE_EXHAUSTED,
 * `idgen-error-code: IDGEN-COMMON-0003`, `retry-after`) and over Effect RPC on `/rpc` and
 * `/rpc/ws` (typed `RateLimitExceeded`), for two server processes sharing a database and
 * a Redis (the suite's own). The interfaces share one bucket per client address, and a
 * client cannot pick the address it is limited as.
 *
 * The limits are 1 token/s, so the bound on successes is `burst + elapsed seconds + 1`
 * whatever the speed of the machine; two independent nodes would allow twice the burst.
 */
import { status as Status } from "@grpc/grpc-js"
import { assert, layer } from "@effect/vitest"
import { IdgenClient, type IdgenClientShape } from "@idgen/client"
import { Errors } from "@idgen/core"
import { Context, Effect, Layer } from "effect"
import * as GrpcClient from "../support/GrpcClient.ts"
import { OwnRedis } from "../support/OwnRedis.ts"
import { type PairShape, pairLayer } from "../support/ServerPair.ts"
import { type ServerProcessShape, workspaceWithKey } from "../support/ServerProcess.ts"

class Pair extends Context.Service<Pair, PairShape>()("test/ratelimit/interfaces/Pair") {}
class IpPair extends Context.Service<IpPair, PairShape>()("test/ratelimit/interfaces/IpPair") {}

const Suite = Layer.mergeAll(
  pairLayer(Pair, "rli"),
  pairLayer(IpPair, "rlip", { env: { IDGEN_RATE_LIMIT_PER_IP_PER_SECOND: "1", IDGEN_RATE_LIMIT_PER_IP_BURST: "10" } })
).pipe(Layer.provideMerge(OwnRedis.layer))

const seq = (workspace: string) => ({ workspace, group: "g", biz_tag: "t" })

/** One generate call through some interface: true when served, false when rate limited (checked). */
type Call = (scope: "workspace" | "client_ip") => Effect.Effect<boolean>

const grpcCall = (grpc: GrpcClient.GrpcClientShape, apiKey: string, workspace: string): Call => (scope) =>
  Effect.map(grpc.call("Generate", seq(workspace), { apiKey }), (reply) => {
    if (reply.ok) return true
    GrpcClient.assertStatus(reply, Status.RESOURCE_EXHAUSTED, "IDGEN-COMMON-0003")
    assert.match(String(reply.metadata["retry-after"]), /^[1-9][0-9]*$/, "retry-after")
    assert.include(reply.details, scope === "workspace" ? workspace : "client address")
    return false
  })

const rpcCall = (client: IdgenClientShape, workspace: string): Call => (scope) =>
  Effect.map(Effect.result(client.generate(`${workspace}/g/t`)), (result) => {
    if (result._tag === "Success") return true
    assert.instanceOf(result.failure, Errors.RateLimitExceeded, String(result.failure))
    const error = result.failure as Errors.RateLimitExceeded
    assert.isAbove(error.retryAfterSeconds, 0)
    assert.strictEqual(error.details?.["scope"], scope)
    return false
  })

/** `n` calls, round-robin over `calls`; counts the served ones and the refusals per call. */
const hammer = (calls: ReadonlyArray<Call>, n: number, scope: "workspace" | "client_ip") =>
  Effect.gen(function*() {
    const started = Date.now()
    let ok = 0
    const limitedBy = calls.map(() => 0)
    for (let i = 0; i < n; i++) {
      if (yield* calls[i % calls.length]!(scope)) ok++
      else limitedBy[i % calls.length]!++
    }
    return { ok, limitedBy, elapsedSeconds: (Date.now() - started) / 1000 }
  })

/** Most a 1/s bucket with `burst` can allow over the tally's run. */
const bound = (burst: number, tally: { readonly elapsedSeconds: number }) => burst + Math.ceil(tally.elapsedSeconds) + 1

const rpcClient = (server: ServerProcessShape, apiKey: string, transport: "http" | "websocket") =>
  Effect.map(Layer.build(IdgenClient.layer({ endpoints: [server.baseUrl], apiKey, transport })), (context) =>
    Context.get(context, IdgenClient))

/** A raw `/rpc` POST whose message and HTTP headers both claim another client address. */
const spoofedRpc = (server: ServerProcessShape, apiKey: string, workspace: string): Call => () =>
  Effect.map(
    server.request("POST", "/rpc", {
      headers: { "content-type": "application/x-ndjson", "x-idgen-peer": "203.0.113.7", "x-forwarded-for": "203.0.113.7" },
      body: JSON.stringify({
        _tag: "Request",
        id: "1",
        tag: "Generate",
        payload: seq(workspace),
        headers: [["x-api-key", apiKey], ["x-idgen-peer", "203.0.113.8"], ["X-Idgen-Peer", "203.0.113.9"]]
      }) + "\n"
    }),
    (response) => {
      assert.strictEqual(response.status, 200, response.text)
      const exit = JSON.parse(response.text.split("\n").find((line) => line.includes("\"Exit\""))!).exit
      if (exit._tag === "Success") return true
      assert.include(response.text, "RateLimitExceeded")
      assert.include(response.text, "client_ip")
      return false
    }
  )

layer(Suite, { excludeTestServices: true, timeout: 180_000 })("rate limits over gRPC and Effect RPC, 2 nodes sharing Redis", (it) => {
  it.effect("a workspace's limit holds for the cluster over gRPC and RPC; other workspaces are unaffected", () =>
    Effect.gen(function*() {
      const { a, b } = yield* Pair
      const grpcA = yield* GrpcClient.make(a.grpcPort)
      const grpcB = yield* GrpcClient.make(b.grpcPort)

      const grpcKey = yield* workspaceWithKey(a, { name: "lim-grpc", rate_limit: { per_second: 1, burst: 10 } })
      const grpc = yield* hammer([grpcCall(grpcA, grpcKey, "lim-grpc"), grpcCall(grpcB, grpcKey, "lim-grpc")], 40, "workspace")
      assert.isAtMost(grpc.ok, bound(10, grpc), JSON.stringify(grpc))
      assert.isAtLeast(grpc.ok, 10, JSON.stringify(grpc))
      assert.isAbove(grpc.limitedBy[0]!, 0, "node A refused some")
      assert.isAbove(grpc.limitedBy[1]!, 0, "node B refused some")

      const rpcKey = yield* workspaceWithKey(a, { name: "lim-rpc", rate_limit: { per_second: 1, burst: 10 } })
      const rpcCalls = [
        rpcCall(yield* rpcClient(a, rpcKey, "http"), "lim-rpc"),
        rpcCall(yield* rpcClient(b, rpcKey, "websocket"), "lim-rpc"),
        rpcCall(yield* rpcClient(a, rpcKey, "websocket"), "lim-rpc"),
        rpcCall(yield* rpcClient(b, rpcKey, "http"), "lim-rpc")
      ]
      const rpc = yield* hammer(rpcCalls, 40, "workspace")
      assert.isAtMost(rpc.ok, bound(10, rpc), JSON.stringify(rpc))
      assert.isAtLeast(rpc.ok, 10, JSON.stringify(rpc))
      assert.isTrue(rpc.limitedBy.every((n) => n > 0), `every node and transport refused some: ${JSON.stringify(rpc)}`)

      // Another workspace is served in full on both nodes and every interface meanwhile.
      const freeKey = yield* workspaceWithKey(a, { name: "free" })
      const free = yield* hammer([
        grpcCall(grpcA, freeKey, "free"),
        grpcCall(grpcB, freeKey, "free"),
        rpcCall(yield* rpcClient(a, freeKey, "http"), "free"),
        rpcCall(yield* rpcClient(b, freeKey, "websocket"), "free")
      ], 40, "workspace")
      assert.strictEqual(free.ok, 40, JSON.stringify(free))
    }))

  it.effect("a client address's limit holds for the cluster across gRPC, RPC and HTTP, and cannot be dodged", () =>
    Effect.gen(function*() {
      const { a, b } = yield* IpPair
      const one = yield* workspaceWithKey(a, { name: "ip-one" })
      const two = yield* workspaceWithKey(a, { name: "ip-two" })
      const http = (server: ServerProcessShape, apiKey: string, workspace: string): Call => (scope) =>
        Effect.map(server.request("POST", "/api/v1/generate", { apiKey, json: seq(workspace) }), (response) => {
          if (response.status === 200) return true
          assert.strictEqual(response.status, 429, response.text)
          assert.strictEqual(response.json.error.details.scope, scope)
          return false
        })
      // One address, two workspaces, two nodes, four ways in: one bucket.
      const tally = yield* hammer([
        grpcCall(yield* GrpcClient.make(a.grpcPort), one, "ip-one"),
        rpcCall(yield* rpcClient(b, two, "http"), "ip-two"),
        rpcCall(yield* rpcClient(a, one, "websocket"), "ip-one"),
        grpcCall(yield* GrpcClient.make(b.grpcPort), two, "ip-two"),
        http(b, one, "ip-one")
      ], 50, "client_ip")
      assert.isAtMost(tally.ok, bound(10, tally), JSON.stringify(tally))
      assert.isTrue(tally.limitedBy.every((n) => n > 0), `every interface refused some: ${JSON.stringify(tally)}`)

      // Claiming another address (RPC message header, HTTP header, X-Forwarded-For) gets no fresh bucket.
      const spoofed = yield* hammer([spoofedRpc(a, one, "ip-one"), spoofedRpc(b, two, "ip-two")], 10, "client_ip")
      assert.isAtMost(spoofed.ok, Math.ceil(spoofed.elapsedSeconds) + 1, JSON.stringify(spoofed))
    }))
})
