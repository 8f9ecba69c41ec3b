/**
 * One front door (issue 14): every interface of one real server process — the HTTP ID
 * endpoints, Effect RPC at `/rpc` and `/rpc/ws`, and gRPC — refuses an oversized input
 * before working on it (64 KiB, `http.max_body_bytes`), checks a credential sent in a
 * header before reading the body, closes the connection after such an early refusal, and
 * answers with the contract's IDGEN error, never an internal message. Meanwhile a client
 * with a valid key keeps being served and the node's memory stays bounded.
 */
import { status as Status } from "@grpc/grpc-js"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as GrpcClient from "../support/GrpcClient.ts"
import * as LegitTraffic from "../support/LegitTraffic.ts"
import { rssBytes } from "../support/ProcessMemory.ts"
import * as RawRpc from "../support/RawRpc.ts"
import * as RawSocket from "../support/RawSocket.ts"
import * as RpcWebSocket from "../support/RpcWebSocket.ts"
import { assertError, ServerProcess, type ServerProcessShape } from "../support/ServerProcess.ts"

const limit = 64 * 1024
const seq = { workspace: "door", group: "g", biz_tag: "t" }
const unknownKey = `idgen_door_${"0".repeat(32)}`

const doorKey = (server: ServerProcessShape) => LegitTraffic.keyFor(server, "door")

/** `attack` while a client of workspace `door` keeps generating IDs (`LegitTraffic`). */
const whileServing = <A, E, R>(server: ServerProcessShape, attack: Effect.Effect<A, E, R>) =>
  Effect.flatMap(doorKey(server), (apiKey) => LegitTraffic.whileServing(server, { apiKey, json: seq }, attack))

const idPaths = ["/api/v1/generate", "/api/v1/generate/batch", "/api/v1/parse"]

/**
 * A JSON POST to `path` with `headers` whose body never comes: answered `status` with the
 * contract's `code` before it, and the connection closed. Returns the error.
 */
const refusedEarly = (server: ServerProcessShape, path: string, headers: Record<string, string | number>, status: number, code: string) =>
  Effect.scoped(Effect.gen(function*() {
    const socket = yield* RawSocket.connect(server.port)
    yield* socket.write(RawSocket.requestHead("POST", path, { "content-type": "application/json", ...headers }))
    assert.isTrue(yield* socket.receivedText("\r\n\r\n", 5_000), `${path}: no answer before the body`)
    assert.isDefined(yield* socket.closed(3_000), `${path}: the connection stayed open after the early ${status}`)
    const raw = socket.received()
    assert.match(RawSocket.statusLine(raw), new RegExp(`^HTTP/1\\.1 ${status} `), raw)
    const error = RawSocket.errorBody(raw)
    assert.strictEqual(error.code, code)
    return error
  }))

/** Internal messages that must never reach a client. */
const internals = ["is not iterable", "Unknown request tag", "SyntaxError", "Expected", "TypeError", "Invalid request id", "    at "]

