/**
 * The embedded store's own thread (see `EmbeddedStore.ts`): PGlite and its socket server run
 * here, so PostgreSQL's work — query execution in WebAssembly, WAL writes, the `fsyncSync`
 * of every COMMIT — blocks this thread's event loop, never the node's. The node reaches it
 * over the socket like any PostgreSQL server; the thread runs nothing else.
 *
 * Protocol (plain objects over the worker port): `workerData` is a `Start`; the thread
 * answers one `Started` or `Failed`; the message `"close"` stops the socket server and
 * closes PGlite cleanly, answered by `Closed`, after which the thread ends.
 */
import { PGlite, type PGliteOptions } from "@electric-sql/pglite"
import { NodeFS } from "@electric-sql/pglite/nodefs"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import * as Fs from "node:fs"
import { parentPort, workerData } from "node:worker_threads"

export interface Start {
  readonly pgDir: string
  /** A unix socket path, or undefined for TCP on 127.0.0.1 (a free port). */
  readonly socketPath: string | undefined
  readonly maxConnections: number
}

export type Reply =
  | {
    readonly _tag: "Started"
    readonly startupMillis: number
    /** The TCP port when no socket path was given. */
    readonly port: number | undefined
    readonly synchronousCommit: string
    readonly fsyncSetting: string
    readonly fsyncWired: boolean
  }
  | { readonly _tag: "Failed"; readonly message: string }
  | { readonly _tag: "Closed"; readonly warning: string | undefined }

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

const setting = async (db: PGlite, name: string) => {
  const result = await db.query<Record<string, string>>(`SHOW ${name}`)
  return String(Object.values(result.rows[0] ?? {})[0] ?? "")
}

const text = (error: unknown) => (error instanceof Error ? error.message : String(error))

const port = parentPort!
const start = workerData as Start
const reply = (message: Reply) => port.postMessage(message)

let db: PGlite | undefined
let server: PGLiteSocketServer | undefined

const close = async () => {
  const warnings: Array<string> = []
  try {
    await server?.stop()
  } catch (error) {
    warnings.push(`socket server did not stop cleanly: ${text(error)}`)
  }
  try {
    await db?.close()
  } catch (error) {
    warnings.push(`database did not close cleanly: ${text(error)}`)
  }
  reply({ _tag: "Closed", warning: warnings.length === 0 ? undefined : warnings.join("; ") })
  port.close()
}

port.on("message", (message: unknown) => {
  if (message === "close") void close()
})

try {
  const fs = new DurableNodeFS(start.pgDir)
  const started = performance.now()
  const options: PGliteOptions = { fs, relaxedDurability: false, startParams: startParams() }
  db = await PGlite.create(options)
  const startupMillis = Math.round(performance.now() - started)
  const synchronousCommit = await setting(db, "synchronous_commit")
  const fsyncSetting = await setting(db, "fsync")
  server = new PGLiteSocketServer(
    start.socketPath === undefined
      ? { db, host: "127.0.0.1", port: 0, maxConnections: start.maxConnections }
      : { db, path: start.socketPath, maxConnections: start.maxConnections }
  )
  await server.start()
  let tcpPort: number | undefined
  if (start.socketPath === undefined) {
    const conn = server.getServerConn()
    tcpPort = Number(conn.slice(conn.lastIndexOf(":") + 1))
  } else {
    Fs.chmodSync(start.socketPath, 0o600)
  }
  reply({ _tag: "Started", startupMillis, port: tcpPort, synchronousCommit, fsyncSetting, fsyncWired: fs.fsyncWired })
} catch (error) {
  reply({ _tag: "Failed", message: text(error) })
  await close()
}
