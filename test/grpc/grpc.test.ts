/**
 * The gRPC port of the real server process, through clients built from the `.proto` files:
 * every RPC of `idgen.v1.IdService`, the error statuses a request can provoke (each with
 * `idgen-error-code` in trailing metadata), the standard health service and reflection.
 * (Every row of the error table, deadlines and shutdown draining: inprocess.test.ts.)
 */
import { status as Status } from "@grpc/grpc-js"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import descriptor from "protobufjs/ext/descriptor/index.js"
import * as GrpcClient from "../support/GrpcClient.ts"
import { createBizTag, ServerProcess, workspaceWithKey } from "../support/ServerProcess.ts"
import { eventually } from "../support/Eventually.ts"

const decimal = /^[1-9][0-9]*$/
const increasing = (ids: ReadonlyArray<string>) => ids.every((id, i) => i === 0 || BigInt(id) > BigInt(ids[i - 1]!))
const seq = (workspace: string, biz_tag = "orders", group = "shop") => ({ workspace, group, biz_tag })

layer(ServerProcess.layer(), { timeout: "120 seconds", excludeTestServices: true })("gRPC (real server)", (it) => {
  it.effect("Generate, BatchGenerate, Parse and HealthCheck", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const grpc = yield* GrpcClient.make(server.grpcPort)
      const apiKey = yield* workspaceWithKey(server, { name: "rpcs" })

      const one = GrpcClient.valueOf(yield* grpc.call("Generate", seq("rpcs"), { apiKey }))
      assert.match(one.id, decimal)
      assert.strictEqual(one.algorithm, "segment")
      // int64 Unix ms (a string with longs: String), close to now
      assert.isBelow(Math.abs(Number(one.timestamp) - Date.now()), 60_000, one.timestamp)

      const batch = GrpcClient.valueOf(yield* grpc.call("BatchGenerate", { ...seq("rpcs"), size: 500 }, { apiKey }))
      assert.strictEqual(batch.ids.length, 500)
      assert.strictEqual(batch.count, 500)
      assert.strictEqual(batch.algorithm, "segment")
      assert.isTrue(batch.ids.every((id: string) => decimal.test(id)))
      assert.isTrue(increasing(batch.ids), "segment batch not increasing")
      assert.isTrue(BigInt(batch.ids[0]) > BigInt(one.id))

      // Parse: a segment ID with its biz_tag context
      const segment = GrpcClient.valueOf(yield* grpc.call("Parse", { id: one.id, ...seq("rpcs") }, { apiKey }))
      assert.deepStrictEqual(segment, { id: one.id, algorithm: "segment", datacenter_id: 0 })

      // snowflake: issued, then decoded without context
      yield* createBizTag(server, "rpcs", { group: "shop", name: "snow", algorithm: "snowflake" })
      const snow = GrpcClient.valueOf(yield* grpc.call("BatchGenerate", { ...seq("rpcs", "snow"), size: 100 }, { apiKey }))
      assert.strictEqual(snow.algorithm, "snowflake")
      assert.isTrue(increasing(snow.ids))
      const info = GrpcClient.valueOf(yield* grpc.call("Parse", { id: snow.ids[0] }, { apiKey }))
      assert.strictEqual(info.algorithm, "snowflake")
      assert.strictEqual(info.worker_id, 0)
      assert.strictEqual(info.datacenter_id, 0)
      assert.isAtLeast(info.sequence, 0)
      assert.isBelow(Math.abs(Number(info.timestamp_ms) - Date.now()), 60_000)
      assert.strictEqual(new Date(info.timestamp).getTime(), Number(info.timestamp_ms))

      // uuid_v7
      yield* createBizTag(server, "rpcs", { group: "shop", name: "uuid", algorithm: "uuid_v7" })
      const uuid = GrpcClient.valueOf(yield* grpc.call("Generate", seq("rpcs", "uuid"), { apiKey }))
      assert.strictEqual(uuid.algorithm, "uuid_v7")
      const uuidInfo = GrpcClient.valueOf(yield* grpc.call("Parse", { id: uuid.id }, { apiKey }))
      assert.strictEqual(uuidInfo.algorithm, "uuid_v7")
      assert.strictEqual(uuidInfo.version, 7)
      assert.isString(uuidInfo.timestamp)

      // HealthCheck needs no key
      const health = GrpcClient.valueOf(yield* grpc.call("HealthCheck", {}))
      assert.strictEqual(health.status, "healthy")
      assert.strictEqual(health.checks.database.status, "healthy")
    }))

  it.effect("errors: the contract's status and idgen-error-code in trailing metadata, worded for gRPC", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const grpc = yield* GrpcClient.make(server.grpcPort)
      const apiKey = yield* workspaceWithKey(server, { name: "errs" })
      const closed = yield* workspaceWithKey(server, { name: "closed", auto_create_biz_tags: false })
      const { assertStatus } = GrpcClient

      // 401: missing, malformed, unknown key; in gRPC's words: the key is metadata, not a header
      assert.strictEqual(
        assertStatus(yield* grpc.call("Generate", seq("errs")), Status.UNAUTHENTICATED, "IDGEN-COMMON-0002").details,
        "Missing x-api-key metadata"
      )
      assertStatus(yield* grpc.call("Generate", seq("errs"), { apiKey: "nope" }), Status.UNAUTHENTICATED, "IDGEN-COMMON-0002")
      assertStatus(
        yield* grpc.call("BatchGenerate", { ...seq("errs"), size: 1 }, { apiKey: `idgen_errs_${"0".repeat(32)}` }),
        Status.UNAUTHENTICATED,
        "IDGEN-COMMON-0002"
      )
      assertStatus(yield* grpc.call("Parse", { id: "1" }), Status.UNAUTHENTICATED, "IDGEN-COMMON-0002")

      // 403: a valid key of another workspace
      const forbidden = assertStatus(
        yield* grpc.call("Generate", seq("errs"), { apiKey: closed }),
        Status.PERMISSION_DENIED,
        "IDGEN-COMMON-0006"
      )
      assert.include(forbidden.details, "closed")
      assertStatus(yield* grpc.call("Parse", { id: "1", ...seq("errs") }, { apiKey: closed }), Status.PERMISSION_DENIED, "IDGEN-COMMON-0006")

      // 400: sizes out of range, bad names, absent fields (proto3 sends ""), not an id, partial parse context
      for (const size of [0, 10_001]) {
        const bad = assertStatus(
          yield* grpc.call("BatchGenerate", { ...seq("errs"), size }, { apiKey }),
          Status.INVALID_ARGUMENT,
          "IDGEN-COMMON-0001"
        )
        // A request message, not a body.
        assert.match(bad.details, /^Invalid request message: size: /)
      }
      assertStatus(yield* grpc.call("Generate", seq("errs", "Bad Tag"), { apiKey }), Status.INVALID_ARGUMENT, "IDGEN-COMMON-0001")
      assertStatus(yield* grpc.call("Generate", { workspace: "errs", group: "shop" }, { apiKey }), Status.INVALID_ARGUMENT, "IDGEN-COMMON-0001")
      assertStatus(yield* grpc.call("Parse", { id: "not-an-id" }, { apiKey }), Status.INVALID_ARGUMENT, "IDGEN-COMMON-0001")
      assertStatus(yield* grpc.call("Parse", { id: "" }, { apiKey }), Status.INVALID_ARGUMENT, "IDGEN-COMMON-0001")
      const partial = assertStatus(
        yield* grpc.call("Parse", { id: "12", workspace: "errs" }, { apiKey }),
        Status.INVALID_ARGUMENT,
        "IDGEN-COMMON-0001"
      )
      assert.strictEqual(partial.details, "Invalid request message: workspace, group and biz_tag must be given together")

      // 404: a biz_tag that does not exist where auto-creation is off (generate and parse)
      assertStatus(yield* grpc.call("Generate", seq("closed", "ghost"), { apiKey: closed }), Status.NOT_FOUND, "IDGEN-COMMON-0007")
      assertStatus(
        yield* grpc.call("Parse", { id: "12", ...seq("closed", "ghost") }, { apiKey: closed }),
        Status.NOT_FOUND,
        "IDGEN-COMMON-0007"
      )

      // 429: the workspace's rate limit applies to gRPC calls too
      const limited = yield* workspaceWithKey(server, { name: "limited", rate_limit: { per_second: 1, burst: 2 } })
      const replies = []
      for (let i = 0; i < 4; i++) replies.push(yield* grpc.call("Generate", seq("limited"), { apiKey: limited }))
      const refused = replies.find((reply) => !reply.ok)
      assert.isDefined(refused, "no call was refused")
      const tooMany = assertStatus(refused!, Status.RESOURCE_EXHAUSTED, "IDGEN-COMMON-0003")
      assert.match(String(tooMany.metadata["retry-after"]), /^[1-9][0-9]*$/)

      // The server stays healthy after all that
      GrpcClient.valueOf(yield* grpc.call("Generate", seq("errs"), { apiKey }))
    }))

  it.effect("the standard grpc.health.v1.Health says SERVING for the server and for idgen.v1.IdService", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const grpc = yield* GrpcClient.make(server.grpcPort)
      // It follows readiness (checked once a second): SERVING soon after /ready answered 200.
      yield* eventually("SERVING", 15_000, Effect.map(grpc.healthCheck(""), (r) => r.ok && r.value.status === "SERVING" || undefined))
      assert.strictEqual(GrpcClient.valueOf(yield* grpc.healthCheck("idgen.v1.IdService")).status, "SERVING")
      const unknown = yield* grpc.healthCheck("no.such.Service")
      assert.isFalse(unknown.ok)
      if (!unknown.ok) assert.strictEqual(unknown.code, Status.NOT_FOUND)
    }))

  it.effect("reflection lists the services and describes idgen.v1.IdService", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const grpc = yield* GrpcClient.make(server.grpcPort)
      const listed = yield* grpc.reflect({ list_services: "" })
      const names = listed.list_services_response.service.map((s: { name: string }) => s.name)
      assert.includeMembers(names, ["idgen.v1.IdService", "grpc.health.v1.Health"])

      const described = yield* grpc.reflect({ file_containing_symbol: "idgen.v1.IdService" })
      const files = described.file_descriptor_response.file_descriptor_proto.map((bytes: Uint8Array) =>
        descriptor.FileDescriptorProto.decode(bytes) as any
      )
      const file = files.find((f: any) => f.package === "idgen.v1")
      assert.isDefined(file, files.map((f: any) => f.name).join(", "))
      assert.strictEqual(file.package, "idgen.v1")
      const service = file.service.find((s: any) => s.name === "IdService")
      assert.sameMembers(service.method.map((m: any) => m.name), ["Generate", "BatchGenerate", "Parse", "HealthCheck"])
      assert.strictEqual(service.method.find((m: any) => m.name === "Parse").outputType, ".idgen.v1.IdInfo")
    }))
})

layer(ServerProcess.layer({ env: { IDGEN_SEGMENT_RANGE_SIZE: "5" } }), { timeout: "120 seconds", excludeTestServices: true })(
  "gRPC (real server, tiny segment range)",
  (it) => {
    it.effect("an exhausted datacenter range is RESOURCE_EXHAUSTED IDGEN-SEG-1001", () =>
      Effect.gen(function*() {
        const server = yield* ServerProcess
        const grpc = yield* GrpcClient.make(server.grpcPort)
        const apiKey = yield* workspaceWithKey(server, { name: "tiny" })
        const first = GrpcClient.valueOf(yield* grpc.call("BatchGenerate", { ...seq("tiny"), size: 2 }, { apiKey }))
        assert.strictEqual(first.ids.length, 2)
        let reply = yield* grpc.call("Generate", seq("tiny"), { apiKey })
        for (let i = 0; i < 5 && reply.ok; i++) reply = yield* grpc.call("Generate", seq("tiny"), { apiKey })
        GrpcClient.assertStatus(reply, Status.RESOURCE_EXHAUSTED, "IDGEN-SEG-1001")
      }))
  }
)