layer(ServerProcess.layer(), { timeout: "180 seconds", excludeTestServices: true })("one front door: limits on every interface", (it) => {
  it.effect("HTTP: a body announced over 64 KiB is 400 IDGEN-COMMON-0001 before it is sent, then the connection is closed", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* doorKey(server)
      yield* whileServing(
        server,
        Effect.forEach(idPaths, (path) =>
          Effect.map(refusedEarly(server, path, { "content-length": 2 * 1024 * 1024, "x-api-key": apiKey }, 400, "IDGEN-COMMON-0001"), (error) =>
            assert.include(error.message, String(limit))))
      )
    }))

  it.effect("HTTP: an unknown key in the header is 401 IDGEN-COMMON-0002 before the body is sent, then the connection is closed", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      yield* whileServing(
        server,
        Effect.forEach(idPaths, (path) =>
          refusedEarly(server, path, { "content-length": 60_000, "x-api-key": unknownKey }, 401, "IDGEN-COMMON-0002"))
      )
    }))

  it.effect("HTTP: parse with a non-JSON or empty Content-Type is the contract's 400 IDGEN-COMMON-0001 JSON, with or without a body", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* doorKey(server)
      for (const path of ["/api/v1/parse", "/api/v1/generate", "/api/v1/generate/batch"]) {
        for (const contentType of ["text/plain", ""]) {
          for (const body of ["", "{\"id\":\"1\"}"]) {
            const res = yield* server.request("POST", path, { apiKey, body, headers: { "content-type": contentType } })
            const error = assertError(res, 400, "IDGEN-COMMON-0001")
            assert.strictEqual(res.headers.get("content-type"), "application/json", `${path} ${contentType} ${body}`)
            assert.include(error.message, "Content-Type", `${path} "${contentType}" "${body}": ${res.text}`)
          }
        }
      }
    }))

  it.effect("/rpc: a body over 64 KiB is 400 IDGEN-COMMON-0001, announced or chunked", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* doorKey(server)
      const message = (pad: string) => RawRpc.message("Parse", { id: pad }, apiKey)
      yield* whileServing(
        server,
        Effect.gen(function*() {
          const announced = yield* RawRpc.post(server, message("1".repeat(2 * 1024 * 1024)))
          assert.include(assertError(announced, 400, "IDGEN-COMMON-0001").message, String(limit))
          const chunked = yield* Effect.promise(() =>
            fetch(`${server.baseUrl}/rpc`, {
              method: "POST",
              headers: { "content-type": "application/x-ndjson" },
              body: new Blob([message("1".repeat(2 * 1024 * 1024))]).stream(),
              duplex: "half"
            } as RequestInit).then(async (res) => ({ status: res.status, text: await res.text() }))
          )
          assert.strictEqual(chunked.status, 400, chunked.text)
          assert.strictEqual(JSON.parse(chunked.text).error.code, "IDGEN-COMMON-0001")
          // Under the limit, the same message is answered over RPC.
          const small = yield* RawRpc.post(server, message("1"))
          assert.strictEqual(small.status, 200, small.text)
          assert.include(small.text, "\"Success\"")
        })
      )
    }))

  it.effect("/rpc: an invalid x-api-key header is 401 IDGEN-COMMON-0002 before the body is sent, then the connection is closed", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      yield* whileServing(
        server,
        Effect.scoped(Effect.gen(function*() {
          const socket = yield* RawSocket.connect(server.port)
          yield* socket.write(RawSocket.requestHead("POST", "/rpc", {
            "content-type": "application/x-ndjson",
            "content-length": 50_000,
            "x-api-key": unknownKey
          }))
          assert.isTrue(yield* socket.receivedText("\r\n\r\n", 5_000), "no answer before the body")
          assert.match(RawSocket.statusLine(socket.received()), /^HTTP\/1\.1 401 /, socket.received())
          assert.isDefined(yield* socket.closed(3_000), "the connection stayed open after the early 401")
          assert.strictEqual(RawSocket.errorBody(socket.received()).code, "IDGEN-COMMON-0002")
        }))
      )
    }))

  it.effect("/rpc: malformed messages are InvalidRequest IDGEN-COMMON-0001, never an internal message", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* doorKey(server)
      const malformed = [
        "{bad json\n",
        "5\n",
        "null\n",
        "{\"_tag\":\"Nope\"}\n",
        "{\"_tag\":\"Request\",\"id\":\"1\",\"tag\":\"Generate\",\"payload\":{},\"headers\":5}\n",
        "{\"_tag\":\"Request\",\"id\":\"1\",\"tag\":\"Generate\",\"payload\":{},\"headers\":[[1,2]]}\n",
        "{\"_tag\":\"Request\",\"id\":\"1\",\"tag\":\"Nope\",\"payload\":{},\"headers\":[]}\n",
        "{\"_tag\":\"Request\",\"id\":{},\"tag\":\"Generate\",\"payload\":{},\"headers\":[]}\n"
      ]
      for (const body of malformed) {
        const res = yield* RawRpc.post(server, body, { "x-api-key": apiKey })
        assert.include(res.text, "IDGEN-COMMON-0001", `${body.trim()} → ${res.status} ${res.text}`)
        assert.include(res.text, "InvalidRequest", `${body.trim()} → ${res.text}`)
        for (const internal of internals) assert.notInclude(res.text, internal, `${body.trim()} → ${res.text}`)
      }
      // A well-formed message with a field of the wrong type: the typed failure naming it.
      const wrongType = yield* RawRpc.call(server, "BatchGenerate", { ...seq, size: "x" }, apiKey)
      assert.strictEqual(wrongType.exit._tag, "Failure", wrongType.text)
      const failure = wrongType.exit.cause[0]
      assert.strictEqual(failure._tag, "Fail", wrongType.text)
      assert.strictEqual(failure.error._tag, "InvalidRequest", wrongType.text)
      assert.include(failure.error.message, "size", wrongType.text)
    }))

  it.effect("/rpc/ws: an upgrade without a valid key is refused 401 IDGEN-COMMON-0002; with one it is served", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* doorKey(server)
      for (const key of [undefined, unknownKey, "not-a-key"]) {
        const refused = yield* Effect.scoped(Effect.gen(function*() {
          const socket = yield* RawSocket.connect(server.port)
          yield* socket.write(RawSocket.upgradeHead("/rpc/ws", key === undefined ? {} : { "x-api-key": key }))
          assert.isTrue(yield* socket.receivedText("}}", 5_000), `${key}: ${socket.received()}`)
          return socket.received()
        }))
        assert.match(RawSocket.statusLine(refused), /^HTTP\/1\.1 401 /, refused)
        assert.strictEqual(RawSocket.errorBody(refused).code, "IDGEN-COMMON-0002")
      }
      const opened = yield* RpcWebSocket.open(server, { "x-api-key": apiKey })
      assert.notStrictEqual(opened, "refused", "a valid key's upgrade was refused")
      if (typeof opened !== "string") opened.ws.close()
    }))

  it.effect("/rpc/ws: a frame over 64 KiB closes the connection (1009); 256 MiB of never-ending messages on 8 connections leave memory bounded", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* doorKey(server)
      /** `mib` MiB of text without a newline on each of `connections` WebSockets: messages that never end. */
      const flood = (connections: number, mib: number) =>
        Effect.gen(function*() {
          const sockets = yield* Effect.forEach(Array.from({ length: connections }), () => RpcWebSocket.open(server, { "x-api-key": apiKey }))
          const frame = "y".repeat(32 * 1024)
          for (let i = 0; i < mib * 32; i++) {
            for (const socket of sockets) {
              if (typeof socket === "string") return assert.fail("upgrade refused")
              if (socket.ws.readyState === WebSocket.OPEN) socket.ws.send(frame)
            }
            // Lets close events in.
            if (i % 16 === 15) yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
          }
          for (const socket of sockets) {
            if (typeof socket === "string") continue
            assert.strictEqual((yield* RpcWebSocket.within(socket.closed, 10_000))?.code, 1009, "a never-ending message did not close its connection")
          }
        })
      yield* whileServing(
        server,
        Effect.gen(function*() {
          const big = yield* RpcWebSocket.open(server, { "x-api-key": apiKey })
          if (typeof big === "string") return assert.fail("upgrade refused")
          big.ws.send("x".repeat(1024 * 1024))
          assert.strictEqual((yield* RpcWebSocket.within(big.closed, 5_000))?.code, 1009, "a 1 MiB frame did not close the connection")

          // The first flood grows the heap once (V8 sizing its spaces); the second is measured.
          yield* flood(8, 8)
          const before = yield* rssBytes(server.pid()!)
          yield* flood(8, 32)
          // Kept, 256 MiB would stay; what grows is the heap's working room, far below it.
          const growth = (yield* rssBytes(server.pid()!)) - before
          assert.isBelow(growth, 96 * 1024 * 1024, `RSS grew ${(growth / 1024 / 1024).toFixed(1)} MiB`)
        })
      )
    }))

  it.effect("gRPC: a message over 64 KiB is INVALID_ARGUMENT IDGEN-COMMON-0001; without a key UNAUTHENTICATED", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* doorKey(server)
      const grpc = yield* GrpcClient.make(server.grpcPort)
      yield* whileServing(
        server,
        Effect.gen(function*() {
          const big = { id: "1".repeat(100 * 1024) }
          const tooLarge = GrpcClient.assertStatus(
            yield* grpc.call("Parse", big, { apiKey }),
            Status.INVALID_ARGUMENT,
            "IDGEN-COMMON-0001"
          )
          assert.include(tooLarge.details, String(limit))
          assert.match(tooLarge.details, /^Request message too large/)
          GrpcClient.assertStatus(
            yield* grpc.call("Parse", { id: "1".repeat(3 * 1024 * 1024) }, { apiKey: unknownKey }),
            Status.UNAUTHENTICATED,
            "IDGEN-COMMON-0002"
          )
          GrpcClient.assertStatus(
            yield* grpc.call("Parse", { id: "1".repeat(3 * 1024 * 1024) }),
            Status.UNAUTHENTICATED,
            "IDGEN-COMMON-0002"
          )
          // The node still answers gRPC.
          const ok = GrpcClient.valueOf(yield* grpc.call("Generate", seq, { apiKey }))
          assert.match(ok.id, /^[1-9][0-9]*$/)
        })
      )
    }))
})
