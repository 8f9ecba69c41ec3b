/**
 * `idgen serve`: runs a node (HTTP with Effect RPC, and gRPC) until interrupted, as `npm start`
 * does (`Launch.ts`: worker processes, which run `idgen serve` with the same arguments, the
 * embedded store begun early, the warnings and start-up failures); the flags override the
 * matching IDGEN_* variables. Not `npm start`'s Node options (`--max-semi-space-size`): this
 * process is already running, so they come from NODE_OPTIONS (README).
 */
import * as Database from "@idgen/server/config/sections/Database"
import * as Grpc from "@idgen/server/config/sections/Grpc"
import * as Http from "@idgen/server/config/sections/Http"
import type * as Section from "@idgen/server/config/Section"
import { Effect, Option, Runtime } from "effect"
import { Command, Flag } from "effect/cli"

/**
 * The variable and default of a setting as its section declares them, so that a flag names
 * what the loader reads. The three sections are small (no server code), cheap for `--help`.
 */
export const declared = (section: Section.Section, key: string) => {
  const entry = section.entries.find((e) => e.file.join(".") === `${section.name}.${key}`)
  if (entry === undefined) throw new Error(`no setting ${section.name}.${key}`)
  const setting = entry.setting
  const note = setting._tag === "WithDefault" ? `${entry.variable}, default ${String(setting.default)}` : entry.variable
  return { variable: entry.variable, note, default: setting._tag === "WithDefault" ? setting.default : undefined }
}

const httpPort = declared(Http.section, "port")
const grpcPort = declared(Grpc.section, "port")
const host = declared(Http.section, "host")
const dataDir = declared(Database.section, "data_dir")
const databaseUrl = declared(Database.section, "url")

const settings = {
  httpPort: Flag.Int("http-port").pipe(Flag.withDescription(`HTTP port (${httpPort.note})`), Flag.optional),
  grpcPort: Flag.Int("grpc-port").pipe(Flag.withDescription(`gRPC port (${grpcPort.note})`), Flag.optional),
  host: Flag.String("host").pipe(Flag.withDescription(`Listen address (${host.note})`), Flag.optional),
  dataDir: Flag.String("data-dir").pipe(Flag.withDescription(`Embedded store directory (${dataDir.note})`), Flag.optional),
  databaseUrl: Flag.String("database-url").pipe(
    Flag.withDescription(`PostgreSQL URL (${databaseUrl.note}; unset: the embedded store)`),
    Flag.optional
  ),
  // The file itself is no setting: the loader reads this one variable by name.
  config: Flag.String("config").pipe(Flag.withDescription("TOML configuration file (IDGEN_CONFIG)"), Flag.optional)
}

const envOf = {
  httpPort: httpPort.variable,
  grpcPort: grpcPort.variable,
  host: host.variable,
  dataDir: dataDir.variable,
  databaseUrl: databaseUrl.variable,
  config: "IDGEN_CONFIG"
} as const

/** Writes the given flags into the environment the configuration loader reads. */
export const applyToEnv = (input: { readonly [K in keyof typeof envOf]?: Option.Option<string | number> }) =>
  Effect.sync(() => {
    for (const [name, variable] of Object.entries(envOf) as Array<[keyof typeof envOf, string]>) {
      const value = input[name]
      if (value !== undefined && Option.isSome(value)) process.env[variable] = String(value.value)
    }
  })

// Loaded by the command, not at start-up: the other commands need none of the server.
let launched: typeof import("@idgen/server/Launch") | undefined

/** The CLI's exit code: `npm start`'s once `serve` launched (a primary's drained workers), else the default. */
export const teardown: Runtime.Teardown = (exit, onExit) => (launched?.teardown ?? Runtime.defaultTeardown)(exit, onExit)

export const serve = Command.make("serve", settings, (input) =>
  applyToEnv(input).pipe(
    Effect.andThen(Effect.promise(() => import("@idgen/server/Launch"))),
    Effect.flatMap((Launch) => {
      launched = Launch
      return Launch.launch
    })
  )).pipe(
  Command.withDescription("Run an idgen node (HTTP + Effect RPC + gRPC) until interrupted"),
  Command.withExamples([
    { command: "IDGEN_ADMIN_TOKEN=… idgen serve --data-dir ./data", description: "one node on the embedded store, port 8080" },
    { command: "idgen serve --database-url postgres://idgen@db/idgen --http-port 9080", description: "a node of a PostgreSQL cluster" }
  ])
)

export { settings as serverSettings }
