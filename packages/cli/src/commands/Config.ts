/**
 * `idgen config`: the configuration a node started here would run with (defaults, the
 * IDGEN_CONFIG file, IDGEN_* variables), validated as at start-up and printed in the
 * file's form (TOML; JSON with --json), secrets redacted; `--defaults` prints the defaults.
 */
import { Console, Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { printJson } from "../Output.ts"
import { idgen } from "../Root.ts"
import { applyToEnv, serverSettings } from "./Serve.ts"

const flags = {
  defaults: Flag.Boolean("defaults").pipe(
    Flag.withDescription("Print the defaults instead of the effective configuration"),
    Flag.withDefault(false)
  ),
  config: serverSettings.config
}

// Loaded when the command runs, not at start-up: the other commands need none of the server.
const server = Effect.promise(async () => ({
  ConfigView: await import("@idgen/server/config/ConfigView"),
  load: (await import("@idgen/server/config/ConfigLoader")).load,
  configProblems: (await import("@idgen/server/alerting/AlertRules")).configProblems
}))

export const config = Command.make("config", flags, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    yield* applyToEnv(input)
    const { ConfigView, configProblems, load } = yield* server
    const table = input.defaults
      ? ConfigView.defaults()
      : ConfigView.effective(yield* load(process.env, {}, [configProblems]))
    return yield* root.json ? printJson(table) : Console.log(ConfigView.toToml(table))
  })).pipe(
  Command.withDescription("Print the effective configuration (secrets redacted) or, with --defaults, the defaults"),
  Command.withExamples([
    { command: "idgen config --config ./idgen.toml", description: "what a node would run with, validated" },
    { command: "idgen config --defaults > idgen.toml", description: "a configuration file of the defaults" }
  ])
)
