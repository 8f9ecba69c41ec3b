/**
 * A plain TCP connection to a server, for what `fetch` cannot show: a request written in
 * pieces (trickled headers, a body announced but never sent), what the server answers
 * before the request is complete, and when the server closes the connection.
 *
 *   const socket = yield* RawSocket.connect(server.port)
 *   yield* socket.write("POST /api/v1/generate HTTP/1.1\r\n...")
 *   const closedAfter = yield* socket.closed(5_000)   // ms until the server closed it, or undefined
 */
import { Effect, type Scope } from "effect"
import { connect as netConnect, type Socket } from "node:net"

export interface RawSocketShape {
  /** Writes `data`; false when the connection is already gone. */
  readonly write: (data: string | Uint8Array) => Effect.Effect<boolean>
  /** Everything the server sent so far, as latin1 text. */
  readonly received: () => string
  /** Whether the server (or the network) has closed the connection. */
  readonly isClosed: () => boolean
  /** Waits up to `withinMillis` for the connection to close: the ms it took from this call, or undefined. */
  readonly closed: (withinMillis: number) => Effect.Effect<number | undefined>
  /** Waits up to `withinMillis` until `received()` contains `text`; whether it did. */
  readonly receivedText: (text: string, withinMillis: number) => Effect.Effect<boolean>
  readonly socket: Socket
}

/** A connection to 127.0.0.1:`port`, destroyed with the scope. */
export const connect = (port: number): Effect.Effect<RawSocketShape, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<RawSocketShape>((resume) => {
      let received = ""
      let closed = false
      const waiters = new Set<() => void>()
      const notify = () => {
        for (const waiter of waiters) waiter()
      }
      const socket = netConnect({ port, host: "127.0.0.1" })
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("latin1")
        notify()
      })
      socket.on("error", () => {})
      socket.on("close", () => {
        closed = true
        notify()
      })
      /** Resolves when `done()` holds or after `withinMillis`. */
      const until = (done: () => boolean, withinMillis: number) =>
        Effect.callback<boolean>((resume) => {
          if (done()) return resume(Effect.succeed(true))
          const check = () => {
            if (!done()) return
            cleanup()
            resume(Effect.succeed(true))
          }
          const timer = setTimeout(() => {
            cleanup()
            resume(Effect.succeed(false))
          }, withinMillis)
          const cleanup = () => {
            clearTimeout(timer)
            waiters.delete(check)
          }
          waiters.add(check)
          return Effect.sync(cleanup)
        })
      socket.once("connect", () =>
        resume(Effect.succeed({
          socket,
          received: () => received,
          isClosed: () => closed,
          write: (data) =>
            Effect.callback<boolean>((resume) => {
              if (closed || socket.destroyed) return resume(Effect.succeed(false))
              socket.write(data, (error) => resume(Effect.succeed(error == null)))
            }),
          closed: (withinMillis) =>
            Effect.suspend(() => {
              const started = Date.now()
              return Effect.map(until(() => closed, withinMillis), (done) => (done ? Date.now() - started : undefined))
            }),
          receivedText: (text, withinMillis) => until(() => received.includes(text), withinMillis)
        })))
      socket.once("error", (error) => {
        if (!socket.connecting) return
        resume(Effect.die(error))
      })
    }),
    (raw) => Effect.sync(() => raw.socket.destroy())
  )


/** The head of an HTTP/1.1 request, to write on a raw socket. */
export const requestHead = (method: string, path: string, headers: Record<string, string | number>) =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
  Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("") + "\r\n"

/** The status line of a raw HTTP response. */
export const statusLine = (raw: string) => raw.slice(0, raw.indexOf("\r\n"))

/** The contract's `error` object of a raw HTTP response. */
export const errorBody = (raw: string) => {
  const body = raw.slice(raw.indexOf("\r\n\r\n") + 4)
  return JSON.parse(body.slice(0, body.lastIndexOf("}") + 1)).error as { code: string; message: string }
}

/** The head of a WebSocket upgrade of `path`, with `headers` besides the handshake's own. */
export const upgradeHead = (path: string, headers: Record<string, string | number> = {}) =>
  requestHead("GET", path, {
    connection: "Upgrade",
    upgrade: "websocket",
    "sec-websocket-version": 13,
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    ...headers
  })
