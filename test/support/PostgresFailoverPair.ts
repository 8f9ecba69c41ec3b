/**
 * A PostgreSQL primary of the suite's own with an asynchronous streaming standby on
 * loopback (`pg_basebackup -R`), behind a TCP proxy that stands in for the database's
 * virtual IP: nodes connect to `url` (the proxy) and move to the standby when the proxy is
 * switched after a failover. The failover drill, step by step:
 *
 *   const pair = yield* PostgresFailoverPair.make
 *   yield* pair.standbyCaughtUp      // everything committed so far survives the failover
 *   yield* pair.detachStandby        // the standby stops receiving WAL: it lags for sure
 *   …                                // commits on the primary that the standby will miss
 *   yield* pair.killPrimary          // SIGKILL
 *   yield* pair.promoteStandby       // pg_ctl promote: a new timeline
 *   yield* pair.switchProxy          // nodes reconnect to the promoted standby
 *
 * Everything is stopped and removed when the scope closes.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import { instance, type PgInstance } from "./OwnPostgres.ts"
import { eventually } from "./Eventually.ts"
import * as TcpProxy from "./TcpProxy.ts"

export interface PostgresFailoverPair {
  readonly primary: PgInstance
  readonly standby: PgInstance
  readonly proxy: TcpProxy.TcpProxy
  /** The `postgres` database through the proxy: what nodes are configured with. */
  readonly url: string
  /** Rows of `query` run on the `postgres` database of `url` (a direct connection per call). */
  readonly query: <A extends object>(url: string, query: string) => Effect.Effect<ReadonlyArray<A>, Error>
  /** Waits until the standby has replayed everything the primary has written so far. */
  readonly standbyCaughtUp: Effect.Effect<void, Error>
  /** Stops the standby's WAL receiver and waits until the primary sees it gone. */
  readonly detachStandby: Effect.Effect<void, Error>
  readonly killPrimary: Effect.Effect<void, Error>
  readonly promoteStandby: Effect.Effect<void, Error>
  /** Points the proxy at the standby, closing the connections open to the old primary. */
  readonly switchProxy: Effect.Effect<void>
}

const query = <A extends object>(url: string, text: string): Effect.Effect<ReadonlyArray<A>, Error> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<A>(text)).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })),
    Effect.mapError((error) => new Error(`${text}: ${String(error)}`))
  )

const streamingStandbys = (url: string) =>
  Effect.map(
    query<{ readonly n: number }>(url, "SELECT count(*)::integer AS n FROM pg_stat_replication WHERE state = 'streaming'"),
    (rows) => rows[0]!.n
  )

/** A primary, its standby streaming from it, and the proxy pointing at the primary. */
export const make: Effect.Effect<PostgresFailoverPair, Error, Scope.Scope> = Effect.gen(function*() {
  const primary = yield* instance()
  const standby = yield* instance({ standbyOf: primary.port })
  yield* eventually("the standby streaming from the primary", 30_000, Effect.map(streamingStandbys(primary.url), (n) => n > 0 || undefined))
  const proxy = yield* TcpProxy.make(primary.port)
  return {
    primary,
    standby,
    proxy,
    url: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
    query,
    standbyCaughtUp: Effect.gen(function*() {
      const [written] = yield* query<{ readonly lsn: string }>(primary.url, "SELECT pg_current_wal_lsn()::text AS lsn")
      yield* eventually("the standby caught up with the primary", 30_000, Effect.map(
        query<{ readonly done: boolean }>(standby.url, `SELECT pg_last_wal_replay_lsn() >= '${written!.lsn}'::pg_lsn AS done`),
        (rows) => rows[0]!.done || undefined
      ))
    }),
    detachStandby: Effect.gen(function*() {
      yield* query(standby.url, "ALTER SYSTEM SET primary_conninfo = ''")
      yield* query(standby.url, "SELECT pg_reload_conf()")
      yield* eventually("the standby's WAL receiver gone", 30_000, Effect.map(streamingStandbys(primary.url), (n) => n === 0 || undefined))
    }),
    killPrimary: primary.kill,
    promoteStandby: standby.promote,
    switchProxy: proxy.switchTo(standby.port)
  } satisfies PostgresFailoverPair
})
