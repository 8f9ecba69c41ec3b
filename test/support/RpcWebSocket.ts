/**
 * A raw WebSocket to a server's `/rpc/ws` (Node's own client), for what the typed client
 * does not show: whether the upgrade is accepted, the messages exactly as the server sends
 * them, and how the server closes the connection.
 */
import { Effect } from "effect"
import type { ServerProcessShape } from "./ServerProcess.ts"

export interface Closed {
  readonly code: number
  readonly reason: string
}

export interface OpenWebSocket {
  readonly ws: WebSocket
  /** The close code and reason, once closed. */
  readonly closed: Promise<Closed>
}

/** Opens `/rpc/ws` with `headers` on the upgrade: the socket, or "refused". */
export const open = (server: ServerProcessShape, headers: Record<string, string>) =>
  Effect.callback<OpenWebSocket | "refused">((resume) => {
    // Node's WebSocket (undici) takes handshake headers as an extension of the standard.
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/rpc/ws`, { headers } as never)
    const closed = new Promise<Closed>((resolve) =>
      ws.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason }))
    )
    ws.addEventListener("open", () => resume(Effect.succeed({ ws, closed })), { once: true })
    ws.addEventListener("error", () => resume(Effect.succeed("refused")), { once: true })
  })

/** Sends `text` and waits for the server's next `count` messages (as text). */
export const replies = (socket: OpenWebSocket, text: string, count: number) =>
  Effect.promise(() => {
    const received: Array<string> = []
    const all = new Promise<Array<string>>((resolve) => {
      const onMessage = (event: MessageEvent) => {
        received.push(String(event.data))
        if (received.length < count) return
        socket.ws.removeEventListener("message", onMessage)
        resolve(received)
      }
      socket.ws.addEventListener("message", onMessage)
    })
    socket.ws.send(text)
    return all
  })

/** Sends `text` and waits for the server's next message (as text). */
export const exchange = (socket: OpenWebSocket, text: string) => Effect.map(replies(socket, text, 1), ([reply]) => reply!)

/** `promise`'s value, or undefined after `millis`. */
export const within = <A>(promise: Promise<A>, millis: number) =>
  Effect.promise(() =>
    Promise.race([promise, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), millis))])
  )
