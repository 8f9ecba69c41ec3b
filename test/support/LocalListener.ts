/**
 * A test's own HTTP receiver on a free loopback port, closed (connections included) with
 * the scope.
 */
import { Effect, type Scope } from "effect"
import type { Server } from "node:http"

export const listenLocal = (server: Server): Effect.Effect<number, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<number>((resume) => {
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
      })
    }),
    () =>
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )
