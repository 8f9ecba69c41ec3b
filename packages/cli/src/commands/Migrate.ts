/**
 * `idgen migrate`: applies the pending database migrations of the configured store
 * (IDGEN_DATABASE_URL, or the embedded store under IDGEN_DATA_DIR) and exits.
 */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { printJson } from "../Output.ts"
import { idgen } from "../Root.ts"
import { withConfiguredStore } from "../Store.ts"
import { applyToEnv, serverSettings } from "./Serve.ts"

export const migrate = Command.make("migrate", {
  dataDir: serverSettings.dataDir,
  databaseUrl: serverSettings.databaseUrl,
  config: serverSettings.config
}, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    yield* applyToEnv(input)
    const { Database } = yield* Effect.promise(() => import("@idgen/server/storage/index"))
    const applied = yield* withConfiguredStore(() => Database.migrate)
    const names = applied.map(([id, name]) => `${id}_${name}`)
    if (root.json) return yield* printJson({ applied: names })
    yield* Console.log(names.length === 0 ? "database is up to date" : `applied ${names.join(", ")}`)
  })).pipe(
  Command.withDescription("Apply pending database migrations and exit"),
  Command.withExamples([{ command: "idgen migrate --database-url postgres://idgen@db/idgen", description: "before rolling out a new version" }])
)
