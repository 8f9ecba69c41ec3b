/**
 * Reading the audit log (`GET /api/v1/admin/audit`): rows newest first, filtered by time,
 * action, actor and workspace, in keyset pages (`storage/Page.ts`) over
 * `(occurred_at, id)`.
 */
import type { Errors } from "@idgen/core"
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import * as Page from "../storage/Page.ts"
import { orDatabaseUnavailable } from "../storage/SqlFailure.ts"
import type { AuditRow } from "./AuditRow.ts"

export interface AuditFilter {
  readonly since: Date | undefined
  readonly until: Date | undefined
  readonly action: string | undefined
  readonly actor: string | undefined
  readonly workspace: string | undefined
}

/** The keyset position comes along with each row. */
type Row = AuditRow & { readonly cursor_at: string }

export class AuditQuery extends Context.Service<AuditQuery, {
  list(filter: AuditFilter, page: Page.PageRequest): Effect.Effect<Page.Page<AuditRow>, Errors.DatabaseUnavailable>
}>()("@idgen/server/audit/AuditQuery") {
  static readonly layer: Layer.Layer<AuditQuery, never, SqlClient.SqlClient> = Layer.effect(
    AuditQuery,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const cursorAt = sql.literal(Page.timestampText("occurred_at"))

      const list = Effect.fn("AuditQuery.list")(
        function*(filter: AuditFilter, page: Page.PageRequest) {
          const conditions = [
            sql`true`,
            filter.since === undefined ? undefined : sql`occurred_at >= ${filter.since}`,
            filter.until === undefined ? undefined : sql`occurred_at < ${filter.until}`,
            filter.action === undefined ? undefined : sql`action = ${filter.action}`,
            filter.actor === undefined ? undefined : sql`actor = ${filter.actor}`,
            filter.workspace === undefined ? undefined : sql`workspace = ${filter.workspace}`,
            page.after === undefined
              ? undefined
              : sql`(occurred_at, id) < (${page.after.at}::timestamptz, ${BigInt(page.after.id)})`
          ].filter((c) => c !== undefined)
          const rows = yield* sql<Row>`
            SELECT id::text AS id, ${cursorAt} AS cursor_at, occurred_at, event_type, actor, action, resource, result,
                   node, workspace, metadata
            FROM audit_log WHERE ${sql.and(conditions)}
            ORDER BY occurred_at DESC, id DESC LIMIT ${page.limit + 1}`
          return Page.fromRows(rows, page.limit, (row): AuditRow => ({
            ...row,
            metadata: typeof row.metadata === "string" ? JSON.parse(row.metadata) : row.metadata
          }))
        },
        orDatabaseUnavailable("AuditQuery.list")
      )

      return AuditQuery.of({ list })
    })
  )
}
