/**
 * The hot path: `POST /api/v1/generate` and `POST /api/v1/generate/batch` answered straight
 * from Node's `request` event, without the general router/HttpApi machinery (fiber per
 * request, request scope, middleware chain, response encoding). The rules are the same
 * functions the HttpApi endpoints use — request id, API key, Content-Type and size checks,
 * payload schemas, the 403 check, the response bodies and the error bodies — so a client
 * cannot tell the two paths apart; only the cost differs. It records the same request
 * metrics and, when traces are exported, the same server span as the router path. The
 * common request — a key this node trusts, a cached biz_tag with IDs at hand, a well-formed
 * body — runs no fiber at all (`ApiKeys.verifyCached`, `IdService.generateNow`,
 * `GenerateBodies`); anything else takes the same steps as effects.
 *
 * Requests it does not take (other routes, chunked or oversized bodies, a Content-Type
 * other than JSON, `Expect: 100-continue`, which Node reports as a separate event) go to
 * the HttpApi endpoints as usual, which answer them the same way.
 */
import { Errors, type Names } from "@idgen/core"
import { BatchGenerateRequest, GenerateRequest, WireError } from "@idgen/protocol/http"
import { Cause, Clock, Context, Effect, Exit, Schema, SchemaIssue, type Tracer } from "effect"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { ServerConfig } from "../config/ServerConfig.ts"
import { type GenerateResult, IdService } from "../generate/IdService.ts"
import * as RequestMetrics from "../generate/RequestMetrics.ts"
import * as Tracing from "../observability/Tracing.ts"
import { Admission, isRefusal } from "../requests/Admission.ts"
import { closeIfUnread } from "./CloseUnread.ts"
import * as GenerateBodies from "./GenerateBodies.ts"
import { batchBodyBytes, forbidden, generateBody, sequenceKeyOf } from "./IdsHttp.ts"
import { fromHeader, headerName } from "./RequestId.ts"
import { invalidRequestFrom, malformedJson, refuseByHeaders, tooLarge } from "./RequestValidation.ts"

const generatePath = "/api/v1/generate"
const batchPath = "/api/v1/generate/batch"

/** Handles the request and returns true, or returns false to leave it to the router. */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean

/** One request in flight on the fast path. */
interface Exchange {
  readonly res: ServerResponse
  readonly requestId: string
  /** For the latency histogram (`RequestMetrics`). */
  readonly startMs: number
  /** The request's server span, when traces are exported. */
  readonly span: Tracer.Span | undefined
}

