/**
 * The typed client (`@idgen/client`) for the commands that issue or decode IDs, with the
 * CLI's server and API key; closed when the command ends.
 */
import { Context, type Duration, Effect, Layer } from "effect"
import { CliFailure } from "./CliFailure.ts"
import { reach } from "./Reach.ts"

export const client = (options: {
  readonly server: string
  readonly apiKey: string
  readonly connectTimeoutMs: number
  readonly timeout?: Duration.Input
}) =>
  Effect.gen(function*() {
    if (options.apiKey === "") {
      return yield* new CliFailure({ message: "an API key is needed: --api-key or IDGEN_API_KEY" })
    }
    yield* reach(options.server, options.connectTimeoutMs)
    // Loaded here, not at start-up: the operator commands need none of it.
    const { IdgenClient } = yield* Effect.promise(() => import("@idgen/client"))
    const context = yield* Layer.build(
      IdgenClient.layer({
        endpoints: options.server.split(",").map((s) => s.trim()),
        apiKey: options.apiKey,
        timeout: options.timeout ?? "10 seconds"
      })
    )
    return Context.get(context, IdgenClient)
  })
