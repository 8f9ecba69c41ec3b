/**
 * Handlers of the ID endpoints. Generation is the hot path: no logging, no spans, and the
 * JSON body is written directly (the shapes are fixed by construction, so re-validating
 * them through the response schema would only cost time). Most generate requests are
 * answered even earlier, by `IdsFastPath`, with the body builders exported here.
 */
import { Immediate } from "@idgen/core"
import { Api, CurrentWorkspace, type GenerateRequest } from "@idgen/protocol/http"
import { Effect, Layer } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder, type HttpApiGroup } from "effect/http-api"
import type { ServerConfig } from "../config/ServerConfig.ts"
import type { GenerateResult } from "../generate/IdService.ts"
import * as RequestMetrics from "../generate/RequestMetrics.ts"
import type { Admission } from "../requests/Admission.ts"
import { IdRequests } from "../requests/IdRequests.ts"
import * as ApiKeyMiddleware from "./ApiKeyMiddleware.ts"
import * as RequestValidation from "./RequestValidation.ts"

const json = (body: unknown): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(JSON.stringify(body), { contentType: "application/json" })

const jsonText = (text: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(text, { contentType: "application/json" })

let lastMillis = Number.NaN
let lastIso = ""

/** RFC 3339 of a Unix ms; consecutive requests mostly share the millisecond. */
const isoOf = (millis: number): string => {
  if (millis !== lastMillis) {
    lastIso = new Date(millis).toISOString()
    lastMillis = millis
  }
  return lastIso
}

/** The body of `POST /api/v1/generate`: `{"id","algorithm","timestamp"}`, built by hand (hot path). */
export const generateBody = (result: GenerateResult): string => {
  const id = result.ids[0]
  if (id === undefined) throw new Error("IdService.generate returned no id")
  return `{"id":${JSON.stringify(id)},"algorithm":"${result.algorithm}","timestamp":"${isoOf(result.timestampMs)}"}`
}

/** The body of `POST /api/v1/generate/batch`. */
export const batchBody = (result: GenerateResult): string =>
  JSON.stringify({ ids: result.ids, algorithm: result.algorithm, count: result.ids.length })

/**
 * `batchBody` as the bytes the fast path sends: a string body costs a UTF-8 length pass for
 * Content-Length and a UTF-8 encoding on its way into the socket. IDs of every algorithm
 * but `formatted` are ASCII (decimal digits, UUID hex), so their text's bytes are its
 * latin1 ones: one copy.
 */
export const batchBodyBytes = (result: GenerateResult): Buffer => {
  const text = batchBody(result)
  return result.algorithm === "formatted" ? Buffer.from(text) : Buffer.from(text, "latin1")
}

/** `count` IDs through the pipeline, for the workspace the key middleware admitted. */
const issueFor = (requests: IdRequests["Service"], payload: typeof GenerateRequest.Type, count: number) =>
  Effect.flatMap(CurrentWorkspace, (own) => Immediate.toEffect(requests.issueUnsafe(own, payload, count)))

/**
 * The router's adapter of the one pipeline (`IdRequests`): the key middleware admitted the
 * caller (`ApiKeyMiddleware`), HttpApi decoded the payload with the contract's schemas; the
 * rest is the pipeline's, from the workspace check on.
 */
const IdsHandlers = HttpApiBuilder.group(
  Api,
  "ids",
  Effect.fnUntraced(function*(handlers) {
    const requests = yield* IdRequests
    // Requests the fast path left to the router count in the same request metrics.
    const observed = RequestMetrics.observe("http")
    return handlers
      .handle("generate", ({ payload }) =>
        Effect.map(observed(issueFor(requests, payload, 1)), (result) => jsonText(generateBody(result))))
      .handle("generateBatch", ({ payload }) =>
        Effect.map(observed(issueFor(requests, payload, payload.size)), (result) => jsonText(batchBody(result))))
      .handle("parse", ({ payload }) =>
        Effect.flatMap(CurrentWorkspace, (own) => Effect.map(requests.parseDecoded(own, payload), json)))
  })
)

/** The ID endpoints with their middleware (API key, request validation). */
export const layer: Layer.Layer<
  HttpApiGroup.Service<"idgen", "ids">,
  never,
  IdRequests | Admission | ServerConfig
> =
  IdsHandlers.pipe(Layer.provide([ApiKeyMiddleware.layer, RequestValidation.layer]))
