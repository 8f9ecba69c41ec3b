/**
 * The embedded default needs no setup: without a configured admin token, one is
 * generated on first start, stored (0600) in the data directory and printed once.
 * A node on a shared PostgreSQL must be given the cluster's token instead.
 */
import { Console, Effect, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { cannotCreate } from "../StartFailure.ts"
import { ConfigInvalid } from "./ConfigInvalid.ts"
import * as DataDirectory from "./DataDirectory.ts"
import type { ServerConfigShape } from "./ServerConfig.ts"

export const withAdminToken = Effect.fnUntraced(function*(config: ServerConfigShape) {
  if (config.admin.token !== undefined) return config
  if (config.database.url !== undefined) {
    return yield* new ConfigInvalid({
      message: "admin.token (IDGEN_ADMIN_TOKEN) is required when database.url (IDGEN_DATABASE_URL) is set"
    })
  }
  const path = join(config.database.dataDir, "admin-token")
  const token = yield* Effect.try({
    try: () => {
      if (existsSync(path)) return { value: readFileSync(path, "utf8").trim(), created: false }
      DataDirectory.makeDirectory(config.database.dataDir)
      const value = `idgen_admin_${randomBytes(24).toString("hex")}`
      writeFileSync(path, `${value}\n`, { mode: 0o600, flag: "wx" })
      return { value, created: true }
    },
    catch: (cause) => cannotCreate(DataDirectory.problem(config.database.dataDir, cause))
  })
  if (token.created) {
    yield* Console.log(`idgen: generated admin token (stored in ${path}, shown only once): ${token.value}`)
  }
  return { ...config, admin: { token: Redacted.make(token.value) } }
})
