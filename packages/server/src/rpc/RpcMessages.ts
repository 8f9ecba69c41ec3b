/**
 * The server's ndjson serialization for `/rpc` and `/rpc/ws`. Before the RPC server sees a
 * message, it is checked here:
 *
 * - a line may hold at most `http.max_body_bytes` (a WebSocket client that never sends a
 *   newline is closed with 1009 instead of growing a buffer);
 * - every message must be well-formed: JSON, a known `_tag`, a request with a string or
 *   number id, one of the group's tags and headers as `[name, value]` pairs. Anything else
 *   is answered with the contract's InvalidRequest (IDGEN-COMMON-0001) as the batch's
 *   defect, never with the RPC layer's internal messages (`.for is not iterable`,
 *   `Unknown request tag`, a JSON `SyntaxError`);
 * - `x-idgen-peer` is removed from every request message (`PeerAddress`);
 * - for `/rpc` (`wholeBody`), where each decode is a whole request body, a last line
 *   without its newline is a line like any other (ndjson would keep it, waiting for the
 *   rest, and the POST would end unanswered).
 */
import { Errors } from "@idgen/core"
import { Layer, Predicate } from "effect"
import { RpcSerialization } from "effect/rpc"
import { stripPeer } from "./PeerAddress.ts"

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

/**
 * The refusal, thrown as the batch's defect: a plain object, which the RPC layer encodes
 * as it is — the error's tag, IDGEN code, message and details.
 */
const invalid = (problem: string) => {
  const error = new Errors.InvalidRequest({ message: `Invalid RPC message: ${problem}`, details: { location: "body" } })
  return { _tag: error._tag, code: Errors.codeOf(error), message: error.message, details: error.details }
}

const newline = 0x0a

/** `data` ending with a newline. */
const terminated = (data: Uint8Array | string): Uint8Array | string => {
  if (typeof data === "string") return data.endsWith("\n") ? data : data + "\n"
  if (data.at(-1) === newline) return data
  const out = new Uint8Array(data.length + 1)
  out.set(data)
  out[data.length] = newline
  return out
}

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
        const parser = ndjson.makeUnsafe()
        return {
          encode: parser.encode,
          decode: (data) => {
            let messages: ReadonlyArray<unknown>
            try {
              messages = parser.decode(options.wholeBody ? terminated(data) : data)
            } catch (cause) {
              // The WebSocket protocol closes the connection (1009) on this one.
              if (Predicate.isTagged(cause, "MaxBufferSizeExceeded")) throw cause
              throw invalid("malformed JSON")
            }
            for (const message of messages) {
              const problem = problemOf(message, tags)
              if (problem !== undefined) throw invalid(problem)
              stripPeer(message)
            }
            return messages
          }
        }
      }
    })
  )
}
