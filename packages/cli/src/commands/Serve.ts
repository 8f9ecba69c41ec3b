/**
 * `idgen serve`: runs a node (HTTP with Effect RPC, and gRPC) until interrupted, like
 * `npm start`; the flags override the matching IDGEN_* variables.
 */
import { Console, Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"

const settings = {
  httpPort: Flag.Int("http-port").pipe(Flag.withDescription("HTTP port (IDGEN_HTTP_PORT, default 8080)"), Flag.optional),
  grpcPort: Flag.Int("grpc-port").pipe(Flag.withDescription("gRPC port (IDGEN_GRPC_PORT, default 50051)"), Flag.optional),
  host: Flag.String("host").pipe(Flag.withDescription("Listen address (IDGEN_HTTP_HOST, default 0.0.0.0)"), Flag.optional),
  dataDir: Flag.String("data-dir").pipe(Flag.withDescription("Embedded store directory (IDGEN_DATA_DIR)"), Flag.optional),
  databaseUrl: Flag.String("database-url").pipe(
    Flag.withDescription("PostgreSQL URL (IDGEN_DATABASE_URL; unset: the embedded store)"),
    Flag.optional
  ),
  config: Flag.String("config").pipe(Flag.withDescription("TOML configuration file (IDGEN_CONFIG)"), Flag.optional)
}

const envOf = {
  httpPort: "IDGEN_HTTP_PORT",
  grpcPort: "IDGEN_GRPC_PORT",
  host: "IDGEN_HTTP_HOST",
  dataDir: "IDGEN_DATA_DIR",
  databaseUrl: "IDGEN_DATABASE_URL",
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

export const serve = Command.make("serve", settings, (input) =>
  applyToEnv(input).pipe(
    // Loaded here, not at start-up: the other commands need none of the server.
    Effect.andThen(Effect.promise(() => import("@idgen/server/App"))),
    Effect.flatMap((App) => Layer.launch(App.layer)),
    Effect.catchTag("ConfigInvalid", (error) =>
      Console.error(`idgen: ${error.message}`).pipe(Effect.andThen(Effect.sync(() => process.exit(78)))))
  )).pipe(
  Command.withDescription("Run an idgen node (HTTP + Effect RPC + gRPC) until interrupted"),
  Command.withExamples([
    { command: "IDGEN_ADMIN_TOKEN=… idgen serve --data-dir ./data", description: "one node on the embedded store, port 8080" },
    { command: "idgen serve --database-url postgres://idgen@db/idgen --http-port 9080", description: "a node of a PostgreSQL cluster" }
  ])
)

export { settings as serverSettings }
