/**
 * API keys and rate limits when Redis fails (Redis is optional): two
 * server processes share a database and a Redis (the suite's own), trusting verified keys
 * locally for 2000 ms, the most the configuration allows.
 *
 * - Redis killed: requests keep succeeding on both nodes (keys verified through the
 *   database, rate limits per node), a key revoked meanwhile is refused on both within
 *   2 s, and stays refused when Redis comes back with the key's shared entry but without
 *   the tombstone the revocation could not write (as from a snapshot taken before it).
 * - FLUSHALL: the same — keys keep working, the shared cache fills again, a revocation is
 *   refused on both nodes within 2 s.
 * No ID is handed out twice throughout.
 */
import { status as Status } from "@grpc/grpc-js"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import * as GrpcClient from "../support/GrpcClient.ts"
import { OwnRedis } from "../support/OwnRedis.ts"
import { type PairShape, pairLayer } from "../support/ServerPair.ts"
import { assertError, type ServerProcessShape, wait, workspaceWithKey } from "../support/ServerProcess.ts"

class Pair extends Context.Service<Pair, PairShape>()("test/auth/redis-faults/Pair") {}

// Both nodes trust verified keys locally for 2000 ms, the most the configuration allows.
const PairLive = pairLayer(Pair, "rf", { toml: "[auth]\ncache_ttl_millis = 2000\n" }).pipe(
  Layer.provideMerge(OwnRedis.layer)
)

const seq = (workspace: string) => ({ workspace, group: "g", biz_tag: "t" })
const sharedEntry = (apiKey: string) => `idgen:apikey:${createHash("sha256").update(apiKey).digest("hex")}`

/** Every ID any test got (`<workspace>/<id>`), to check that none was handed out twice. */
const issued = new Set<string>()

/** A generate over HTTP or gRPC; the ID when served, else the HTTP status / gRPC code (401s checked). */
const generate = (server: ServerProcessShape, grpc: GrpcClient.GrpcClientShape | undefined, apiKey: string, workspace: string) =>
  Effect.gen(function*() {
    if (grpc === undefined) {
      const res = yield* server.request("POST", "/api/v1/generate", { apiKey, json: seq(workspace) })
      if (res.status === 401) assertError(res, 401, "IDGEN-COMMON-0002")
      if (res.status !== 200) return res.status
      return res.json.id as string
    }
    // A call the channel dropped (UNAVAILABLE without an IDGEN code: no server answered it)
    // is sent again, as a gRPC client retries a transparent transport failure; an answer
    // with a code is the server's decision and counts as is.
    let reply = yield* grpc.call("Generate", seq(workspace), { apiKey })
    for (let retries = 0; !reply.ok && reply.code === Status.UNAVAILABLE && reply.errorCode === undefined && retries < 2; retries++) {
      reply = yield* grpc.call("Generate", seq(workspace), { apiKey })
    }
    if (!reply.ok) {
      if (reply.code === Status.UNAUTHENTICATED) assert.strictEqual(reply.errorCode, "IDGEN-COMMON-0002")
      return reply.code === Status.UNAUTHENTICATED ? 401 : reply.code
    }
    return reply.value.id as string
  }).pipe(Effect.map((result) => {
    if (typeof result === "string") {
      assert.isFalse(issued.has(`${workspace}/${result}`), `ID ${result} of ${workspace} handed out twice`)
      issued.add(`${workspace}/${result}`)
    }
    return result
  }))

interface Node {
  readonly server: ServerProcessShape
  readonly grpc: GrpcClient.GrpcClientShape
}

/** The key is served on every node over HTTP and gRPC. */
const servedEverywhere = (nodes: ReadonlyArray<Node>, apiKey: string, workspace: string) =>
  Effect.forEach(nodes, ({ server, grpc }) =>
    Effect.gen(function*() {
      assert.isString(yield* generate(server, undefined, apiKey, workspace), `HTTP on ${server.baseUrl}`)
      assert.isString(yield* generate(server, grpc, apiKey, workspace), `gRPC on ${server.baseUrl}`)
    }), { discard: true })

/** Polls both interfaces of every node until the key is refused, within 2 s of `revokedAt`. */
const refusedWithin2s = (nodes: ReadonlyArray<Node>, apiKey: string, workspace: string, revokedAt: number) =>
  Effect.forEach(nodes, ({ server, grpc }) =>
    Effect.gen(function*() {
      for (const via of [undefined, grpc]) {
        while (true) {
          const result = yield* generate(server, via, apiKey, workspace)
          if (result === 401) break
          assert.isString(result, "served or refused, nothing else")
          if (Date.now() - revokedAt > 2_000) return assert.fail(`${server.baseUrl} still accepts the revoked key after 2 s`)
          yield* wait(50)
        }
      }
    }), { discard: true })

/** For `millis`, every request with the key is refused on every node (over both interfaces). */
const staysRefused = (nodes: ReadonlyArray<Node>, apiKey: string, workspace: string, millis: number) =>
  Effect.gen(function*() {
    const until = Date.now() + millis
    let checks = 0
    while (Date.now() < until) {
      for (const { server, grpc } of nodes) {
        assert.strictEqual(yield* generate(server, undefined, apiKey, workspace), 401, "HTTP")
        assert.strictEqual(yield* generate(server, grpc, apiKey, workspace), 401, "gRPC")
        checks++
      }
      yield* wait(100)
    }
    assert.isAbove(checks, 0)
  })

