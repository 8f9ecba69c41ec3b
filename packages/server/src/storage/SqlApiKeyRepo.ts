/**
 * `ApiKeyRepo` on PostgreSQL (or the embedded store). Only SHA-256 hashes are stored.
 */
import { Errors, type Names } from "@idgen/core"
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { ApiKeyRepo, type NewApiKey } from "./ApiKeyRepo.ts"
import * as Page from "./Page.ts"
import type { ApiKeyRecord } from "./Records.ts"
import { orDatabaseUnavailable, orInvalidDataOrUnavailable, uniqueViolation } from "./SqlFailure.ts"

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
    orInvalidDataOrUnavailable("ApiKeyRepo.insert")
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

  const list = Effect.fn("ApiKeyRepo.list")(
    function*(workspace: Names.WorkspaceName, page: Page.PageRequest) {
      const found = yield* sql<{ readonly id: string }>`SELECT id FROM workspaces WHERE name = ${workspace}`
      if (found.length === 0) {
        return yield* new Errors.NotFound({ message: `workspace ${workspace} does not exist`, details: { workspace } })
      }
      const after = page.after === undefined
        ? sql`true`
        : sql`(k.created_at, k.id) > (${page.after.at}::timestamptz, ${page.after.id}::uuid)`
      const rows = yield* sql<{
        readonly id: string
        readonly cursor_at: string
        readonly prefix: string
        readonly name: string | null
        readonly created_at: Date
        readonly expires_at: Date | null
        readonly last_used_at: Date | null
        readonly revoked_at: Date | null
      }>`
        SELECT k.id::text AS id, ${sql.literal(Page.timestampText("k.created_at"))} AS cursor_at, k.prefix, k.name,
               k.created_at, k.expires_at, k.last_used_at, k.revoked_at
        FROM api_keys k WHERE k.workspace_id = ${found[0]!.id}::uuid AND ${after}
        ORDER BY k.created_at, k.id LIMIT ${page.limit + 1}`
      return Page.fromRows(rows, page.limit, (row) => ({
        id: row.id,
        prefix: row.prefix,
        name: row.name,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
        lastUsedAt: row.last_used_at,
        revokedAt: row.revoked_at
      }))
    },
    orDatabaseUnavailable("ApiKeyRepo.list")
  )

  const recordUse = Effect.fn("ApiKeyRepo.recordUse")(
    function*(uses: ReadonlyMap<string, Date>) {
      if (uses.size === 0) return
      const ids = [...uses.keys()]
      const times = ids.map((id) => uses.get(id)!.toISOString())
      yield* sql`
        UPDATE api_keys k SET last_used_at = GREATEST(k.last_used_at, u.used_at)
        FROM unnest(${ids}::uuid[], ${times}::timestamptz[]) AS u(id, used_at)
        WHERE k.id = u.id`
    },
    orDatabaseUnavailable("ApiKeyRepo.recordUse")
  )

  const revokedSince = Effect.fn("ApiKeyRepo.revokedSince")(
    function*(since: Date) {
      const rows = yield* sql<{ readonly checked_at: Date; readonly ids: ReadonlyArray<string> }>`
        SELECT now() AS checked_at, array(SELECT id::text FROM api_keys WHERE revoked_at > ${since}::timestamptz) AS ids`
      return { ids: rows[0]?.ids ?? [], checkedAt: rows[0]?.checked_at ?? since }
    },
    orDatabaseUnavailable("ApiKeyRepo.revokedSince")
  )

  return ApiKeyRepo.of({ insert, findByPrefix, revoke, list, recordUse, revokedSince })
})

/** `ApiKeyRepo`. Requires `SqlClient`. */
export const layer: Layer.Layer<ApiKeyRepo, never, SqlClient.SqlClient> = Layer.effect(ApiKeyRepo, make)
