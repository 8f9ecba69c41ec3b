/**
 * Slow and greedy clients (issue 14), against real server processes with the limits set
 * low enough to watch them work: headers within 2 s and whole requests within 3 s
 * (`http.headers_timeout_ms`, `http.request_timeout_ms`; defaults 5 s and 10 s), at most 3
 * WebSockets and 3 gRPC connections, and — on a second node — at most 10 HTTP connections.
 * Past each limit the client gets the contract's IDGEN error where a request exists to
 * answer (a refused connection has none), its connection is closed, and a legitimate
 * client keeps being served.
 */
import { credentials, status as Status } from "@grpc/grpc-js"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as GrpcClient from "../support/GrpcClient.ts"
import * as LegitTraffic from "../support/LegitTraffic.ts"
import * as RawSocket from "../support/RawSocket.ts"
import * as RpcWebSocket from "../support/RpcWebSocket.ts"
import { ServerProcess, type ServerProcessShape, wait, workspaceWithKey } from "../support/ServerProcess.ts"

const headersMillis = 2000
const requestMillis = 3000
/**
 * Node checks the open connections against those timeouts once a second
 * (`connectionsCheckingInterval`, `HttpServer.ts`); a loaded machine adds its delays.
 */
const checkedWithinMillis = 1000 + 3000
const seq = { workspace: "slow", group: "g", biz_tag: "t" }

class Capped extends Context.Service<Capped, ServerProcessShape>()("test/interfaces/slow-clients/Capped") {}

const Suite = Layer.mergeAll(
  ServerProcess.layer({
    env: {
      IDGEN_HTTP_HEADERS_TIMEOUT_MS: String(headersMillis),
      IDGEN_HTTP_REQUEST_TIMEOUT_MS: String(requestMillis),
      IDGEN_HTTP_MAX_WEBSOCKETS: "3",
      IDGEN_GRPC_MAX_CONNECTIONS: "3"
    }
  }),
  Layer.effect(Capped, Effect.map(Layer.build(ServerProcess.layer({ env: { IDGEN_HTTP_MAX_CONNECTIONS: "10" } })), Context.get(ServerProcess)))
)

const slowKey = (server: ServerProcessShape) => LegitTraffic.keyFor(server, "slow")

const whileServing = <A, E, R>(server: ServerProcessShape, attack: Effect.Effect<A, E, R>) =>
  Effect.flatMap(slowKey(server), (apiKey) => LegitTraffic.whileServing(server, { apiKey, json: seq }, attack))

/** Writes `text` one byte at a time, every `everyMillis`, until the connection is gone or `text` is out. */
const trickle = (socket: RawSocket.RawSocketShape, text: string, everyMillis: number) =>
  Effect.gen(function*() {
    for (const byte of text) {
      if (!(yield* socket.write(byte))) return
      yield* wait(everyMillis)
    }
  })

/** Asserts that the server answered 400 IDGEN-COMMON-0001 on `socket` and closed it. */
const assertTimedOut = (socket: RawSocket.RawSocketShape, what: string) => {
  const raw = socket.received()
  assert.match(RawSocket.statusLine(raw), /^HTTP\/1\.1 400 /, `${what}: ${raw}`)
  const error = RawSocket.errorBody(raw)
  assert.strictEqual(error.code, "IDGEN-COMMON-0001")
  // The limits set here, not idgen's defaults (5 s, 10 s), which the time bounds alone would not tell apart.
  assert.include(error.message, `not received in time: the headers must arrive within ${headersMillis} ms, the whole request within ${requestMillis} ms`)
}

