/**
 * The database of the configured node (IDGEN_DATABASE_URL, or the embedded store under
 * IDGEN_DATA_DIR), opened directly for commands that work on it rather than through a
 * server: `migrate`, `cluster`. The embedded store can only be opened while no node runs on it.
 * A configuration a node would refuse fails with its `ConfigInvalid` (exit 78, as the node).
 */
import type { ServerConfigShape } from "@idgen/server/config/ServerConfig"
import { Effect, Logger, References } from "effect"
import type { SqlClient } from "effect/sql"

/** Runs `use` on one connection to the configured store, with the node's configuration. */
export const withConfiguredStore = <A, E>(
  use: (config: ServerConfigShape) => Effect.Effect<A, E, SqlClient.SqlClient>
) =>
  Effect.gen(function*() {
    // Loaded here, not at start-up: the other commands need none of the server.
    const { load } = yield* Effect.promise(() => import("@idgen/server/config/ConfigLoader"))
    const { Database } = yield* Effect.promise(() => import("@idgen/server/storage/index"))
    const config = yield* load(process.env)
    const client = config.database.url === undefined
      ? Database.layerEmbeddedClient(config.database.dataDir, config.database.embeddedTemplateDir)
      : Database.layerExternalClient(config.database.url, 1)
    return yield* use(config).pipe(
      Effect.provide(client),
      // A command's output is its result: the store's start-up report (a node's INFO lines) is
      // left out, its warnings and errors go to stderr (stdout carries the result, `--json`).
      Effect.provideService(References.MinimumLogLevel, "Warn"),
      Effect.provideService(Logger.LogToStderr, true)
    )
  })
