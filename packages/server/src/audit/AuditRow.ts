/**
 * A row of the `audit_log` table as it is read back: `id` as text (a bigint), `metadata`
 * the event's details (JSON). `AuditLog` writes these columns; `AuditQuery` and the audit
 * suites read them.
 */
export interface AuditRow {
  readonly id: string
  readonly occurred_at: Date
  readonly event_type: string
  readonly actor: string | null
  readonly action: string
  readonly resource: string
  readonly result: string
  readonly node: string
  readonly workspace: string | null
  readonly metadata: unknown
}