/** A workspace and a key for it: `{ key, id }`. */
const workspaceAndKey = (server: ServerProcessShape, workspace: Record<string, unknown> & { readonly name: string }) =>
  Effect.gen(function*() {
    const created = yield* server.request("POST", "/api/v1/admin/workspaces", { admin: true, json: workspace })
    assert.strictEqual(created.status, 201, created.text)
    const key = yield* server.request("POST", `/api/v1/admin/workspaces/${workspace.name}/api-keys`, { admin: true })
    assert.strictEqual(key.status, 201, key.text)
    return key.json as { key: string; id: string }
  })

/** Revokes the key through `server`; yields when the revocation was answered. */
const revoke = (server: ServerProcessShape, workspace: string, id: string) =>
  Effect.gen(function*() {
    const res = yield* server.request("DELETE", `/api/v1/admin/workspaces/${workspace}/api-keys/${id}`, { admin: true })
    assert.strictEqual(res.status, 204, res.text)
    return Date.now()
  })

/** How often the node has logged reconnecting its command connection to Redis. */
const reconnects = (server: ServerProcessShape) => server.output().split("redis idgen: reconnected").length - 1

layer(PairLive, { excludeTestServices: true, timeout: 120_000 })("API keys and rate limits when Redis fails", (it) => {
  it.effect("Redis killed: keys keep working, a revocation is refused on both nodes within 2 s, also after Redis returns with stale data", () =>
    Effect.gen(function*() {
      const { a, b } = yield* Pair
      const redis = yield* OwnRedis
      const nodes = [{ server: a, grpc: yield* GrpcClient.make(a.grpcPort) }, { server: b, grpc: yield* GrpcClient.make(b.grpcPort) }]
      const keep = yield* workspaceWithKey(a, { name: "kill-keep", rate_limit: { per_second: 1000, burst: 1000 } })
      const { key: doomed, id: doomedId } = yield* workspaceAndKey(a, { name: "kill-doomed" })
      yield* servedEverywhere(nodes, keep, "kill-keep")
      yield* servedEverywhere(nodes, doomed, "kill-doomed")
      const snapshot = yield* redis.command("GET", sharedEntry(doomed))
      assert.isString(snapshot, "the key is in the shared cache")

      yield* redis.stop
      // Past the local TTL: verified through the database now, limited per node.
      const until = Date.now() + 2_500
      while (Date.now() < until) {
        yield* servedEverywhere(nodes, keep, "kill-keep")
        yield* wait(100)
      }
      const revokedAt = yield* revoke(a, "kill-doomed", doomedId)
      yield* refusedWithin2s(nodes, doomed, "kill-doomed", revokedAt)

      // Redis returns holding the key's entry from before the revocation, and no tombstone.
      const before = nodes.map(({ server }) => reconnects(server))
      yield* redis.start
      yield* redis.command("SET", sharedEntry(doomed), snapshot as string, "PX", "300000")
      const deadline = Date.now() + 20_000
      while (nodes.some(({ server }, i) => reconnects(server) === before[i])) {
        if (Date.now() > deadline) return assert.fail("the nodes did not reconnect to Redis")
        yield* wait(50)
      }
      yield* staysRefused(nodes, doomed, "kill-doomed", 3_000)
      assert.strictEqual(yield* redis.command("EXISTS", sharedEntry(doomed)), 1, "the stale entry was there all along")
      yield* servedEverywhere(nodes, keep, "kill-keep")
    }))

  it.effect("FLUSHALL: keys keep working, the shared cache fills again, a revocation is refused on both nodes within 2 s", () =>
    Effect.gen(function*() {
      const { a, b } = yield* Pair
      const redis = yield* OwnRedis
      const nodes = [{ server: a, grpc: yield* GrpcClient.make(a.grpcPort) }, { server: b, grpc: yield* GrpcClient.make(b.grpcPort) }]
      const keep = yield* workspaceWithKey(a, { name: "flush-keep" })
      const { key: doomed, id: doomedId } = yield* workspaceAndKey(a, { name: "flush-doomed", rate_limit: { per_second: 1, burst: 5 } })
      yield* servedEverywhere(nodes, keep, "flush-keep")
      yield* servedEverywhere(nodes, doomed, "flush-doomed")
      assert.strictEqual(yield* redis.command("FLUSHALL"), "OK")

      // Served throughout; once local trust lapses the key is verified again and shared again.
      const deadline = Date.now() + 10_000
      while ((yield* redis.command("EXISTS", sharedEntry(keep))) !== 1) {
        if (Date.now() > deadline) return assert.fail("the shared cache did not fill again")
        yield* servedEverywhere(nodes, keep, "flush-keep")
        yield* wait(100)
      }
      // The workspace's limit still holds cluster-wide (its bucket is back in Redis).
      let served = 0
      const started = Date.now()
      for (let i = 0; i < 20; i++) {
        if (typeof (yield* generate(nodes[i % 2]!.server, undefined, doomed, "flush-doomed")) === "string") served++
      }
      assert.isAtMost(served, 5 + Math.ceil((Date.now() - started) / 1000) + 1)

      const revokedAt = yield* revoke(b, "flush-doomed", doomedId)
      yield* refusedWithin2s(nodes, doomed, "flush-doomed", revokedAt)
      assert.strictEqual(yield* redis.command("FLUSHALL"), "OK")
      yield* staysRefused(nodes, doomed, "flush-doomed", 2_500)
      yield* servedEverywhere(nodes, keep, "flush-keep")
    }))
})
