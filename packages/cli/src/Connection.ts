/**
 * Where the CLI finds the server and with which credentials: flags shared by every command,
 * each falling back to an environment variable.
 */
import { Config } from "effect"
import { Flag } from "effect/cli"
import { withDefault } from "./FlagDefault.ts"
import { baseUrls } from "./Reach.ts"

export const server = Flag.String("server").pipe(
  Flag.withAlias("s"),
  Flag.withFallbackConfig(Config.String("IDGEN_URL")),
  withDefault("idgen server: URL, or host:port for http (env IDGEN_URL)", "http://127.0.0.1:8080"),
  Flag.map(baseUrls)
)

export const connectTimeoutMs = Flag.Int("connect-timeout-ms").pipe(
  Flag.withFallbackConfig(Config.Int("IDGEN_CONNECT_TIMEOUT_MS")),
  withDefault("Give up on an unreachable server after this many ms (env IDGEN_CONNECT_TIMEOUT_MS)", 2000)
)

export const adminToken = Flag.String("admin-token").pipe(
  Flag.withDescription("Operator token (env IDGEN_ADMIN_TOKEN)"),
  Flag.withFallbackConfig(Config.String("IDGEN_ADMIN_TOKEN")),
  Flag.withDefault("")
)

export const apiKey = Flag.String("api-key").pipe(
  Flag.withAlias("k"),
  Flag.withDescription("API key idgen_<workspace>_<32 hex> (env IDGEN_API_KEY)"),
  Flag.withFallbackConfig(Config.String("IDGEN_API_KEY")),
  Flag.withDefault("")
)

export const json = Flag.Boolean("json").pipe(
  Flag.withDescription("Print JSON instead of text"),
  Flag.withDefault(false)
)

export const shared = { server, connectTimeoutMs, adminToken, apiKey, json }
