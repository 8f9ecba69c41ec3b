/**
 * The hot path: `POST /api/v1/generate` and `POST /api/v1/generate/batch` answered straight
 * from Node's `request` event, without the general router/HttpApi machinery (fiber per
 * request, request scope, middleware chain, response encoding). The rules are the same
 * functions the HttpApi endpoints use — request id, API key, Content-Type and size checks,
 * payload schemas, the 403 check, the response bodies and the error bodies — so a client
 * cannot tell the two paths apart; only the cost differs.
 *
 * Requests it does not take (other routes, chunked or oversized bodies, a Content-Type
 * other than JSON, `Expect: 100-continue`, which Node reports as a separate event) go to
 * the HttpApi endpoints as usual, which answer them the same way.
 */
import { Errors } from "@idgen/core"
import { Cause, Clock, Context, Effect, Exit, Schema, SchemaIssue } from "effect"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { ApiKeys } from "../auth/ApiKeys.ts"
import { ServerConfig } from "../config/ServerConfig.ts"
import { IdService } from "../generate/IdService.ts"
import { BatchGenerateRequest, GenerateRequest } from "./IdsApi.ts"
import { batchBody, forbidden, generateBody, sequenceKeyOf } from "./IdsHttp.ts"
import { fromHeader, headerName } from "./RequestId.ts"
import { invalidRequestFrom, isJson, malformedJson, tooLarge } from "./RequestValidation.ts"
import * as WireError from "./WireError.ts"

const generatePath = "/api/v1/generate"
const batchPath = "/api/v1/generate/batch"

/** Handles the request and returns true, or returns false to leave it to the router. */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean

export const make: Effect.Effect<FastPath, never, IdService | ApiKeys | ServerConfig> = Effect.gen(function*() {
  const ids = yield* IdService
  const apiKeys = yield* ApiKeys
  const maxBytes = (yield* ServerConfig).http.maxBodyBytes
  const context = yield* Effect.context<never>()
  const clock = Context.get(context, Clock.Clock)
  const run = Effect.runCallbackWith(context)
  const decodeGenerate = Schema.decodeUnknownExit(GenerateRequest)
  const decodeBatch = Schema.decodeUnknownExit(BatchGenerateRequest)

  const send = (res: ServerResponse, requestId: string, status: number, body: string) => {
    if (res.destroyed) return
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      [headerName]: requestId
    })
    res.end(body)
  }

  const sendError = (res: ServerResponse, requestId: string, error: Errors.IdgenError) => {
    if (error._tag === "RateLimitExceeded") {
      res.setHeader("retry-after", String(Math.max(1, Math.ceil(error.retryAfterSeconds))))
    }
    send(res, requestId, Errors.statusOf(error), JSON.stringify(WireError.toBody(error, requestId, clock.currentTimeMillisUnsafe())))
  }

  const sendFailure = (res: ServerResponse, requestId: string, cause: Cause.Cause<Errors.IdgenError>) => {
    const failure = Cause.findErrorOption(cause)
    if (failure._tag === "Some") return sendError(res, requestId, failure.value)
    if (Cause.hasInterruptsOnly(cause)) return res.destroy()
    run(Effect.logError("HTTP request failed", cause))
    sendError(res, requestId, internalError)
  }

  /** After authentication: read and check the body, then generate. */
  const serve = (
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
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
      if (received > maxBytes) return sendError(res, requestId, tooLarge(maxBytes, received))
      let json: unknown
      if (received === 0) {
        json = undefined
      } else {
        try {
          json = JSON.parse(chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks).toString())
        } catch {
          return sendError(res, requestId, invalidBody(malformedJsonIssue))
        }
      }
      const decoded = batch ? decodeBatch(json) : decodeGenerate(json)
      if (Exit.isFailure(decoded)) {
        const failure = Cause.findErrorOption(decoded.cause)
        return failure._tag === "Some"
          ? sendError(res, requestId, invalidBody(failure.value.issue))
          : sendFailure(res, requestId, Cause.die(Cause.squash(decoded.cause)))
      }
      const payload = decoded.value
      if (payload.workspace !== keyWorkspace) return sendError(res, requestId, forbidden(keyWorkspace, payload.workspace))
      const size = batch ? (payload as typeof BatchGenerateRequest.Type).size : 1
      run(ids.generate(sequenceKeyOf(payload), size), {
        onExit: (exit) => {
          if (Exit.isFailure(exit)) return sendFailure(res, requestId, exit.cause)
          let body: string
          try {
            body = batch ? batchBody(exit.value) : generateBody(exit.value)
          } catch (defect) {
            return sendFailure(res, requestId, Cause.die(defect))
          }
          send(res, requestId, 200, body)
        }
      })
    })
  }

  return (req, res) => {
    if (req.method !== "POST") return false
    const url = req.url
    const batch = url === batchPath
    if (!batch && url !== generatePath) return false
    const headers = req.headers
    // Bodies this path would refuse before reading them (too large, not JSON) and chunked
    // ones go to the router, which answers the same 400s and knows how to discard them.
    if (headers["transfer-encoding"] !== undefined) return false
    const length = headers["content-length"]
    if (length !== undefined && length !== "0" && (Number(length) > maxBytes || !isJson(headers["content-type"]))) {
      return false
    }
    req.on("error", ignore)
    const requestId = fromHeader(headers[headerName] as string | undefined)
    const rawKey = headers["x-api-key"]
    run(apiKeys.verify(typeof rawKey === "string" ? rawKey : ""), {
      onExit: (exit) => {
        if (Exit.isSuccess(exit)) return serve(req, res, requestId, exit.value, batch)
        req.resume()
        sendFailure(res, requestId, exit.cause)
      }
    })
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
