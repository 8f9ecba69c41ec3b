/**
 * The embedded default store: PGlite (PostgreSQL compiled to WebAssembly) persisted under
 * `<dataDir>/pg`, served on a unix socket inside the data directory by pglite-socket, so
 * the regular `@effect/sql-pg` client talks to it exactly as to a PostgreSQL server.
 *
 * PGlite and its socket server run in a worker thread of their own (`EmbeddedStoreWorker.ts`):
 * executing a query and syncing its WAL to disk take milliseconds of CPU and blocking I/O
 * that would otherwise stall every request of the node. The node's side is only the socket.
 * The thread also makes a first start's data directory, a copy of the template
 * (`EmbeddedTemplate.ts`) or, without one, initdb's output.
 *
 * PGlite is a single session: the client uses exactly one connection, and every statement of
 * the node is serialised on it (see the socket server's limit below) — transactions stay
 * atomic and serialised exactly as before, whichever thread runs them.
 *
 * Durability. PGlite's defaults start PostgreSQL with `-F` (fsync off), and its emscripten
 * node filesystem turns fsync/fdatasync into no-ops. Every write still reaches the kernel
 * synchronously (`fs.writeSync`), so a committed transaction survives the process being
 * killed; it would not survive a power loss. We go further: the filesystem's fsync is wired to
 * `fs.fsyncSync`, PostgreSQL runs with fsync on and `wal_sync_method=fsync`, so a COMMIT
 * returns only once its WAL is on disk. `relaxedDurability` stays off (every query awaits its
 * filesystem sync). `open` checks the effective settings and fails if commits could be lost.
 */
import { Context, Deferred, Effect, Exit, Layer, Schema, type Scope } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { Worker } from "node:worker_threads"
import { ServerConfig } from "../config/ServerConfig.ts"
import * as DataDirLock from "./DataDirLock.ts"
import type { Origin, Reply, Start } from "./EmbeddedStoreWorker.ts"

