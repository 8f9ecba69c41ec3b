/**
 * Where the CLI finds the server and with which credentials: flags shared by every command,
 * each falling back to an environment variable.
 */
import { Config } from "effect"
import { Flag } from "effect/cli"

export const server = Flag.String("server").pipe(
  Flag.withAlias("s"),
  Flag.withDescription("Base URL of an idgen server (env IDGEN_URL)"),
  Flag.withFallbackConfig(Config.String("IDGEN_URL")),
  Flag.withDefault("http://127.0.0.1:8080")
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

export const shared = { server, adminToken, apiKey, json }
