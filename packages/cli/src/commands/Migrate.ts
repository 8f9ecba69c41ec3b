/**
 * `idgen migrate`: applies the pending database migrations of the configured store
 * (IDGEN_DATABASE_URL, or the embedded store under IDGEN_DATA_DIR) and exits.
 */
import { Console, Effect } from "effect"
import { CliFailure } from "../CliFailure.ts"
import { Command } from "effect/cli"
import { printJson } from "../Output.ts"
import { idgen } from "../Root.ts"
import { applyToEnv, serverSettings } from "./Serve.ts"

export const migrate = Command.make("migrate", {
  dataDir: serverSettings.dataDir,
  databaseUrl: serverSettings.databaseUrl,
  config: serverSettings.config
}, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    yield* applyToEnv(input)
    // Loaded here, not at start-up: the other commands need none of the server.
    const { ServerConfig } = yield* Effect.promise(() => import("@idgen/server/config/ServerConfig"))
    const { layerFromEnv } = yield* Effect.promise(() => import("@idgen/server/config/ConfigLoader"))
    const { Database } = yield* Effect.promise(() => import("@idgen/server/storage/index"))
    const applied = yield* Effect.gen(function*() {
      const config = yield* ServerConfig
      const client = config.database.url === undefined
        ? Database.layerEmbeddedClient(config.database.dataDir)
        : Database.layerExternalClient(config.database.url, 1)
      return yield* Database.migrate.pipe(Effect.provide(client))
    }).pipe(
      Effect.provide(layerFromEnv),
      Effect.catchTag("ConfigInvalid", (error) => Effect.fail(new CliFailure({ message: error.message })))
    )
    const names = applied.map(([id, name]) => `${id}_${name}`)
    if (root.json) return yield* printJson({ applied: names })
    yield* Console.log(names.length === 0 ? "database is up to date" : `applied ${names.join(", ")}`)
  })).pipe(Command.withDescription("Apply pending database migrations and exit"))
