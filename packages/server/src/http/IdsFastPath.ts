/**
 * The hot path: `POST /api/v1/generate` and `POST /api/v1/generate/batch` answered straight
 * from Node's `request` event, without the general router/HttpApi machinery (fiber per
 * request, request scope, middleware chain, response encoding): the HTTP adapter of the one
 * pipeline (`IdRequests`). It admits the caller from the headers before reading the body
 * (`Admission`), reads the body within the limit, parses the JSON, and hands the rest to
 * the pipeline's synchronous form; the response bodies, the error bodies and the outcome
 * mapping (`Outcome`) are HTTP's, so a client cannot tell the two paths apart; only the
 * cost differs. It records the same request metrics and, when traces are exported, the
 * same server span as the router path. The common request — a key this node trusts, a
 * cached biz_tag with IDs at hand, a well-formed body — runs no fiber at all; anything
 * else takes the same steps as effects.
 *
 * Requests it does not take (other routes, chunked or oversized bodies, a Content-Type
 * other than JSON, `Expect: 100-continue`, which Node reports as a separate event) go to
 * the HttpApi endpoints as usual, which answer them the same way.
 */
import { Errors, Immediate, type Names } from "@idgen/core"
import { WireError } from "@idgen/protocol/http"
import { Cause, Clock, Context, Effect, Exit, SchemaIssue, type Tracer } from "effect"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { ServerConfig } from "../config/ServerConfig.ts"
import type { GenerateResult } from "../generate/IdService.ts"
import * as RequestMetrics from "../generate/RequestMetrics.ts"
import * as Tracing from "../observability/Tracing.ts"
import { Admission } from "../requests/Admission.ts"
import { IdRequests } from "../requests/IdRequests.ts"
import * as Outcome from "../requests/Outcome.ts"
import { invalidRequestFrom, malformedJson, tooLarge } from "../requests/RequestErrors.ts"
import { closeIfUnread } from "./CloseUnread.ts"
import { batchBodyBytes, generateBody } from "./IdsHttp.ts"
import { fromHeader, headerName } from "../net/RequestId.ts"
import { refuseByHeaders } from "./RequestValidation.ts"

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

export const make: Effect.Effect<FastPath, never, IdRequests | Admission | ServerConfig> = Effect.gen(function*() {
  const requests = yield* IdRequests
  const admission = yield* Admission
  const maxBytes = (yield* ServerConfig).http.maxBodyBytes
  const context = yield* Effect.context<never>()
  const clock = Context.get(context, Clock.Clock)
  const run = Effect.runCallbackWith(context)

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

  /** HTTP's outcome mapper: the error body; nobody to answer when interrupted; a defect logged, 500. */
  const sendFailure = Outcome.answer<Exchange, void>({
    error: sendError,
    interrupted: (x, cause) => {
      x.span?.end(clock.currentTimeNanosUnsafe(), Exit.failCause(cause))
      x.res.destroy()
    },
    defect: (x, cause) => {
      run(Effect.logError("HTTP request failed", cause))
      sendError(x, Outcome.internalError)
    }
  })

  /** A refusal before the body was read: the connection goes unless the body arrives promptly. */
  const refuse = (req: IncomingMessage, x: Exchange, cause: Cause.Cause<Errors.IdgenError>) => {
    closeIfUnread(req, x.res)
    sendFailure(x, cause)
  }

  /** Runs `effect` as a child of the request's span (when tracing). */
  const runIn = <A>(x: Exchange, effect: Effect.Effect<A, Errors.IdgenError>, onExit: (exit: Exit.Exit<A, Errors.IdgenError>) => void) =>
    run(x.span === undefined ? effect : Effect.withParentSpan(effect, x.span), { onExit })

  /** After admission: read the body within the limit, parse it, and hand it to the pipeline. */
  const serve = (
    req: IncomingMessage,
    x: Exchange,
    own: Names.WorkspaceName,
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
      const issued = batch ? requests.batchGenerateUnsafe(own, json) : requests.generateUnsafe(own, json)
      // IDs at hand (a cached biz_tag, numbers buffered): no fiber to run.
      if (Immediate.isError(issued)) sendError(x, issued)
      else if (Immediate.isPending(issued)) {
        runIn(x, issued, (exit) => Exit.isSuccess(exit) ? respond(x, batch, exit.value) : sendFailure(x, exit.cause))
      } else respond(x, batch, issued as GenerateResult)
    })
  }

  const respond = (x: Exchange, batch: boolean, result: GenerateResult) => {
    let body: string | Buffer
    try {
      body = batch ? batchBodyBytes(result) : generateBody(result)
    } catch (defect) {
      return sendFailure(x, Cause.die(defect))
    }
    metrics.success(x.startMs, result.algorithm, result.ids.length)
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
    if (Immediate.isError(admitted)) refuse(req, x, Cause.fail(admitted))
    else if (Immediate.isPending(admitted)) {
      runIn(x, admitted, (exit) => Exit.isSuccess(exit) ? serve(req, x, exit.value, batch) : refuse(req, x, exit.cause))
    } else serve(req, x, admitted as Names.WorkspaceName, batch)
    return true
  }
})

const ignore = () => {}

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
