/**
 * Node's HTTP server as `NodeHttpServer.layer` provides it, except that a port it cannot
 * listen on (taken, a foreign address, no permission) is a `StartFailure` naming the server,
 * the address and the system's reason, not a `ServeError` with an empty message.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import type { Server } from "node:http"
import * as StartFailure from "../StartFailure.ts"

export const layer = (
  what: string,
  evaluate: () => Server,
  options: NodeHttpServer.Options & { readonly host: string; readonly port: number }
) =>
  Layer.mergeAll(
    Layer.effect(
      HttpServer.HttpServer,
      NodeHttpServer.make(evaluate, options).pipe(
        Effect.mapError((error) => StartFailure.cannotListen(what, options.host, options.port, error.cause))
      )
    ),
    NodeHttpServer.layerHttpServices
  )
