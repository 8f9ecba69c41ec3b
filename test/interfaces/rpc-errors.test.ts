/**
 * Effect RPC's errors as a raw client sees them, against one real server process: the
 * contract says every error, on every interface, carries one IDGEN code. Over `/rpc` and
 * `/rpc/ws`, a request without a payload, a last line without its newline, an unreadable
 * line among readable ones, any typed failure, a refused key wherever it was sent, and a
 * WebSocket frame over the limit are each answered with their code — never a bare
 * RPC-layer defect, silence, or a server-side error log.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as LegitTraffic from "../support/LegitTraffic.ts"
import * as RawRpc from "../support/RawRpc.ts"
import * as RpcWebSocket from "../support/RpcWebSocket.ts"
import { assertError, ServerProcess, type ServerProcessShape, wait, workspaceWithKey } from "../support/ServerProcess.ts"

const seq = { workspace: "rpcerr", group: "g", biz_tag: "t" }
const unknownKey = `idgen_rpcerr_${"0".repeat(32)}`

/** A request message as ndjson, with `fields` besides its tag and id (`payload` left out unless given). */
const line = (tag: string, fields: Record<string, unknown> = {}) =>
  JSON.stringify({ _tag: "Request", id: "1", tag, headers: [], ...fields }) + "\n"

/** The exits of a `/rpc` answer (asserting HTTP 200), one per line. */
const exitsOf = (res: { readonly status: number; readonly text: string }) => {
  assert.strictEqual(res.status, 200, res.text)
  const lines = res.text.split("\n").filter((l) => l !== "")
  assert.isAbove(lines.length, 0, "an empty answer")
  return lines.map((l) => {
    const message = JSON.parse(l)
    assert.strictEqual(message._tag, "Exit", l)
    return message.exit
  })
}

/** A body's or a frame's answer lines: the exits by request id, and the defects. */
const answersOf = (lines: ReadonlyArray<string>) => {
  const exits: Record<string, any> = {}
  const defects: Array<any> = []
  for (const l of lines) {
    const message = JSON.parse(l)
    if (message._tag === "Exit") exits[message.requestId] = message.exit
    else if (message._tag === "Defect") defects.push(message.defect)
    else assert.fail(`neither an Exit nor a Defect: ${l}`)
  }
  return { exits, defects }
}

/** The typed failure of an exit, asserting it is one (`Fail`, not a defect) with `code`. */
const failureOf = (exit: any, tag: string, code: string) => {
  const text = JSON.stringify(exit)
  assert.strictEqual(exit._tag, "Failure", text)
  assert.strictEqual(exit.cause[0]?._tag, "Fail", text)
  assert.strictEqual(exit.cause[0].error._tag, tag, text)
  assert.strictEqual(exit.cause[0].error.code, code, text)
  return exit.cause[0].error as { message: string; details?: Record<string, unknown> }
}

const rpcKey = (server: ServerProcessShape) => LegitTraffic.keyFor(server, "rpcerr")

/** `text` appears in the server's output within `millis`. */
const logged = (server: ServerProcessShape, text: string, millis: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + millis
    while (!server.output().includes(text)) {
      if (Date.now() > deadline) return false
      yield* wait(20)
    }
    return true
  })

layer(ServerProcess.layer(), { timeout: "120 seconds", excludeTestServices: true })("Effect RPC errors carry the contract's codes", (it) => {
  it.effect("a request without a payload is InvalidRequest IDGEN-COMMON-0001 like payload null, over /rpc and /rpc/ws; HealthCheck needs none", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* rpcKey(server)
      for (const tag of ["Generate", "BatchGenerate", "Parse"]) {
        const [missing] = exitsOf(yield* RawRpc.post(server, line(tag), { "x-api-key": apiKey }))
        const [nulled] = exitsOf(yield* RawRpc.post(server, line(tag, { payload: null }), { "x-api-key": apiKey }))
        const error = failureOf(missing, "InvalidRequest", "IDGEN-COMMON-0001")
        assert.deepStrictEqual(error, failureOf(nulled, "InvalidRequest", "IDGEN-COMMON-0001"), tag)
      }
      const [health] = exitsOf(yield* RawRpc.post(server, line("HealthCheck")))
      assert.strictEqual(health._tag, "Success", JSON.stringify(health))

      const socket = yield* RpcWebSocket.open(server, { "x-api-key": apiKey })
      if (socket === "refused") return assert.fail("upgrade refused")
      const reply = JSON.parse(yield* RpcWebSocket.exchange(socket, line("Generate")))
      failureOf(reply.exit, "InvalidRequest", "IDGEN-COMMON-0001")
      socket.ws.close()
    }))

  it.effect("/rpc: a last line without its newline is answered, a valid one served and anything else InvalidRequest", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* rpcKey(server)
      const generate = line("Generate", { payload: seq }).trimEnd()
      const [served] = exitsOf(yield* RawRpc.post(server, generate, { "x-api-key": apiKey }))
      assert.strictEqual(served._tag, "Success", JSON.stringify(served))
      assert.match(served.value.id, /^[1-9][0-9]*$/)

      const two = exitsOf(yield* RawRpc.post(server, line("HealthCheck", { id: "2" }) + generate, { "x-api-key": apiKey }))
      assert.deepStrictEqual(two.map((exit) => exit._tag), ["Success", "Success"])

      for (const body of ["hello", "{\"_tag\":\"Request\""]) {
        const res = yield* RawRpc.post(server, body, { "x-api-key": apiKey })
        assert.strictEqual(res.status, 200, res.text)
        const defect = JSON.parse(res.text).defect
        assert.strictEqual(defect?.code, "IDGEN-COMMON-0001", `${body} → ${res.text}`)
        assert.include(defect.message, "malformed JSON", res.text)
      }
    }))

  it.effect("an unreadable line is answered by its own InvalidRequest defect naming its line (and request id, when readable); every readable request in the body or frame by its exit", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* rpcKey(server)
      const body = line("HealthCheck") + line("Nope", { id: "2" }) + "not json\n" +
        line("BatchGenerate", { id: "4", payload: { ...seq, size: 2 } })
      const check = (transport: string, lines: ReadonlyArray<string>) => {
        const { defects, exits } = answersOf(lines)
        assert.deepStrictEqual(Object.keys(exits).sort(), ["1", "4"], `${transport}: ${lines.join("")}`)
        assert.strictEqual(exits["1"]._tag, "Success", transport)
        assert.strictEqual(exits["4"].value?.count, 2, `${transport}: ${JSON.stringify(exits["4"])}`)
        assert.deepStrictEqual(
          defects.map((d) => [d._tag, d.code, d.details]),
          [
            ["InvalidRequest", "IDGEN-COMMON-0001", { location: "body", line: 2, request_id: "2" }],
            ["InvalidRequest", "IDGEN-COMMON-0001", { location: "body", line: 3 }]
          ],
          `${transport}: ${lines.join("")}`
        )
        assert.include(defects[0].message, "unknown operation \"Nope\"", transport)
        assert.include(defects[1].message, "malformed JSON", transport)
      }
      const res = yield* RawRpc.post(server, body, { "x-api-key": apiKey })
      assert.strictEqual(res.status, 200, res.text)
      check("/rpc", res.text.split("\n").filter((l) => l !== ""))

      const socket = yield* RpcWebSocket.open(server, { "x-api-key": apiKey })
      if (socket === "refused") return assert.fail("upgrade refused")
      const replies = yield* Effect.timeoutOption(RpcWebSocket.replies(socket, body, 4), "5 seconds")
      check("/rpc/ws", Option.getOrElse(replies, () => assert.fail("/rpc/ws: fewer than 4 answers within 5 s")))
      socket.ws.close()
    }))

  it.effect("/rpc/ws: a frame holding one complete message without its newline is that message; a line split across frames is still one message", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* rpcKey(server)
      const socket = yield* RpcWebSocket.open(server, { "x-api-key": apiKey })
      if (socket === "refused") return assert.fail("upgrade refused")
      const answer = (text: string) =>
        Effect.map(
          Effect.timeoutOption(RpcWebSocket.exchange(socket, text), "5 seconds"),
          (reply) => JSON.parse(Option.getOrElse(reply, () => assert.fail(`no answer to ${text} within 5 s`)))
        )
      const whole = yield* answer(line("Generate", { id: "1", payload: seq }).trimEnd())
      assert.strictEqual(whole.requestId, "1", JSON.stringify(whole))
      assert.strictEqual(whole.exit._tag, "Success", JSON.stringify(whole))

      const split = line("Generate", { id: "2", payload: seq })
      socket.ws.send(split.slice(0, 20))
      const rest = yield* answer(split.slice(20))
      assert.strictEqual(rest.requestId, "2", JSON.stringify(rest))
      assert.strictEqual(rest.exit._tag, "Success", JSON.stringify(rest))
      socket.ws.close()
    }))

  it.effect("/rpc: an empty x-api-key in the message is no key, so the POST's X-API-Key header stands for it", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* rpcKey(server)
      for (const name of ["x-api-key", "X-API-Key"]) {
        const body = line("Generate", { payload: seq, headers: [[name, ""]] })
        const [exit] = exitsOf(yield* RawRpc.post(server, body, { "x-api-key": apiKey }))
        assert.strictEqual(exit._tag, "Success", `${name}: ${JSON.stringify(exit)}`)
      }
      // Without the header, it is the missing key it always was.
      const [missing] = exitsOf(yield* RawRpc.post(server, line("Generate", { payload: seq, headers: [["x-api-key", ""]] })))
      failureOf(missing, "Unauthorized", "IDGEN-COMMON-0002")
    }))

  it.effect("every typed RPC failure carries its IDGEN code beside _tag, message and details", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* rpcKey(server)
      yield* workspaceWithKey(server, { name: "rpcerr-other" })
      const limitedKey = yield* workspaceWithKey(server, { name: "rpcerr-lim", rate_limit: { per_second: 1, burst: 1 } })
      const cases = [
        { tag: "BatchGenerate", payload: { ...seq, size: 0 }, key: apiKey, error: "InvalidRequest", code: "IDGEN-COMMON-0001" },
        { tag: "Generate", payload: seq, key: undefined, error: "Unauthorized", code: "IDGEN-COMMON-0002" },
        { tag: "Generate", payload: { ...seq, workspace: "rpcerr-other" }, key: apiKey, error: "Forbidden", code: "IDGEN-COMMON-0006" },
        { tag: "Parse", payload: { id: "1", ...seq, biz_tag: "nope" }, key: apiKey, error: "NotFound", code: "IDGEN-COMMON-0007" }
      ]
      for (const c of cases) {
        const { exit } = yield* RawRpc.call(server, c.tag, c.payload, c.key)
        failureOf(exit, c.error, c.code)
      }
      // Three calls at once on a bucket of one token are admitted together: at least one is
      // refused. (Two in a row can be a second apart, the first creating the biz_tag, and both
      // be served.)
      const limitedSeq = { ...seq, workspace: "rpcerr-lim" }
      const answers = yield* Effect.all(
        Array.from({ length: 3 }, () => RawRpc.call(server, "Generate", limitedSeq, limitedKey)),
        { concurrency: "unbounded" }
      )
      const refused = answers.filter(({ exit }) => exit._tag === "Failure")
      assert.isAtLeast(refused.length, 1, answers.map(({ text }) => text).join(""))
      for (const { exit } of refused) {
        failureOf(exit, "RateLimitExceeded", "IDGEN-COMMON-0003")
        assert.isAbove(exit.cause[0].error.retryAfterSeconds, 0)
      }
    }))

  it.effect("/rpc: a missing, unknown or revoked key in the message is the in-band Unauthorized IDGEN-COMMON-0002; in the X-API-Key header it is refused 401 before the body", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      yield* rpcKey(server)
      const key = yield* server.request("POST", "/api/v1/admin/workspaces/rpcerr/api-keys", { admin: true })
      assert.strictEqual(key.status, 201, key.text)
      const { id, key: revokedKey } = key.json as { id: string; key: string }
      const [before] = exitsOf(yield* RawRpc.post(server, RawRpc.message("Generate", seq, revokedKey)))
      assert.strictEqual(before._tag, "Success", JSON.stringify(before))
      const revoked = yield* server.request("DELETE", `/api/v1/admin/workspaces/rpcerr/api-keys/${id}`, { admin: true })
      assert.isBelow(revoked.status, 300, revoked.text)

      const refusals = [
        { name: "missing", message: RawRpc.message("Generate", seq) },
        { name: "unknown in the message", message: RawRpc.message("Generate", seq, unknownKey) },
        { name: "revoked in the message", message: RawRpc.message("Generate", seq, revokedKey) }
      ]
      for (const refusal of refusals) {
        const res = yield* RawRpc.post(server, refusal.message)
        assert.strictEqual(res.headers.get("content-type"), "application/x-ndjson", `${refusal.name}: ${res.text}`)
        const [exit] = exitsOf(res)
        failureOf(exit, "Unauthorized", "IDGEN-COMMON-0002")
      }
      // A header key is the POST's credential, checked before its body as on every HTTP
      // endpoint (front-door.test.ts shows the body is not awaited): the contract's error body.
      for (const headerKey of [unknownKey, revokedKey]) {
        const res = yield* RawRpc.post(server, RawRpc.message("Generate", seq), { "x-api-key": headerKey })
        assertError(res, 401, "IDGEN-COMMON-0002")
      }
    }))

  it.effect("/rpc/ws: a frame over 64 KiB is closed 1009 with a reason naming the limit and IDGEN-COMMON-0001, logged as one warning line", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* rpcKey(server)
      const socket = yield* RpcWebSocket.open(server, { "x-api-key": apiKey })
      if (socket === "refused") return assert.fail("upgrade refused")
      socket.ws.send("x".repeat(64 * 1024 + 1))
      const closed = yield* RpcWebSocket.within(socket.closed, 5_000)
      assert.strictEqual(closed?.code, 1009)
      assert.include(closed!.reason, "65536")
      assert.include(closed!.reason, "IDGEN-COMMON-0001")
      // A line that never ends, in frames under the limit: the same close.
      const endless = yield* RpcWebSocket.open(server, { "x-api-key": apiKey })
      if (endless === "refused") return assert.fail("upgrade refused")
      for (let i = 0; i < 3; i++) endless.ws.send("y".repeat(32 * 1024))
      assert.deepStrictEqual(yield* RpcWebSocket.within(endless.closed, 5_000), closed)

      assert.isTrue(yield* logged(server, "RPC WebSocket closed", 5_000), "no warning about the closed WebSocket")
      const output = server.output()
      assert.notInclude(output, "HTTP request failed")
      assert.notInclude(output, "SocketError")
      assert.notInclude(output, "    at ")
    }))
})
