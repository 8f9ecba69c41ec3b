/**
 * The server's ndjson serialization for `/rpc` and `/rpc/ws`. Before the RPC server sees a
 * message, it is checked here:
 *
 * - a line may hold at most `http.max_body_bytes` (a WebSocket client that never sends a
 *   newline is closed with 1009 instead of growing a buffer);
 * - every message must be well-formed: JSON, a known `_tag`, a request with a string or
 *   number id, one of the group's tags and headers as `[name, value]` pairs. A line that
 *   is not is answered on its own with the contract's InvalidRequest (IDGEN-COMMON-0001)
 *   as a defect naming the line (and the request id, when one could be read), never with
 *   the RPC layer's internal messages (`.for is not iterable`, `Unknown request tag`, a
 *   JSON `SyntaxError`); the other lines of the body or frame are served as if it were not
 *   there (Effect's ndjson would throw for the whole batch, dropping every request in it);
 * - `x-idgen-peer` is removed from every request message (`PeerAddress`), and so is an
 *   empty `x-api-key`: the handlers see the transport's headers followed by the message's,
 *   the later winning, so an empty one would hide the POST's or upgrade's `X-API-Key`;
 * - the text after the last newline is a line of its own when it cannot be the start of
 *   one: for `/rpc` (`wholeBody`), where each decode is a whole request body, always (the
 *   POST would end unanswered, waiting for the rest); on `/rpc/ws`, when it is a complete
 *   JSON object — a raw WebSocket client sends one message per frame, newline or not —
 *   while the start of a line split across frames waits for the rest, as ndjson does.
 */
import { Errors } from "@idgen/core"
import { Rpcs } from "@idgen/protocol"
import { Layer, Predicate } from "effect"
import { RpcMessage, RpcSerialization, type RpcServer } from "effect/rpc"
import { isPeerHeader } from "./PeerAddress.ts"

const messageTags = new Set(["Request", "Ack", "Interrupt", "Eof", "Ping"])

const isId = (u: unknown) => typeof u === "string" || typeof u === "number"

const isHeaders = (u: unknown) =>
  Array.isArray(u) &&
  u.every((entry) => Array.isArray(entry) && entry.length === 2 && typeof entry[0] === "string" && typeof entry[1] === "string")

/** What is wrong with a decoded message, or undefined. */
const problemOf = (message: unknown, tags: ReadonlySet<string>): string | undefined => {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return "a message must be a JSON object"
  const m = message as Record<string, unknown>
  if (typeof m._tag !== "string" || !messageTags.has(m._tag)) return `unknown message type ${JSON.stringify(m._tag ?? null)}`
  if (m._tag === "Ack" || m._tag === "Interrupt") return isId(m.requestId) ? undefined : "requestId must be a string or a number"
  if (m._tag !== "Request") return undefined
  if (!isId(m.id)) return "id must be a string or a number"
  if (typeof m.tag !== "string" || !tags.has(m.tag)) return `unknown operation ${JSON.stringify(m.tag ?? null)}; expected one of ${[...tags].join(", ")}`
  return isHeaders(m.headers) ? undefined : "headers must be a list of [name, value] string pairs"
}

/** Where an unreadable line was: its number among the non-blank lines, its request id if readable. */
interface LineOf {
  readonly line: number
  readonly request_id?: string | number
}

/**
 * The refusal, sent as a defect: a plain object, which the RPC layer encodes as it is —
 * the error's tag, IDGEN code, message and details.
 */
const invalid = (problem: string, at: LineOf) => {
  const error = new Errors.InvalidRequest({ message: `Invalid RPC message: ${problem}`, details: { location: "body", ...at } })
  return { _tag: error._tag, code: Errors.codeOf(error), message: error.message, details: error.details }
}

/** What `decode` returns in place of a line it cannot read, answered by `answeringUnreadable`. */
interface Unreadable {
  readonly _tag: "Unreadable"
  readonly defect: ReturnType<typeof invalid>
}