layer(Suite, { timeout: "180 seconds", excludeTestServices: true })("slow and greedy clients", (it) => {
  it.effect("50 connections trickling their headers are answered 400 IDGEN-COMMON-0001 and closed within the headers timeout; others are served meanwhile", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      yield* whileServing(
        server,
        Effect.scoped(Effect.gen(function*() {
          const sockets = yield* Effect.forEach(Array.from({ length: 50 }), () => RawSocket.connect(server.port))
          const started = Date.now()
          const head = RawSocket.requestHead("POST", "/api/v1/generate", { "content-type": "application/json", "x-api-key": "idgen_slow_" })
          yield* Effect.forEach(sockets, (socket) => Effect.forkChild(trickle(socket, head, 250)), { discard: true })
          for (const socket of sockets) {
            assert.isDefined(yield* socket.closed(headersMillis + checkedWithinMillis - (Date.now() - started)), "a trickling connection stayed open")
          }
          const elapsed = Date.now() - started
          assert.isAtMost(elapsed, headersMillis + checkedWithinMillis, `closed after ${elapsed} ms`)
          for (const socket of sockets) assertTimedOut(socket, "trickled headers")
        }))
      )
    }))

  it.effect("a body trickled after the headers is answered 400 IDGEN-COMMON-0001 and closed within the request timeout", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* slowKey(server)
      yield* whileServing(
        server,
        Effect.scoped(Effect.gen(function*() {
          const body = JSON.stringify(seq)
          const socket = yield* RawSocket.connect(server.port)
          const started = Date.now()
          yield* socket.write(RawSocket.requestHead("POST", "/api/v1/generate", {
            "content-type": "application/json",
            "content-length": body.length,
            "x-api-key": apiKey
          }))
          yield* Effect.forkChild(trickle(socket, body, 250))
          assert.isDefined(yield* socket.closed(requestMillis + checkedWithinMillis), "the trickling request's connection stayed open")
          assert.isAtMost(Date.now() - started, requestMillis + checkedWithinMillis)
          assertTimedOut(socket, "trickled body")
        }))
      )
    }))

  it.effect("at most 3 WebSockets: a 4th upgrade is 503 IDGEN-COMMON-0005; a closed one frees its slot", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* slowKey(server)
      const open = () => RpcWebSocket.open(server, { "x-api-key": apiKey })
      const sockets = yield* Effect.forEach([1, 2, 3], open)
      assert.isTrue(sockets.every((socket) => socket !== "refused"), "one of the first 3 upgrades was refused")
      const fourth = yield* Effect.scoped(Effect.gen(function*() {
        const socket = yield* RawSocket.connect(server.port)
        yield* socket.write(RawSocket.upgradeHead("/rpc/ws", { "x-api-key": apiKey }))
        assert.isTrue(yield* socket.receivedText("}}", 5_000), socket.received())
        return socket.received()
      }))
      assert.match(RawSocket.statusLine(fourth), /^HTTP\/1\.1 503 /, fourth)
      const refused = RawSocket.errorBody(fourth)
      assert.strictEqual(refused.code, "IDGEN-COMMON-0005")
      assert.include(refused.message, "WebSocket")
      const first = sockets[0]!
      if (first !== "refused") {
        first.ws.close()
        yield* Effect.promise(() => first.closed)
      }
      // The slot is given back once the server has seen the close.
      let again: RpcWebSocket.OpenWebSocket | "refused" = "refused"
      for (let i = 0; i < 20 && again === "refused"; i++) {
        again = yield* open()
        if (again === "refused") yield* wait(100)
      }
      assert.notStrictEqual(again, "refused", "the closed WebSocket's slot was not given back")
      for (const socket of [...sockets, again]) if (socket !== "refused") socket.ws.close()
    }))

  it.effect("at most 3 gRPC connections: a 4th is closed at once; a silent one is closed within the headers timeout", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* slowKey(server)
      yield* Effect.scoped(Effect.gen(function*() {
        const silent = yield* Effect.forEach([1, 2, 3], () => RawSocket.connect(server.grpcPort))
        const started = Date.now()
        const grpc = yield* GrpcClient.make(server.grpcPort)
        const refused = yield* grpc.call("Generate", seq, { apiKey, deadlineMillis: 1000 })
        assert.isFalse(refused.ok, "a 4th connection was served")
        if (!refused.ok) assert.oneOf(refused.code, [Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED])
        for (const socket of silent) {
          assert.isDefined(yield* socket.closed(headersMillis + 3000 - (Date.now() - started)), "a silent gRPC connection stayed open")
        }
        // Room again: the client reconnects and is served.
        let served = false
        for (let i = 0; i < 30 && !served; i++) {
          served = (yield* grpc.call("Generate", seq, { apiKey, deadlineMillis: 1000 })).ok
          if (!served) yield* wait(200)
        }
        assert.isTrue(served, "not served once the silent connections were gone")
      }))
    }))

  it.effect("a gRPC connection that talked is not taken for a silent one: a stream opened on it still answers past the headers timeout", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ServerProcess
      const reflection = yield* Effect.acquireRelease(
        Effect.sync(() => new (GrpcClient.reflectionPackage().ServerReflection)(`127.0.0.1:${server.grpcPort}`, credentials.createInsecure())),
        (client: any) => Effect.sync(() => client.close())
      )
      // One long-lived call, as a load test's busy channel has: the connection carries it throughout.
      const stream = reflection.ServerReflectionInfo()
      yield* Effect.addFinalizer(() => Effect.sync(() => stream.cancel()))
      let failure: Error | undefined
      stream.on("error", (error: Error) => failure = error)
      /** Asks on the stream; fails the test if the stream fails (the connection closed under it). */
      const ask = Effect.callback<unknown, Error>((resume) => {
        if (failure !== undefined) return resume(Effect.fail(failure))
        const answered = (answer: unknown) => {
          stream.off("error", failed)
          resume(Effect.succeed(answer))
        }
        const failed = (error: Error) => {
          stream.off("data", answered)
          resume(Effect.fail(error))
        }
        stream.once("data", answered)
        stream.once("error", failed)
        stream.write({ list_services: "" })
      }).pipe(
        Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.fail(new Error("no answer within 5 s")) }),
        Effect.catch((error) => Effect.sync(() => assert.fail(`the stream failed: ${error.message}`)))
      )
      yield* ask
      yield* wait(headersMillis + 1000)
      yield* ask
    })))

  it.effect("at most 10 HTTP connections: an 11th is closed at once, and served once others close", () =>
    Effect.gen(function*() {
      const server = yield* Capped
      const apiKey = yield* workspaceWithKey(server, { name: "slow" })
      yield* Effect.scoped(Effect.gen(function*() {
        const held = yield* Effect.forEach(Array.from({ length: 10 }), () => RawSocket.connect(server.port))
        const extra = yield* RawSocket.connect(server.port)
        yield* extra.write(RawSocket.requestHead("GET", "/live", {}))
        assert.isDefined(yield* extra.closed(2000), "the 11th connection was kept")
        assert.strictEqual(extra.received(), "", "the 11th connection was answered")
        for (const socket of held) socket.socket.destroy()
        let status = 0
        for (let i = 0; i < 20 && status !== 200; i++) {
          status = (yield* server.request("POST", "/api/v1/generate", { apiKey, json: seq })).status
          if (status !== 200) yield* wait(100)
        }
        assert.strictEqual(status, 200)
      }))
    }))
})
