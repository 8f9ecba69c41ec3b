/**
 * The gRPC port's own TCP listener, handing its connections to grpc-js (a connection
 * injector) so that the node decides who gets one: at most `grpc.max_connections` open at
 * once (more are closed as soon as they are accepted), and a connection must start talking
 * HTTP/2 within `http.headers_timeout_ms` — grpc-js alone would keep a silent one forever.
 */
import type * as Grpc from "@grpc/grpc-js"
import { Effect } from "effect"
import { createServer, type Server } from "node:net"

export interface GrpcListenerOptions {
  readonly host: string
  readonly port: number
  readonly maxConnections: number
  /** A connection that sends nothing for this long after it is accepted is closed. */
  readonly firstBytesMillis: number
}

/** Listens; yields the bound port and the listener (to close it, then shut grpc-js down). */
export const listen = (
  server: Grpc.Server,
  credentials: Grpc.ServerCredentials,
  options: GrpcListenerOptions
): Effect.Effect<{ readonly port: number; readonly listener: Server }, Error> =>
  Effect.callback((resume) => {
    const injector = server.createConnectionInjector(credentials)
    const listener = createServer((socket) => {
      // grpc-js' HTTP/2 session reads the socket in native code: no "data" event ever fires on
      // it and its idle timer is never refreshed, however busy the connection. The bytes read
      // are counted all the same: the one sign that the client spoke (else every connection,
      // its calls in flight with it, was closed `firstBytesMillis` after it was accepted).
      socket.setTimeout(options.firstBytesMillis, () => {
        if (socket.bytesRead === 0) socket.destroy()
        else socket.setTimeout(0)
      })
      injector.injectConnection(socket)
    })
    listener.maxConnections = options.maxConnections
    listener.once("error", (error) => resume(Effect.fail(error)))
    listener.listen(options.port, options.host, () => {
      const address = listener.address()
      resume(Effect.succeed({ port: typeof address === "object" && address !== null ? address.port : options.port, listener }))
    })
  })
