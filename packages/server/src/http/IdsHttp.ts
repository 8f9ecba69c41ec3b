/**
 * Handlers of the ID endpoints. Generation is the hot path: no logging, no spans, and the
 * JSON body is written directly (the shapes are fixed by construction, so re-validating
 * them through the response schema would only cost time). Most generate requests are
 * answered even earlier, by `IdsFastPath`, with the body builders exported here.
 */
import { Errors, type Names } from "@idgen/core"
import { Api, CurrentWorkspace, type GenerateRequest } from "@idgen/protocol/http"
import { Effect, Layer } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder, type HttpApiGroup } from "effect/http-api"
import type { ServerConfig } from "../config/ServerConfig.ts"
import { type GenerateResult, IdService } from "../generate/IdService.ts"
import { parseInputOf } from "../generate/ParseInput.ts"
import * as RequestMetrics from "../generate/RequestMetrics.ts"
import { Admission } from "../requests/Admission.ts"
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

/** The sequence a generate request names. */
export const sequenceKeyOf = (payload: typeof GenerateRequest.Type): Names.SequenceKey => ({
  workspace: payload.workspace,
  group: payload.group,
  bizTag: payload.biz_tag
})

/** 403: the API key is valid, but for another workspace than the request names. */
export const forbidden = (keyWorkspace: string, requested: string) =>
  new Errors.Forbidden({
    message: `The API key belongs to workspace ${keyWorkspace}, not ${requested}`,
    details: { workspace: requested }
  })

/** Runs `use` when the request's workspace is the key's one, else 403. */
const inWorkspace = <A, E, R>(
  workspace: Names.WorkspaceName,
  use: Effect.Effect<A, E, R>
): Effect.Effect<A, E | Errors.Forbidden, R | CurrentWorkspace> =>
  Effect.flatMap(
    CurrentWorkspace,
    (own): Effect.Effect<A, E | Errors.Forbidden, R> => own === workspace ? use : Effect.fail(forbidden(own, workspace))
  )

const IdsHandlers = HttpApiBuilder.group(
  Api,
  "ids",
  Effect.fnUntraced(function*(handlers) {
    const ids = yield* IdService
    const admission = yield* Admission
    // Requests the fast path left to the router count in the same request metrics.
    const observed = RequestMetrics.observe("http")
    return handlers
      .handle("generate", ({ payload }) =>
        inWorkspace(
          payload.workspace,
          Effect.map(observed(Effect.andThen(admission.admitIds(payload.workspace, 1), ids.generate(sequenceKeyOf(payload), 1))), (result) => jsonText(generateBody(result)))
        ))
      .handle("generateBatch", ({ payload }) =>
        inWorkspace(
          payload.workspace,
          Effect.map(observed(
            Effect.andThen(admission.admitIds(payload.workspace, payload.size), ids.generate(sequenceKeyOf(payload), payload.size))
          ), (result) => jsonText(batchBody(result)))
        ))
      .handle("parse", ({ payload }) => {
        const input = parseInputOf(payload)
        if (input instanceof Errors.InvalidRequest) return Effect.fail(input)
        const parsed = Effect.map(ids.parse(input), json)
        return input.key === undefined ? parsed : inWorkspace(input.key.workspace, parsed)
      })
  })
)

/** The ID endpoints with their middleware (API key, request validation). */
export const layer: Layer.Layer<
  HttpApiGroup.Service<"idgen", "ids">,
  never,
  IdService | Admission | ServerConfig
> =
  IdsHandlers.pipe(Layer.provide([ApiKeyMiddleware.layer, RequestValidation.layer]))
