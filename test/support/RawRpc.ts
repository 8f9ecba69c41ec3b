/**
 * Effect RPC over `/rpc` the way a hand-written client speaks it: one ndjson request
 * message per POST, the API key in the message's own headers (not in the HTTP header).
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import type { ServerProcessShape } from "./ServerProcess.ts"

/** The ndjson line of one request message. */
export const message = (tag: string, payload: unknown, apiKey?: string) =>
  JSON.stringify({ _tag: "Request", id: "1", tag, payload, headers: apiKey === undefined ? [] : [["x-api-key", apiKey]] }) + "\n"

/** POSTs `body` to `/rpc` as ndjson, with `headers` besides the content type. */
export const post = (server: ServerProcessShape, body: string | Uint8Array, headers: Record<string, string> = {}) =>
  server.request("POST", "/rpc", { body, headers: { "content-type": "application/x-ndjson", ...headers } })

/** One request; its encoded `Exit` (asserting the POST itself was answered 200). */
export const call = (server: ServerProcessShape, tag: string, payload: unknown, apiKey?: string) =>
  Effect.map(post(server, message(tag, payload, apiKey)), (res) => {
    assert.strictEqual(res.status, 200, res.text)
    return { exit: JSON.parse(res.text.trim()).exit, text: res.text }
  })
