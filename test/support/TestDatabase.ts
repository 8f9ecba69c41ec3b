/**
 * Throw-away PostgreSQL databases for tests: `idgen_test_<random>` is created through the
 * `postgres` maintenance database on 127.0.0.1:5432 and dropped (WITH FORCE) when the scope
 * closes. Override the server with IDGEN_TEST_PG_URL (a URL whose database is the
 * maintenance one).
 */
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { randomBytes } from "node:crypto"

export const ADMIN_URL = process.env["IDGEN_TEST_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres"

const urlOf = (database: string) => {
  const url = new URL(ADMIN_URL)
  url.pathname = `/${database}`
  return url.toString()
}

const withAdmin = <A, E>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
  Effect.flatMap(SqlClient.SqlClient, f).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(ADMIN_URL), maxConnections: 1 }))
  )

/** Creates a fresh empty database for the current scope; yields its URL. */
export const make: Effect.Effect<string, SqlError, Scope.Scope> = Effect.acquireRelease(
  Effect.gen(function*() {
    const name = `idgen_test_${randomBytes(6).toString("hex")}`
    yield* withAdmin((sql) => sql`CREATE DATABASE ${sql(name)}`)
    return name
  }),
  (name) =>
    withAdmin((sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`).pipe(
      Effect.catch((error) => Effect.logWarning(`could not drop test database ${name}`, error))
    )
).pipe(Effect.map(urlOf))

/** A fresh database for the lifetime of the layer. */
export class TestDatabase extends Context.Service<TestDatabase, {
  readonly url: string
}>()("test/support/TestDatabase") {
  static readonly layer: Layer.Layer<TestDatabase, SqlError> = Layer.effect(
    TestDatabase,
    Effect.map(make, (url) => TestDatabase.of({ url }))
  )
}
