/**
 * A node's first connection to an external PostgreSQL, before its migrations. While the
 * database may yet come — connection refused, host not found, timed out, "the database
 * system is starting up": a pod scheduled before its database, a database restarting — it
 * is tried again every `RETRY_MS` for at most `database.connect_timeout_ms`; a refusal that
 * waiting cannot change (authentication, a database that does not exist) ends the start at
 * once. Either way the start fails with one line naming host:port/database (never the
 * password) and the cause, and exit 69 (`StartFailure`).
 */
import { Effect, Redacted, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import * as StartFailure from "../StartFailure.ts"

const RETRY_MS = 500

/** SQLSTATE 57P03 cannot_connect_now: the server is starting up or shutting down. */
const STARTING_UP = "57P03"

/** Where a URL points: host:port/database (PostgreSQL's defaults: port 5432, the user's name as database). */
export const target = (url: string): string => {
  const parsed = new URL(url)
  const database = decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username) || "postgres"
  return `${parsed.hostname}:${parsed.port || "5432"}/${database}`
}

interface Cause {
  readonly text: string
  /** Whether waiting can change it. */
  readonly transient: boolean
}

/** The server's own message for what it refused (SQLSTATE), the system's reason for a socket that failed. */
export const causeOf = (error: SqlError): Cause => {
  const cause = (error.reason as { readonly cause?: unknown }).cause as
    | { readonly code?: unknown; readonly severity?: unknown; readonly message?: unknown; readonly errno?: unknown }
    | undefined
  if (cause !== undefined && cause.severity !== undefined && typeof cause.code === "string") {
    return { text: String(cause.message), transient: cause.code === STARTING_UP }
  }
  if (cause !== undefined && typeof cause.code === "string") return { text: StartFailure.osReason(cause), transient: true }
  const text = typeof cause?.message === "string" ? cause.message.toLowerCase() : error.message
  return { text, transient: error.reason._tag === "ConnectionError" }
}

/** Succeeds once the database at `url` answers (the client's pool makes the connection); see the module comment. */
export const check = (url: Redacted.Redacted<string>, timeoutMs: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const where = target(Redacted.value(url))
    let warned = false
    yield* sql`SELECT 1`.pipe(
      Effect.tapError((error) => {
        if (warned || !causeOf(error).transient || timeoutMs === 0) return Effect.void
        warned = true
        return Effect.logWarning(`database ${where} not reachable yet (${causeOf(error).text}); trying for up to ${timeoutMs} ms`)
      }),
      Effect.retry({
        schedule: Schedule.spaced(RETRY_MS).pipe(Schedule.upTo({ duration: timeoutMs })),
        while: (error) => causeOf(error).transient
      }),
      Effect.mapError((error) =>
        StartFailure.unavailable(`cannot connect to the database ${where} (database.url, IDGEN_DATABASE_URL): ${causeOf(error).text}`)
      )
    )
  })
