/**
 * The embedded default store: PGlite (PostgreSQL compiled to WebAssembly) persisted under
 * `<dataDir>/pg`, served on a unix socket inside the data directory by pglite-socket, so
 * the regular `@effect/sql-pg` client talks to it exactly as to a PostgreSQL server.
 *
 * PGlite is a single session: the client uses exactly one connection, and every statement of
 * the node is serialised on it (see the socket server's limit below).
 *
 * Durability. PGlite's defaults start PostgreSQL with `-F` (fsync off), and its emscripten
 * node filesystem turns fsync/fdatasync into no-ops. Every write still reaches the kernel
 * synchronously (`fs.writeSync`), so a committed transaction survives the process being
 * killed; it would not survive a power loss. We go further: the filesystem's fsync is wired to
 * `fs.fsyncSync`, PostgreSQL runs with fsync on and `wal_sync_method=fsync`, so a COMMIT
 * returns only once its WAL is on disk. `relaxedDurability` stays off (every query awaits its
 * filesystem sync). `open` checks the effective settings and fails if commits could be lost.
 */
import { PGlite, type PGliteOptions } from "@electric-sql/pglite"
import { NodeFS } from "@electric-sql/pglite/nodefs"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { Effect, Schema, type Scope } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"

/** The embedded store could not be opened, or would not be durable. */
export class EmbeddedStoreError extends Schema.TaggedError<EmbeddedStoreError>()("EmbeddedStoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/** Where the client reaches the store. */
export type Endpoint =
  | { readonly _tag: "Unix"; readonly path: string }
  | { readonly _tag: "Tcp"; readonly host: string; readonly port: number }

export interface EmbeddedStore {
  readonly endpoint: Endpoint
  /** Milliseconds PGlite took to start (initialising a new data directory takes longest). */
  readonly startupMillis: number
  /** True when the data directory was created by this start. */
  readonly initialised: boolean
  /** Whether COMMIT reaches the disk (fsync), not only the kernel. */
  readonly fsync: boolean
}

export const PG_DIR = "pg"
export const SOCKET_FILE = ".s.PGSQL.5432"
const SERVER_MAX_CONNECTIONS = 2
/** Linux's sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107

/** NodeFS whose fsync reaches the disk (emscripten's NODEFS has no fsync at all). */
class DurableNodeFS extends NodeFS {
  fsyncWired = false

  override async init(pg: PGlite, opts: Parameters<NodeFS["init"]>[1]) {
    const result = await super.init(pg, opts)
    const preRun = result.emscriptenOpts.preRun ?? []
    result.emscriptenOpts.preRun = [
      ...(Array.isArray(preRun) ? preRun : [preRun]),
      (mod: { FS: { filesystems: Record<string, { stream_ops?: Record<string, unknown> } | undefined> } }) => {
        const streamOps = mod.FS.filesystems["NODEFS"]?.stream_ops
        if (streamOps !== undefined) {
          streamOps["fsync"] = (stream: { nfd?: number }) => {
            if (stream.nfd !== undefined) Fs.fsyncSync(stream.nfd)
            return 0
          }
          this.fsyncWired = true
        }
      }
    ] as typeof preRun
    return result
  }
}

const startParams = (): Array<string> => {
  const defaults: ReadonlyArray<string> = (PGlite as unknown as { defaultStartParams?: ReadonlyArray<string> })
    .defaultStartParams ?? ["--single", "-F", "-O", "-j", "-c", "search_path=public", "-c", "exit_on_error=false"]
  return [
    ...defaults.filter((p) => p !== "-F"),
    "-c",
    "fsync=on",
    "-c",
    "synchronous_commit=on",
    "-c",
    "wal_sync_method=fsync",
    "-c",
    "full_page_writes=on"
  ]
}

const fail = (message: string) => (cause: unknown) =>
  new EmbeddedStoreError({ message: `${message}: ${cause instanceof Error ? cause.message : String(cause)}`, cause })

const setting = (db: PGlite, name: string) =>
  Effect.tryPromise({
    try: () => db.query<Record<string, string>>(`SHOW ${name}`),
    catch: fail(`cannot read setting ${name}`)
  }).pipe(Effect.map((r) => String(Object.values(r.rows[0] ?? {})[0] ?? "")))

/**
 * Opens (creating if needed) the store under `dataDir` for the current scope and starts its
 * socket server. The caller must hold the data directory's lock (see `DataDirLock`).
 * Closing the scope stops the socket server and closes PGlite cleanly.
 */
export const open = (dataDir: string): Effect.Effect<EmbeddedStore, EmbeddedStoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = Path.resolve(dataDir)
    const pgDir = Path.join(dir, PG_DIR)
    const initialised = !Fs.existsSync(Path.join(pgDir, "PG_VERSION"))
    yield* Effect.try({
      try: () => Fs.mkdirSync(pgDir, { recursive: true, mode: 0o700 }),
      catch: fail(`cannot create ${pgDir}`)
    })

    const fs = new DurableNodeFS(pgDir)
    const started = Date.now()
    const options: PGliteOptions = { fs, relaxedDurability: false, startParams: startParams() }
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => PGlite.create(options), catch: fail(`cannot open the embedded database in ${pgDir}`) }),
      (db) =>
        Effect.tryPromise(() => db.close()).pipe(
          Effect.catch((error) => Effect.logWarning("embedded database did not close cleanly", error))
        )
    )
    const startupMillis = Date.now() - started

    // Verify what we asked for: a COMMIT must not return before its WAL left the process.
    const synchronousCommit = yield* setting(db, "synchronous_commit")
    const fsyncSetting = yield* setting(db, "fsync")
    if (synchronousCommit !== "on") {
      return yield* new EmbeddedStoreError({
        message: `embedded database runs with synchronous_commit=${synchronousCommit}; committed allocations could be lost`
      })
    }
    const fsync = fsyncSetting === "on" && fs.fsyncWired
    if (!fsync) {
      yield* Effect.logWarning(
        "embedded database: fsync could not be enabled; commits survive a process crash but not a power loss"
      )
    }

    const socketPath = Path.join(dir, SOCKET_FILE)
    const useUnix = Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH_BYTES
    if (useUnix) {
      // We hold the directory lock, so a socket file here is a leftover of a killed process.
      yield* Effect.try({ try: () => Fs.rmSync(socketPath, { force: true }), catch: fail(`cannot remove ${socketPath}`) })
    }
    const server = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          // The client pool holds one connection. The server admits a second one only so that a
          // client replacing a dead connection is not refused while the old one is still being
          // torn down (its handler is removed asynchronously); two live clients never coexist.
          const server = new PGLiteSocketServer(
            useUnix
              ? { db, path: socketPath, maxConnections: SERVER_MAX_CONNECTIONS }
              : { db, host: "127.0.0.1", port: 0, maxConnections: SERVER_MAX_CONNECTIONS }
          )
          await server.start()
          return server
        },
        catch: fail("cannot start the embedded database's socket server")
      }),
      (server) =>
        Effect.tryPromise(() => server.stop()).pipe(
          Effect.andThen(Effect.sync(() => useUnix && Fs.rmSync(socketPath, { force: true }))),
          Effect.catch((error) => Effect.logWarning("embedded socket server did not stop cleanly", error))
        )
    )
    let endpoint: Endpoint
    if (useUnix) {
      yield* Effect.try({ try: () => Fs.chmodSync(socketPath, 0o600), catch: fail(`cannot restrict ${socketPath}`) })
      endpoint = { _tag: "Unix", path: socketPath }
    } else {
      const conn = server.getServerConn()
      const port = Number(conn.slice(conn.lastIndexOf(":") + 1))
      endpoint = { _tag: "Tcp", host: "127.0.0.1", port }
    }

    yield* Effect.logInfo("embedded database ready").pipe(
      Effect.annotateLogs({
        dataDir: dir,
        endpoint: endpoint._tag === "Unix" ? endpoint.path : `${endpoint.host}:${endpoint.port}`,
        startupMillis,
        initialised,
        fsync
      })
    )
    return { endpoint, startupMillis, initialised, fsync }
  })
