/**
 * The `audit_log` table as the audit suites read it: rows of one event type (of one node,
 * when given), oldest first, and a poll until they say what the test waits for — the
 * writer batches asynchronously.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { AuditRow as StoredRow } from "@idgen/server/audit/AuditRow"
import { wait } from "./ServerProcess.ts"

/** The columns the suites read, with the details as the object they inspect. */
export type AuditRow = Omit<StoredRow, "occurred_at" | "workspace" | "metadata"> & { readonly metadata: Record<string, any> }

export interface AuditFilter {
  readonly eventType: string
  readonly node?: string
}

export const rowsOf = ({ eventType, node }: AuditFilter) =>
  Effect.flatMap(Effect.service(SqlClient.SqlClient), (sql) =>
    sql<AuditRow>`SELECT id::text, event_type, actor, action, resource, result, node, metadata FROM audit_log
      WHERE event_type = ${eventType} AND (${node ?? null}::text IS NULL OR node = ${node ?? null})
      ORDER BY audit_log.id`).pipe(Effect.orDie)

/** Polls the rows of `filter` until `done` holds; fails after 30 s. */
export const rowsWhen = (filter: AuditFilter, done: (rows: ReadonlyArray<AuditRow>) => boolean, what: string) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 30_000
    while (true) {
      const rows = yield* rowsOf(filter)
      if (done(rows)) return rows
      if (Date.now() > deadline) return assert.fail(`not within 30 s: ${what}; rows: ${JSON.stringify(rows)}`)
      yield* wait(100)
    }
  })
