/**
 * The database of a node: a `PgClient`/`SqlClient` with the schema migrated.
 *
 * - `database.url` set → an external PostgreSQL (15+) through a pool of `maxConnections`.
 * - unset → the embedded store under `database.dataDir` (see `EmbeddedStore`), guarded by a
 *   lock file against a second process, reached over its unix socket with one connection.
 *
 * On start the migrations run (concurrent starters are serialised by the migrator's table
 * lock) and the audit table's monthly partitions for this and the next months are created;
 * a background fiber repeats the latter every 12 hours for as long as the layer lives.
 */
import { Errors } from "@idgen/core"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted, Schedule, Schema } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { ServerConfig } from "../config/ServerConfig.ts"
import { tracked } from "../observability/EventLoopDelay.ts"
import type * as DataDirLock from "./DataDirLock.ts"
import { EmbeddedStore, type EmbeddedStoreError } from "./EmbeddedStore.ts"
import type { StartFailure } from "../StartFailure.ts"
import * as FirstConnection from "./FirstConnection.ts"
import * as Migrations from "./migrations/index.ts"

export { DataDirLocked, DataDirLockError } from "./DataDirLock.ts"
export { EmbeddedStoreError } from "./EmbeddedStore.ts"

export interface DatabaseOptions {
  /** Unset → the embedded store under `dataDir`. */
  readonly url: Redacted.Redacted<string> | undefined
  readonly dataDir: string
  /** Where the embedded store's template is kept (unset: the installation's cache). */
  readonly embeddedTemplateDir?: string | undefined
  /** Pool size for an external database; the embedded store always uses one connection. */
  readonly maxConnections: number
  /** How long the first connection to an external database is retried (default 0: one attempt). */
  readonly connectTimeoutMillis?: number
}

/** The schema could not be brought up to date. */
export class MigrationFailed extends Schema.TaggedError<MigrationFailed>()("MigrationFailed", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/** Everything that can stop the database layer from starting. */
export type DatabaseStartupError =
  | Errors.DatabaseUnavailable
  | DataDirLock.DataDirLocked
  | DataDirLock.DataDirLockError
  | EmbeddedStoreError
  | MigrationFailed
  | StartFailure

/** How many months of audit partitions beyond the current one are kept ready. */
export const PARTITION_MONTHS_AHEAD = 2

const unavailable = (operation: string) => (error: SqlError) =>
  new Errors.DatabaseUnavailable({
    message: `the database is unavailable: ${error.message}`,
    details: { operation, reason: error.reason._tag }
  })

const runMigrator = Migrator.make({})

/** Applies the pending migrations. Idempotent. */
export const migrate: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  Errors.DatabaseUnavailable | MigrationFailed,
  SqlClient.SqlClient
> = runMigrator({ loader: Migrations.loader, table: Migrations.table }).pipe(
  Effect.catchTags({
    SqlError: (error) => Effect.fail(unavailable("migrate")(error)),
    MigrationError: (error) =>
      Effect.fail(new MigrationFailed({ message: `database migration failed: ${error.message}`, cause: error.cause }))
  }),
  Effect.withSpan("Database.migrate")
)

/**
 * Creates the monthly partitions of `segment_allocations` for the current month (UTC) and
 * the next `monthsAhead` ones when missing; returns how many it created. Safe to call
 * concurrently and repeatedly (say, daily); rows that meanwhile fell into the DEFAULT
 * partition are moved into the new month.
 */
export const ensureAllocationPartitions = (
  monthsAhead: number = PARTITION_MONTHS_AHEAD
): Effect.Effect<number, Errors.DatabaseUnavailable, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly created: number }>`
      SELECT idgen_ensure_allocation_partitions(${monthsAhead}::integer) AS created`
    return rows[0]?.created ?? 0
  }).pipe(
    Effect.mapError(unavailable("ensureAllocationPartitions")),
    Effect.withSpan("Database.ensureAllocationPartitions")
  )

/** The client of an external PostgreSQL, without migrations. */
export const layerExternalClient = (url: Redacted.Redacted<string>, maxConnections: number) =>
  PgClient.layerFrom(
    PgClient.make({ url, maxConnections, applicationName: "idgen" }).pipe(Effect.mapError(unavailable("connect")))
  )

