/**
 * A raw WebSocket to a server's `/rpc/ws` (Node's own client), for what the typed client
 * does not show: whether the upgrade is accepted, and the close code the server ends with.
 */
import { Effect } from "effect"
import type { ServerProcessShape } from "./ServerProcess.ts"

export interface OpenWebSocket {
  readonly ws: WebSocket
  /** The close code, once closed. */
  readonly closed: Promise<number>
}

/** Opens `/rpc/ws` with `headers` on the upgrade: the socket, or "refused". */
export const open = (server: ServerProcessShape, headers: Record<string, string>) =>
  Effect.callback<OpenWebSocket | "refused">((resume) => {
    // Node's WebSocket (undici) takes handshake headers as an extension of the standard.
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/rpc/ws`, { headers } as never)
    const closed = new Promise<number>((resolve) => ws.addEventListener("close", (event) => resolve(event.code)))
    ws.addEventListener("open", () => resume(Effect.succeed({ ws, closed })), { once: true })
    ws.addEventListener("error", () => resume(Effect.succeed("refused")), { once: true })
  })

/** `promise`'s value, or undefined after `millis`. */
export const within = <A>(promise: Promise<A>, millis: number) =>
  Effect.promise(() =>
    Promise.race([promise, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), millis))])
  )
