/**
 * The ID operations as an interface other than HTTP receives them (gRPC, Effect RPC): a
 * raw API key, the client's address when known, and an undecoded request. The rules are
 * HTTP's, through HTTP's own pieces: the node's one `Admission` verifies the key (401, or
 * 429 for an address out of failed attempts) and takes the workspace's and the address's
 * rate limits (429), the request
 * is decoded with the HTTP endpoint schemas (a bad field is the same 400 IDGEN-COMMON-0001
 * naming the field), a workspace other than the key's is 403 (`forbidden`), and
 * `IdService` does the rest. So a caller gets the same answer, as the same IDGEN error,
 * whichever interface it uses.
 */
import { Errors, type Names } from "@idgen/core"
import { BatchGenerateRequest, GenerateRequest, ParseRequest } from "@idgen/protocol/http"
import { Cause, Context, Effect, Exit, Layer, Schema } from "effect"
import { forbidden, sequenceKeyOf } from "../http/IdsHttp.ts"
import { invalidRequestFrom } from "../http/RequestValidation.ts"
import { Admission } from "../requests/Admission.ts"
import { type GenerateResult, IdService, type ParsedId } from "./IdService.ts"
import { parseInputOf } from "./ParseInput.ts"

/** Who is calling: the raw API key and, when the transport knows it, the client's IP address. */
export interface Caller {
  readonly apiKey: string
  readonly clientIp?: string | undefined
}

export class IdRequests extends Context.Service<IdRequests, {
  /** `{workspace, group, biz_tag}` → one ID. */
  generate(caller: Caller, request: unknown): Effect.Effect<GenerateResult, Errors.IdgenError>
  /** `{workspace, group, biz_tag, size}` → `size` IDs (1..10000). */
  batchGenerate(caller: Caller, request: unknown): Effect.Effect<GenerateResult, Errors.IdgenError>
  /** `{id}` plus optional `workspace, group, biz_tag` (all or none) → the parse response. */
  parse(caller: Caller, request: unknown): Effect.Effect<ParsedId, Errors.IdgenError>
}>()("@idgen/server/generate/IdRequests") {
  static readonly layer: Layer.Layer<IdRequests, never, IdService | Admission> = Layer.effect(
    IdRequests,
    Effect.gen(function*() {
      const ids = yield* IdService
      const admission = yield* Admission

      /** Admits the caller (key, rate limits), decodes the request, checks its workspace, then runs `use`. */
      const authorized = <I extends { readonly workspace?: Names.WorkspaceName | undefined }, A>(
        decode: (u: unknown) => Exit.Exit<I, Errors.InvalidRequest>,
        caller: Caller,
        request: unknown,
        use: (decoded: I) => Effect.Effect<A, Errors.IdgenError>
      ): Effect.Effect<A, Errors.IdgenError> =>
        Effect.flatMap(admission.admit(caller.apiKey, caller.clientIp), (own) => {
          const decoded = decode(request)
          return Exit.isFailure(decoded)
            ? Effect.failCause(decoded.cause)
            : decoded.value.workspace === undefined || decoded.value.workspace === own
            ? use(decoded.value)
            : Effect.fail(forbidden(own, decoded.value.workspace))
        })

      /** The workspace's IDs-per-second limit, then `count` IDs. */
      const limitedIds = (workspace: Names.WorkspaceName, key: Names.SequenceKey, count: number) =>
        Effect.andThen(admission.admitIds(workspace, count), ids.generate(key, count))

      return IdRequests.of({
        generate: (caller, request) =>
          authorized(decodeGenerate, caller, request, (payload) => limitedIds(payload.workspace, sequenceKeyOf(payload), 1)),
        batchGenerate: (caller, request) =>
          authorized(
            decodeBatch,
            caller,
            request,
            (payload) => limitedIds(payload.workspace, sequenceKeyOf(payload), payload.size)
          ),
        parse: (caller, request) =>
          authorized(decodeParse, caller, request, (payload) => {
            const input = parseInputOf(payload)
            return input instanceof Errors.InvalidRequest ? Effect.fail(input) : ids.parse(input)
          })
      })
    })
  )
}

/** A decoder whose failure is the contract's 400 for the request body. */
const bodyDecoder = <S extends Schema.Decoder<unknown>>(schema: S) => {
  const decode = Schema.decodeUnknownExit(schema)
  return (u: unknown): Exit.Exit<S["Type"], Errors.InvalidRequest> => {
    const exit = decode(u)
    if (Exit.isSuccess(exit)) return Exit.succeed(exit.value)
    const failure = Cause.findErrorOption(exit.cause)
    return failure._tag === "Some" ? Exit.fail(invalidRequestFrom("body", failure.value.issue)) : Exit.die(Cause.squash(exit.cause))
  }
}

const decodeGenerate = bodyDecoder(GenerateRequest)
const decodeBatch = bodyDecoder(BatchGenerateRequest)
const decodeParse = bodyDecoder(ParseRequest)