export const make: Effect.Effect<FastPath, never, IdService | Admission | ServerConfig> = Effect.gen(function*() {
  const ids = yield* IdService
  const admission = yield* Admission
  const maxBytes = (yield* ServerConfig).http.maxBodyBytes
  const context = yield* Effect.context<never>()
  const clock = Context.get(context, Clock.Clock)
  const run = Effect.runCallbackWith(context)
  const decodeGenerate = Schema.decodeUnknownExit(GenerateRequest)
  const decodeBatch = Schema.decodeUnknownExit(BatchGenerateRequest)

  const metrics = RequestMetrics.recorder("http", context)
  const tracing = Tracing.isEnabled(context)

  const send = (x: Exchange, status: number, body: string | Buffer, error?: unknown) => {
    if (x.span !== undefined) Tracing.endServerSpan(context, x.span, status, error)
    const res = x.res
    if (res.destroyed) return
    // A flat [name, value, ...] array: Node writes it as is, no object to walk.
    res.writeHead(status, [
      "content-type",
      "application/json",
      "content-length",
      String(typeof body === "string" ? Buffer.byteLength(body) : body.length),
      headerName,
      x.requestId
    ])
    res.end(body)
  }

  const sendError = (x: Exchange, error: Errors.IdgenError) => {
    metrics.failure(x.startMs, error)
    const retryAfter = Errors.retryAfterOf(error)
    if (retryAfter !== undefined) x.res.setHeader("retry-after", String(retryAfter))
    send(x, Errors.statusOf(error), JSON.stringify(WireError.toBody(error, x.requestId, clock.currentTimeMillisUnsafe())), error)
  }

  /** A refusal before the body was read: the connection goes unless the body arrives promptly. */
  const refuse = (req: IncomingMessage, x: Exchange, cause: Cause.Cause<Errors.IdgenError>) => {
    closeIfUnread(req, x.res)
    sendFailure(x, cause)
  }

  const sendFailure = (x: Exchange, cause: Cause.Cause<Errors.IdgenError>) => {
    const failure = Cause.findErrorOption(cause)
    if (failure._tag === "Some") return sendError(x, failure.value)
    if (Cause.hasInterruptsOnly(cause)) {
      x.span?.end(clock.currentTimeNanosUnsafe(), Exit.failCause(cause))
      return x.res.destroy()
    }
    run(Effect.logError("HTTP request failed", cause))
    sendError(x, internalError)
  }

  /** Runs `effect` as a child of the request's span (when tracing). */
  const runIn = <A>(x: Exchange, effect: Effect.Effect<A, Errors.IdgenError>, onExit: (exit: Exit.Exit<A, Errors.IdgenError>) => void) =>
    run(x.span === undefined ? effect : Effect.withParentSpan(effect, x.span), { onExit })

  /** After authentication: read and check the body, then generate. */
  const serve = (
    req: IncomingMessage,
    x: Exchange,
    keyWorkspace: string,
    batch: boolean
  ) => {
    const chunks: Array<Buffer> = []
    let received = 0
    req.on("data", (chunk: Buffer) => {
      received += chunk.length
      if (received <= maxBytes) chunks.push(chunk)
    })
    req.on("end", () => {
      if (received > maxBytes) return sendError(x, tooLarge(maxBytes, received))
      let json: unknown
      if (received === 0) {
        json = undefined
      } else {
        try {
          json = JSON.parse(chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks).toString())
        } catch {
          return sendError(x, invalidBody(malformedJsonIssue))
        }
      }
      // The usual well-formed body is checked by hand; anything else by the schema, for its errors.
      let payload = batch ? GenerateBodies.batchGenerateRequest(json) : GenerateBodies.generateRequest(json)
      if (payload === undefined) {
        const decoded = batch ? decodeBatch(json) : decodeGenerate(json)
        if (Exit.isFailure(decoded)) {
          const failure = Cause.findErrorOption(decoded.cause)
          return failure._tag === "Some"
            ? sendError(x, invalidBody(failure.value.issue))
            : sendFailure(x, Cause.die(Cause.squash(decoded.cause)))
        }
        payload = decoded.value
      }
      if (payload.workspace !== keyWorkspace) return sendError(x, forbidden(keyWorkspace, payload.workspace))
      const size = batch ? (payload as typeof BatchGenerateRequest.Type).size : 1
      const key = sequenceKeyOf(payload)
      const limited = admission.admitIdsUnsafe(payload.workspace, size)
      if (limited === undefined) generate(x, batch, key, size)
      else if (limited instanceof Errors.RateLimitExceeded) sendError(x, limited)
      else runIn(x, limited, (exit) => Exit.isSuccess(exit) ? generate(x, batch, key, size) : sendFailure(x, exit.cause))
    })
  }

  const generate = (x: Exchange, batch: boolean, key: Names.SequenceKey, size: number) => {
    const generated = ids.generateNow(key, size)
    // IDs taken already (a cached biz_tag, numbers buffered): no fiber to run.
    if (Exit.isExit(generated)) respond(x, batch, generated as Exit.Exit<GenerateResult, Errors.IdgenError>)
    else runIn(x, generated, (exit) => respond(x, batch, exit))
  }

  const respond = (x: Exchange, batch: boolean, exit: Exit.Exit<GenerateResult, Errors.IdgenError>) => {
    if (Exit.isFailure(exit)) return sendFailure(x, exit.cause)
    let body: string | Buffer
    try {
      body = batch ? batchBodyBytes(exit.value) : generateBody(exit.value)
    } catch (defect) {
      return sendFailure(x, Cause.die(defect))
    }
    metrics.success(x.startMs, exit.value.algorithm, exit.value.ids.length)
    send(x, 200, body)
  }

  return (req, res) => {
    if (req.method !== "POST") return false
    const url = req.url
    const batch = url === batchPath
    if (!batch && url !== generatePath) return false
    const headers = req.headers
    // Bodies refused before reading them (too large, not JSON) and chunked ones go to the
    // router, which answers the same 400s and knows how to discard them.
    if (headers["transfer-encoding"] !== undefined || refuseByHeaders(headers, maxBytes) !== undefined) return false
    req.on("error", ignore)
    const x: Exchange = {
      res,
      requestId: fromHeader(headers[headerName] as string | undefined),
      startMs: metrics.start(),
      span: tracing ? Tracing.serverSpan(context, "POST", url, headers) : undefined
    }
    const header = headers["x-api-key"]
    // Key and rate limits before the body is read: a refused request costs no parsing.
    const admitted = admission.admitUnsafe(
      typeof header === "string" ? header : "",
      admission.clientAddress(req.socket.remoteAddress, headers["x-forwarded-for"])
    )
    if (typeof admitted === "string") serve(req, x, admitted, batch)
    else if (isRefusal(admitted)) refuse(req, x, Cause.fail(admitted))
    else runIn(x, admitted, (exit) => Exit.isSuccess(exit) ? serve(req, x, exit.value, batch) : refuse(req, x, exit.cause))
    return true
  }
})

const ignore = () => {}

const internalError = new Errors.InternalError({ message: "Internal server error", details: {} })

const invalidBody = (issue: Parameters<typeof invalidRequestFrom>[1]) => invalidRequestFrom("body", issue)

const malformedJsonIssue = new SchemaIssue.InvalidValue({ message: malformedJson })

/**
 * Puts `fastPath` in front of the server's `request` listeners (the router's among them):
 * a request it takes is never seen by them.
 */
export const install = <S extends Server>(server: S, fastPath: FastPath): S => {
  const emit = server.emit as (this: S, event: string | symbol, ...args: Array<unknown>) => boolean
  server.emit = function(this: S, event: string | symbol, ...args: Array<unknown>): boolean {
    if (event === "request" && fastPath(args[0] as IncomingMessage, args[1] as ServerResponse)) return true
    return emit.call(this, event, ...args)
  } as S["emit"]
  return server
}
