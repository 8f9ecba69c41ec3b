/**
 * `ApiKeyRepo` on PostgreSQL (or the embedded store). Only SHA-256 hashes are stored.
 */
import { Errors, type Names } from "@idgen/core"
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { ApiKeyRepo, type NewApiKey } from "./ApiKeyRepo.ts"
import type { ApiKeyRecord } from "./Records.ts"
import { orDatabaseUnavailable, uniqueViolation } from "./SqlFailure.ts"

interface ApiKeyRow {
  readonly id: string
  readonly workspace: string
  readonly name: string | null
  readonly prefix: string
  readonly key_hash: string
  readonly enabled: boolean
  readonly expires_at: Date | null
}

const toRecord = (row: ApiKeyRow): ApiKeyRecord => ({
  id: row.id,
  workspace: row.workspace as Names.WorkspaceName,
  name: row.name,
  prefix: row.prefix,
  keyHash: row.key_hash,
  enabled: row.enabled,
  expiresAt: row.expires_at
})

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  const insert = Effect.fn("ApiKeyRepo.insert")(
    function*(key: NewApiKey) {
      const rows = yield* sql<ApiKeyRow>`
        INSERT INTO api_keys (workspace_id, name, prefix, key_hash, expires_at)
        SELECT w.id, ${key.name}::text, ${key.prefix}, ${key.keyHash.toLowerCase()}, ${key.expiresAt}::timestamptz
        FROM workspaces w WHERE w.name = ${key.workspace}
        RETURNING id, ${key.workspace}::text AS workspace, name, prefix, key_hash, enabled, expires_at`.pipe(
        Effect.catchIf(
          (error) => uniqueViolation(error) !== undefined,
          () =>
            Effect.fail(
              new Errors.Conflict({ message: "an API key with this prefix already exists", details: { prefix: key.prefix } })
            )
        )
      )
      const row = rows[0]
      if (row === undefined) {
        return yield* new Errors.NotFound({
          message: `workspace ${key.workspace} does not exist`,
          details: { workspace: key.workspace }
        })
      }
      return toRecord(row)
    },
    orDatabaseUnavailable("ApiKeyRepo.insert")
  )

  const findByPrefix = Effect.fn("ApiKeyRepo.findByPrefix")(
    function*(prefix: string) {
      const rows = yield* sql<ApiKeyRow>`
        SELECT k.id, w.name AS workspace, k.name, k.prefix, k.key_hash, k.enabled, k.expires_at
        FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
        WHERE k.prefix = ${prefix}`
      return Option.map(Option.fromNullishOr(rows[0]), toRecord)
    },
    orDatabaseUnavailable("ApiKeyRepo.findByPrefix")
  )

  const revoke = Effect.fn("ApiKeyRepo.revoke")(
    function*(workspace: Names.WorkspaceName, id: string) {
      const notFound = new Errors.NotFound({
        message: `API key ${id} does not exist in workspace ${workspace}`,
        details: { workspace, api_key_id: id }
      })
      if (!UUID.test(id)) return yield* notFound
      const rows = yield* sql<{ readonly id: string }>`
        UPDATE api_keys k SET enabled = false, revoked_at = COALESCE(k.revoked_at, now())
        FROM workspaces w
        WHERE w.id = k.workspace_id AND w.name = ${workspace} AND k.id = ${id}::uuid
        RETURNING k.id`
      if (rows.length === 0) return yield* notFound
    },
    orDatabaseUnavailable("ApiKeyRepo.revoke")
  )

  const revokedSince = Effect.fn("ApiKeyRepo.revokedSince")(
    function*(since: Date) {
      const rows = yield* sql<{ readonly checked_at: Date; readonly ids: ReadonlyArray<string> }>`
        SELECT now() AS checked_at, array(SELECT id::text FROM api_keys WHERE revoked_at > ${since}::timestamptz) AS ids`
      return { ids: rows[0]?.ids ?? [], checkedAt: rows[0]?.checked_at ?? since }
    },
    orDatabaseUnavailable("ApiKeyRepo.revokedSince")
  )

  return ApiKeyRepo.of({ insert, findByPrefix, revoke, revokedSince })
})

/** `ApiKeyRepo`. Requires `SqlClient`. */
export const layer: Layer.Layer<ApiKeyRepo, never, SqlClient.SqlClient> = Layer.effect(ApiKeyRepo, make)
