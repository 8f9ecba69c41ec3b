/**
 * The one pipeline of the ID operations, behind every interface (the HTTP fast path, the
 * HttpApi router, gRPC, Effect RPC over HTTP and WebSocket):
 *
 *   admit (`Admission`: key, failed-attempt limit, rate limits)
 *   → decode (the contract's schemas: a bad field is 400 IDGEN-COMMON-0001 naming it)
 *   → workspace (the request's must be the key's: else 403 IDGEN-COMMON-0006)
 *   → IDs per second (the workspace's `ids_per_second`: 429)
 *   → `IdService` (generate, or parse).
 *
 * An interface is a thin adapter: it hands over the raw key and address (or, when its
 * transport admits earlier, the admitted workspace), the undecoded request, and maps the
 * outcome to its wire with its mapper built from `Outcome`. The `…Unsafe` forms answer
 * now where memory decides (core's `Immediate`): the HTTP fast path serves the usual
 * request without a fiber. The Effect forms do nothing until run.
 */
import { Errors, Immediate, type Names } from "@idgen/core"
import { BatchGenerateRequest, GenerateRequest, ParseRequest } from "@idgen/protocol/http"
import { Cause, Context, Effect, Exit, Layer, Schema } from "effect"
import { type GenerateResult, IdService, type ParsedId } from "../generate/IdService.ts"
import { parseInputOf } from "../generate/ParseInput.ts"
import { Admission } from "./Admission.ts"
import * as GenerateBodies from "./GenerateBodies.ts"
import { invalidRequestFrom } from "./RequestErrors.ts"

/** Who is calling: the raw API key and, when the transport knows it, the client's IP address. */
export interface Caller {
  readonly apiKey: string
  readonly clientIp?: string | undefined
}

type Issued = Immediate.Immediate<GenerateResult, Errors.IdgenError>

export class IdRequests extends Context.Service<IdRequests, {
  /** `{workspace, group, biz_tag}` → one ID. */
  generate(caller: Caller, request: unknown): Effect.Effect<GenerateResult, Errors.IdgenError>
  /** `{workspace, group, biz_tag, size}` → `size` IDs (1..10000). */
  batchGenerate(caller: Caller, request: unknown): Effect.Effect<GenerateResult, Errors.IdgenError>
  /** `{id}` plus optional `workspace, group, biz_tag` (all or none) → the parse response. */
  parse(caller: Caller, request: unknown): Effect.Effect<ParsedId, Errors.IdgenError>
  /** `generate` for a caller admitted already as `workspace` (a transport that admits before the body). */
  generateUnsafe(workspace: Names.WorkspaceName, request: unknown): Issued
  batchGenerateUnsafe(workspace: Names.WorkspaceName, request: unknown): Issued
  /**
   * From the workspace check on, for a request decoded already with the same schemas (the
   * HttpApi router's payloads): `count` IDs of the sequence `payload` names.
   */
  issueUnsafe(workspace: Names.WorkspaceName, payload: typeof GenerateRequest.Type, count: number): Issued
  parseDecoded(workspace: Names.WorkspaceName, payload: typeof ParseRequest.Type): Effect.Effect<ParsedId, Errors.IdgenError>
}>()("@idgen/server/requests/IdRequests") {
  static readonly layer: Layer.Layer<IdRequests, never, IdService | Admission> = Layer.effect(
    IdRequests,
    Effect.gen(function*() {
      const ids = yield* IdService
      const admission = yield* Admission

      const issueUnsafe = (own: Names.WorkspaceName, payload: typeof GenerateRequest.Type, count: number): Issued =>
        payload.workspace !== own
          ? forbidden(own, payload.workspace)
          : Immediate.flatMap(admission.admitIdsUnsafe(own, count), () => ids.generateUnsafe(sequenceKeyOf(payload), count))

      const generateUnsafe = (own: Names.WorkspaceName, request: unknown): Issued =>
        Immediate.flatMap(decodeGenerate(request), (payload) => issueUnsafe(own, payload, 1))

      const batchGenerateUnsafe = (own: Names.WorkspaceName, request: unknown): Issued =>
        Immediate.flatMap(decodeBatch(request), (payload) => issueUnsafe(own, payload, payload.size))

      const parseDecoded = (own: Names.WorkspaceName, payload: typeof ParseRequest.Type) => {
        const input = parseInputOf(payload)
        if (input instanceof Errors.InvalidRequest) return Effect.fail(input)
        if (input.key !== undefined && input.key.workspace !== own) return Effect.fail(forbidden(own, input.key.workspace))
        return ids.parse(input)
      }

      const parseUnsafe = (own: Names.WorkspaceName, request: unknown) =>
        Immediate.flatMap(decodeParse(request), (payload) => parseDecoded(own, payload))

      /** Admission first, then the rest of the pipeline. */
      const admitted = <A>(rest: (own: Names.WorkspaceName, request: unknown) => Immediate.Immediate<A, Errors.IdgenError>) =>
        Immediate.lazy((caller: Caller, request: unknown) =>
          Immediate.flatMap(admission.admitUnsafe(caller.apiKey, caller.clientIp), (own) => rest(own, request))
        )

      return IdRequests.of({
        generate: admitted(generateUnsafe),
        batchGenerate: admitted(batchGenerateUnsafe),
        parse: admitted(parseUnsafe),
        generateUnsafe,
        batchGenerateUnsafe,
        issueUnsafe,
        parseDecoded
      })
    })
  )
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

/**
 * A decoder whose failure is the contract's 400 for the request body; `usual` first, a
 * hand-written check of the common well-formed request (cheaper than the schema, and
 * leaving everything else to it, see `GenerateBodies`).
 */
const bodyDecoder = <S extends Schema.Decoder<unknown>>(
  schema: S,
  usual: (u: unknown) => S["Type"] | undefined = () => undefined
) => {
  const decode = Schema.decodeUnknownExit(schema)
  return (u: unknown): Immediate.Immediate<S["Type"], Errors.InvalidRequest> => {
    const checked = usual(u)
    if (checked !== undefined) return checked
    const exit = decode(u)
    if (Exit.isSuccess(exit)) return exit.value
    const failure = Cause.findErrorOption(exit.cause)
    return failure._tag === "Some" ? invalidRequestFrom("body", failure.value.issue) : Effect.die(Cause.squash(exit.cause))
  }
}

const decodeGenerate = bodyDecoder(GenerateRequest, GenerateBodies.generateRequest)
const decodeBatch = bodyDecoder(BatchGenerateRequest, GenerateBodies.batchGenerateRequest)
const decodeParse = bodyDecoder(ParseRequest)