const isUnreadable = (message: unknown): message is Unreadable =>
  typeof message === "object" && message !== null && (message as { _tag?: unknown })._tag === "Unreadable"

/**
 * The RPC server's protocol, answering each unreadable line with its defect (the server
 * itself would answer an unknown message type with a bare "Unknown request tag").
 */
export const answeringUnreadable = (protocol: RpcServer.Protocol["Service"]): RpcServer.Protocol["Service"] => ({
  ...protocol,
  run: (f) =>
    protocol.run((clientId, message: RpcMessage.FromClientEncoded | Unreadable) =>
      isUnreadable(message) ? protocol.send(clientId, RpcMessage.ResponseDefectEncoded(message.defect)) : f(clientId, message)
    )
})

const parsed = (text: string): { readonly value: unknown } | undefined => {
  try {
    return { value: JSON.parse(text) }
  } catch {
    return undefined
  }
}

/** A header the message may not set: the server's `x-idgen-peer`, and an empty key (see above). */
const isDropped = ([name, value]: readonly [string, string]) =>
  isPeerHeader(name) || (value === "" && name.toLowerCase() === Rpcs.apiKeyHeader)

/** Ndjson for the group's `tags`, lines bounded by `maxLineBytes`; `wholeBody`: see above. */
export const serialization = (
  maxLineBytes: number,
  tags: ReadonlySet<string>,
  options: { readonly wholeBody: boolean }
): Layer.Layer<RpcSerialization.RpcSerialization> => {
  const ndjson = RpcSerialization.makeNdjson({ maxBufferSize: maxLineBytes })
  return Layer.succeed(
    RpcSerialization.RpcSerialization,
    RpcSerialization.RpcSerialization.of({
      ...ndjson,
      makeUnsafe: () => {
        const { encode } = ndjson.makeUnsafe()
        let decoder: InstanceType<typeof TextDecoder> | undefined
        let buffer = ""
        let lines = 0
        // The WebSocket protocol closes the connection (1009) on this one.
        const tooLong = (): never => {
          buffer = ""
          throw new RpcSerialization.MaxBufferSizeExceeded({ maxBufferSize: maxLineBytes })
        }
        /** The message of a non-blank line, or its `Unreadable`. */
        const read = (json: { readonly value: unknown } | undefined): unknown => {
          lines++
          if (json === undefined) return { _tag: "Unreadable", defect: invalid("malformed JSON", { line: lines }) }
          const problem = problemOf(json.value, tags)
          if (problem !== undefined) {
            const id = Predicate.hasProperty(json.value, "id") ? json.value.id : undefined
            const at = isId(id) ? { line: lines, request_id: id } : { line: lines }
            return { _tag: "Unreadable", defect: invalid(problem, at) }
          }
          const message = json.value as { _tag: string; headers: Array<[string, string]> }
          if (message._tag === "Request" && message.headers.some(isDropped)) {
            message.headers = message.headers.filter((entry) => !isDropped(entry))
          }
          return message
        }
        const take = (text: string, out: Array<unknown>) => {
          if (text.trim() !== "") out.push(read(parsed(text)))
        }
        return {
          encode,
          decode: (data) => {
            buffer += typeof data === "string" ? data : (decoder ??= new TextDecoder()).decode(data, { stream: true })
            const out: Array<unknown> = []
            let position = 0
            for (let end = buffer.indexOf("\n"); end !== -1; end = buffer.indexOf("\n", position)) {
              if (end - position > maxLineBytes) tooLong()
              take(buffer.slice(position, end), out)
              position = end + 1
            }
            const rest = buffer.slice(position)
            if (rest.length > maxLineBytes) tooLong()
            buffer = ""
            if (options.wholeBody) take(rest, out)
            else {
              const json = rest.trimEnd().endsWith("}") ? parsed(rest) : undefined
              if (json === undefined) buffer = rest
              else out.push(read(json))
            }
            return out
          }
        }
      }
    })
  )
}