/** The client of the embedded store (one connection, kept open), without migrations. */
const embeddedClient = PgClient.layerFrom(
  Effect.gen(function*() {
    const store = yield* (yield* EmbeddedStore).ready
    const endpoint = store.endpoint._tag === "Unix"
      ? { path: store.endpoint.path }
      : { host: store.endpoint.host, port: store.endpoint.port }
    return yield* PgClient.make({
      ...endpoint,
      database: "postgres",
      username: "postgres",
      applicationName: "idgen",
      // PGlite is one session: one connection, kept open (never recycled while idle).
      maxConnections: 1,
      minConnections: 1,
      idleTimeout: "3650 days"
    }).pipe(Effect.mapError(unavailable("connect")))
  })
)

/** The client of the embedded store under `dataDir` (locked for the layer's lifetime), without migrations. */
export const layerEmbeddedClient = (dataDir: string, templateDir?: string) =>
  embeddedClient.pipe(Layer.provide(EmbeddedStore.layerAt(dataDir, templateDir)))

/** The migrations recorded as applied, in order. */
const recorded = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly migration_id: number; readonly name: string }>`
    SELECT migration_id, name FROM ${sql(Migrations.table)} ORDER BY migration_id`
  return rows.map((row) => [row.migration_id, row.name] as const)
}).pipe(Effect.mapError(unavailable("migrate")))

/**
 * Migrates, keeps the audit partitions ready. `template`: the data directory was copied from
 * the embedded store's template by this start, and came with its migrations, logged as applied.
 */
const startup = (template: string | undefined) => Effect.gen(function*() {
  const applied = yield* migrate
  const fromTemplate = applied.length === 0 && template !== undefined
  const migrations = fromTemplate ? yield* recorded : applied
  if (migrations.length > 0) {
    yield* Effect.logInfo("database migrated").pipe(
      Effect.annotateLogs({
        migrations: migrations.map(([id, name]) => `${id}_${name}`).join(","),
        ...(fromTemplate ? { template } : {})
      })
    )
  }
  yield* ensureAllocationPartitions()
  // Keep the coming months' partitions ready on a long-running node, too.
  yield* ensureAllocationPartitions().pipe(
    Effect.catch((error) => Effect.logWarning("could not create audit partitions", error)),
    tracked("audit partitions"),
    Effect.repeat(Schedule.spaced("12 hours")),
    Effect.delay("12 hours"),
    Effect.forkScoped
  )
})

/**
 * The external database's client with the schema migrated (and the audit partitions kept
 * ready), once the first connection succeeded within `connectTimeoutMs` (`FirstConnection`).
 */
const migratedExternal = (url: Redacted.Redacted<string>, maxConnections: number, connectTimeoutMs: number) =>
  Layer.effectDiscard(Effect.andThen(FirstConnection.check(url, connectTimeoutMs), startup(undefined))).pipe(
    Layer.provideMerge(layerExternalClient(url, maxConnections))
  )

/** The embedded store's client on `store`, with the schema migrated (and the audit partitions kept ready). */
const migratedEmbedded = <E, R>(store: Layer.Layer<EmbeddedStore, E, R>) =>
  Layer.effectDiscard(
    Effect.flatMap(
      Effect.flatMap(EmbeddedStore, (embedded) => embedded.ready),
      (ready) => startup(ready.origin === "template" ? ready.template : undefined)
    )
  ).pipe(Layer.provideMerge(embeddedClient), Layer.provide(store))

/** The migrated database described by `options`. */
export const layerWith = (
  options: DatabaseOptions
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, DatabaseStartupError> =>
  options.url === undefined
    ? migratedEmbedded(EmbeddedStore.layerAt(options.dataDir, options.embeddedTemplateDir))
    : migratedExternal(options.url, options.maxConnections, options.connectTimeoutMillis ?? 0)

/**
 * The migrated database of this node's configuration (`database.*`). The embedded store is
 * `EmbeddedStore.layer`, the one `Launch.ts` begins before the node's modules are loaded.
 */
export const layer: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, DatabaseStartupError, ServerConfig> = Layer
  .unwrap(
    Effect.map(ServerConfig, (config): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, DatabaseStartupError, ServerConfig> =>
      config.database.url === undefined
        ? migratedEmbedded(EmbeddedStore.layer)
        : migratedExternal(config.database.url, config.database.maxConnections, config.database.connectTimeoutMillis))
  )

/** The migrated external database at `url` (tests, tools). */
export const layerUrl = (url: string, maxConnections = 4) =>
  layerWith({ url: Redacted.make(url), dataDir: "", maxConnections })

/** The migrated embedded store under `dataDir` (tests, tools). */
export const layerEmbedded = (dataDir: string) => layerWith({ url: undefined, dataDir, maxConnections: 1 })
