/**
 * A TCP proxy on loopback standing in for a virtual IP or a DNS name: clients keep one
 * address while `switchTo` moves it to another port. A switch closes every connection
 * open through the proxy, as a moved VIP does; clients reconnect to the new target. `cut`
 * takes the target away: the address keeps accepting (no other process can take its port)
 * but closes every connection at once, until a `switchTo`.
 */
import { Effect, type Scope } from "effect"
import { connect, createServer, type Socket } from "node:net"

export interface TcpProxy {
  /** The port clients connect to, on 127.0.0.1. */
  readonly port: number
  /** Forwards new connections to `port` and closes the open ones. */
  readonly switchTo: (port: number) => Effect.Effect<void>
  /** Closes the open connections, and every new one as soon as it is accepted. */
  readonly cut: Effect.Effect<void>
}

/** A proxy to 127.0.0.1:`target`, closed with the scope. */
export const make = (target: number): Effect.Effect<TcpProxy, Error, Scope.Scope> =>
  Effect.gen(function*() {
    let current: number | undefined = target
    const open = new Set<Socket>()
    const track = (socket: Socket) => {
      open.add(socket)
      socket.once("close", () => open.delete(socket))
    }
    const server = createServer((client) => {
      if (current === undefined) return client.destroy()
      const upstream = connect(current, "127.0.0.1")
      track(client)
      track(upstream)
      client.pipe(upstream)
      upstream.pipe(client)
      client.once("error", () => upstream.destroy())
      upstream.once("error", () => client.destroy())
      client.once("close", () => upstream.destroy())
      upstream.once("close", () => client.destroy())
    })
    const closeOpen = () => {
      for (const socket of open) socket.destroy()
    }
    const port = yield* Effect.acquireRelease(
      Effect.callback<number, Error>((resume) => {
        server.once("error", (error) => resume(Effect.fail(error)))
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
        })
      }),
      () =>
        Effect.callback<void>((resume) => {
          closeOpen()
          server.close(() => resume(Effect.void))
        })
    )
    const moveTo = (next: number | undefined) =>
      Effect.sync(() => {
        current = next
        closeOpen()
      })
    return {
      port,
      switchTo: moveTo,
      cut: moveTo(undefined)
    } satisfies TcpProxy
  })