/** The embedded store could not be opened, or would not be durable. */
export class EmbeddedStoreError extends Schema.TaggedError<EmbeddedStoreError>()("EmbeddedStoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/** Where the client reaches the store. */
export type Endpoint =
  | { readonly _tag: "Unix"; readonly path: string }
  | { readonly _tag: "Tcp"; readonly host: string; readonly port: number }

export interface Store {
  readonly endpoint: Endpoint
  /** Milliseconds PGlite took to start, making the data directory included on a first start. */
  readonly startupMillis: number
  /** How the data directory came to be: there already, or made by this start from the template or by initdb. */
  readonly origin: Origin
  /** On a first start: the template copied, or why there was none. */
  readonly template: string | undefined
  /** Whether COMMIT reaches the disk (fsync), not only the kernel. */
  readonly fsync: boolean
}

export const PG_DIR = "pg"
export const SOCKET_FILE = ".s.PGSQL.5432"
const SERVER_MAX_CONNECTIONS = 2
/** Linux's sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107

const fail = (message: string) => (cause: unknown) =>
  new EmbeddedStoreError({ message: `${message}: ${cause instanceof Error ? cause.message : String(cause)}`, cause })

/** How long a clean close (checkpoint included) may take before the thread is terminated. */
const CLOSE_TIMEOUT_MS = 30_000

type Started = Extract<Reply, { _tag: "Started" }>

/** Asks the thread to close PGlite cleanly and waits for it to end (terminated after the timeout). */
const stop = (worker: Worker, exited: () => boolean) =>
  Effect.callback<string | undefined>((resume) => {
    if (exited()) return resume(Effect.succeed(undefined))
    let warning: string | undefined
    const onMessage = (message: Reply) => {
      if (message._tag === "Closed") warning = message.warning
    }
    const timer = setTimeout(() => {
      warning = `did not close within ${CLOSE_TIMEOUT_MS} ms; terminated`
      void worker.terminate()
    }, CLOSE_TIMEOUT_MS)
    worker.on("message", onMessage)
    worker.once("exit", () => {
      clearTimeout(timer)
      worker.off("message", onMessage)
      resume(Effect.succeed(warning))
    })
    worker.postMessage("close")
  })

/**
 * The thread's first answer — PGlite open and the socket server listening, or why not. The
 * listeners are attached as the thread is created: a message no listener takes is lost.
 */
const firstAnswer = (worker: Worker): Deferred.Deferred<Started, EmbeddedStoreError> => {
  const answer = Deferred.makeUnsafe<Started, EmbeddedStoreError>()
  worker.on("message", (message: Reply) => {
    if (message._tag === "Started") Deferred.doneUnsafe(answer, Exit.succeed(message))
    else if (message._tag === "Failed") Deferred.doneUnsafe(answer, Exit.fail(new EmbeddedStoreError({ message: message.message })))
  })
  worker.once("error", (error) => Deferred.doneUnsafe(answer, Exit.fail(fail("the embedded database's thread failed")(error))))
  worker.once("exit", (code) =>
    Deferred.doneUnsafe(
      answer,
      Exit.fail(new EmbeddedStoreError({ message: `the embedded database's thread exited (code ${code})` }))
    ))
  return answer
}

/**
 * Begins the store under `dataDir` for the current scope (making its data directory, from the
 * template under `templateCache` when there is one, if it has none): starts its thread, which
 * opens PGlite and its socket server, and returns at once with the effect that waits until
 * they are (the first run waits and logs; later runs answer the same). The caller must hold
 * the data directory's lock (see `DataDirLock`). Closing the scope stops the socket server
 * and closes PGlite cleanly, then ends the thread.
 */
export const begin = (
  dataDir: string,
  templateCache?: string
): Effect.Effect<Effect.Effect<Store, EmbeddedStoreError>, EmbeddedStoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = Path.resolve(dataDir)
    const pgDir = Path.join(dir, PG_DIR)
    yield* Effect.try({
      try: () => Fs.mkdirSync(dir, { recursive: true, mode: 0o700 }),
      catch: fail(`cannot create ${dir}`)
    })

    const socketPath = Path.join(dir, SOCKET_FILE)
    const useUnix = Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH_BYTES
    if (useUnix) {
      // We hold the directory lock, so a socket file here is a leftover of a killed process.
      yield* Effect.try({ try: () => Fs.rmSync(socketPath, { force: true }), catch: fail(`cannot remove ${socketPath}`) })
    }
    // The client pool holds one connection. The server admits a second one only so that a
    // client replacing a dead connection is not refused while the old one is still being
    // torn down (its handler is removed asynchronously); two live clients never coexist.
    const start: Start = {
      pgDir,
      socketPath: useUnix ? socketPath : undefined,
      maxConnections: SERVER_MAX_CONNECTIONS,
      templateCache
    }
    const context = yield* Effect.context<never>()
    let closing = false
    let exited = false
    const { answer } = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          const worker = new Worker(new URL("./EmbeddedStoreWorker.ts", import.meta.url), { workerData: start })
          // After it started, the thread ends only when asked to: otherwise every query fails from then on.
          worker.once("exit", (code) => {
            exited = true
            if (!closing) {
              Effect.runForkWith(context)(
                Effect.logError("the embedded database's thread ended unexpectedly").pipe(Effect.annotateLogs({ code }))
              )
            }
          })
          return { worker, answer: firstAnswer(worker) }
        },
        catch: fail("cannot start the embedded database's thread")
      }),
      ({ worker }) =>
        Effect.suspend(() => {
          closing = true
          return stop(worker, () => exited)
        }).pipe(
          Effect.flatMap((warning) =>
            warning === undefined ? Effect.void : Effect.logWarning(`embedded database: ${warning}`)
          ),
          Effect.andThen(Effect.sync(() => useUnix && Fs.rmSync(socketPath, { force: true })))
        )
    )

    const ready = Effect.gen(function*() {
      const result = yield* Deferred.await(answer)
      const { startupMillis, origin } = result
      // Verify what we asked for: a COMMIT must not return before its WAL left the process.
      if (result.synchronousCommit !== "on") {
        return yield* new EmbeddedStoreError({
          message: `embedded database runs with synchronous_commit=${result.synchronousCommit}; committed allocations could be lost`
        })
      }
      const fsync = result.fsyncSetting === "on" && result.fsyncWired
      if (!fsync) {
        yield* Effect.logWarning(
          "embedded database: fsync could not be enabled; commits survive a process crash but not a power loss"
        )
      }

      const endpoint: Endpoint = useUnix
        ? { _tag: "Unix", path: socketPath }
        : { _tag: "Tcp", host: "127.0.0.1", port: result.port ?? 0 }

      yield* Effect.logInfo("embedded database ready").pipe(
        Effect.annotateLogs({
          dataDir: dir,
          endpoint: endpoint._tag === "Unix" ? endpoint.path : `${endpoint.host}:${endpoint.port}`,
          startupMillis,
          origin,
          ...(result.template === undefined ? {} : { template: result.template }),
          fsync
        })
      )
      return { endpoint, startupMillis, origin, template: result.template, fsync } satisfies Store
    })
    return yield* Effect.cached(ready)
  })

/** `begin`, and waits until the store serves. */
export const open = (dataDir: string, templateCache?: string): Effect.Effect<Store, EmbeddedStoreError, Scope.Scope> =>
  Effect.flatten(begin(dataDir, templateCache))

/**
 * The embedded store of a node: its data directory locked and its thread begun for the
 * layer's lifetime; `ready` waits until it serves.
 */
export class EmbeddedStore extends Context.Service<EmbeddedStore, {
  readonly ready: Effect.Effect<Store, EmbeddedStoreError>
}>()("idgen/storage/EmbeddedStore") {
  /** The store under `dataDir`, a new data directory made from the template under `templateCache`. */
  static readonly layerAt = (dataDir: string, templateCache?: string) =>
    Layer.effect(
      EmbeddedStore,
      Effect.andThen(DataDirLock.acquire(dataDir), Effect.map(begin(dataDir, templateCache), (ready) => ({ ready })))
    )

  /**
   * The store of the node's configuration (`database.data_dir`, `database.embedded_template_dir`).
   * One value, built once per memo map: `Launch.ts` builds it before it loads the node's
   * modules, so the thread opens PGlite meanwhile, and the node's layers get that same store.
   */
  static readonly layer = Layer.effect(
    EmbeddedStore,
    Effect.gen(function*() {
      const { database } = yield* ServerConfig
      yield* DataDirLock.acquire(database.dataDir)
      return { ready: yield* begin(database.dataDir, database.embeddedTemplateDir) }
    })
  )
}
