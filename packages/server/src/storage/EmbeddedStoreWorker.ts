/**
 * The embedded store's own thread (see `EmbeddedStore.ts`): PGlite and its socket server run
 * here, so PostgreSQL's work — query execution in WebAssembly, WAL writes, the `fsyncSync`
 * of every COMMIT — blocks this thread's event loop, never the node's. The node reaches it
 * over the socket like any PostgreSQL server; the thread runs nothing else.
 *
 * A data directory that is not one yet is made here first, from the template when there is
 * one (`EmbeddedTemplate.ts`), so a first start's copy or initdb runs on this thread too.
 *
 * Protocol (plain objects over the worker port): `workerData` is a `Start`; the thread
 * answers one `Started` or `Failed`; the message `"close"` stops the socket server and
 * closes PGlite cleanly, answered by `Closed`, after which the thread ends.
 */
import { PGlite, type PGliteOptions } from "@electric-sql/pglite"
import { NodeFS } from "@electric-sql/pglite/nodefs"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as V8 from "node:v8"
import { parentPort, workerData } from "node:worker_threads"
import * as EmbeddedTemplate from "./EmbeddedTemplate.ts"

export interface Start {
  readonly pgDir: string
  /** A unix socket path, or undefined for TCP on 127.0.0.1 (a free port). */
  readonly socketPath: string | undefined
  readonly maxConnections: number
  /** Where templates are kept; undefined: `EmbeddedTemplate.defaultCache()`. */
  readonly templateCache: string | undefined
}

/** How the data directory came to be: there already, copied from the template, or made by initdb. */
export type Origin = "existing" | "template" | "initdb"

export type Reply =
  | {
    readonly _tag: "Started"
    /** Preparing the data directory (on a first start) and opening PGlite. */
    readonly startupMillis: number
    readonly origin: Origin
    /** On a first start: the template used, or why there was none. */
    readonly template: string | undefined
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

/**
 * PostgreSQL's buffer cache. PGlite keeps PostgreSQL's default of 128 MB, and all of it is
 * resident once PGlite has started (in its WebAssembly memory; a PGlite process measured
 * 375 MB with the default, 250 MB with 16 MB): a node's memory for tables of a few MB
 * (biz_tags, keys, segments; the audit log is appended, rarely read). Pages not in it are
 * read from the kernel's page cache.
 */
const SHARED_BUFFERS = "16MB"

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
    "full_page_writes=on",
    "-c",
    `shared_buffers=${SHARED_BUFFERS}`
  ]
}

const setting = async (db: PGlite, name: string) => {
  const result = await db.query<Record<string, string>>(`SHOW ${name}`)
  return String(Object.values(result.rows[0] ?? {})[0] ?? "")
}

const text = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** Runs PGlite's initdb into `dataDir` (which must hold no data directory yet) and closes it. */
const initdb = async (dataDir: string) => {
  const db = await PGlite.create({ fs: new NodeFS(dataDir) })
  await db.close()
  Fs.chmodSync(dataDir, 0o700)
}

/**
 * Makes `pgDir` a data directory unless it is one: a copy of the template (schema included),
 * else initdb's output (the node migrates it). Either is built beside it and renamed into
 * place, so a start killed meanwhile leaves no half-made data directory behind.
 */
const prepare = async (pgDir: string, cache: string): Promise<{ origin: Origin; template: string | undefined }> => {
  if (Fs.existsSync(Path.join(pgDir, "PG_VERSION"))) return { origin: "existing", template: undefined }
  // The node holds the data directory's lock: a staging directory here is a killed start's.
  const staging = `${pgDir}.new`
  Fs.rmSync(staging, { recursive: true, force: true })
  const found = EmbeddedTemplate.find(cache)
  let prepared: { origin: Origin; template: string }
  if (found._tag === "Found") {
    EmbeddedTemplate.copy(found.data, staging)
    prepared = { origin: "template", template: found.dir }
  } else {
    await initdb(staging)
    prepared = {
      origin: "initdb",
      template: found._tag === "Unusable"
        ? `${found.dir} not used: ${found.reason}`
        : `none at ${found.dir} (node scripts/embedded-template.ts makes it)`
    }
  }
  if (Fs.existsSync(pgDir)) {
    // Left empty by an earlier start that failed before this point; anything else is not ours to replace.
    if (Fs.readdirSync(pgDir).length > 0) {
      throw new Error(`${pgDir} holds files but no database (no PG_VERSION); move it away to start afresh`)
    }
    Fs.rmdirSync(pgDir)
  }
  Fs.renameSync(staging, pgDir)
  return prepared
}

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

/** Asked to close: a start still under way stops after its current step, then closes what it opened. */
let closeAsked = false
let starting = true
port.on("message", (message: unknown) => {
  if (message !== "close") return
  closeAsked = true
  if (!starting) void close()
})

/**
 * V8 runs WebAssembly in its baseline compiler (Liftoff) and recompiles a function with its
 * optimising one (TurboFan) once it has run for a budget. PostgreSQL's start and a first
 * start's migrations spend that budget on hundreds of large functions, whose recompilation
 * took ≈ 1.5 s of CPU in V8's background threads during every start, beside the node loading
 * its modules on 2 cores. The node's statements are small (their time is the round trip, the
 * same under either compiler), so the budget is raised 150-fold: only what runs really long
 * is optimised. Process-wide, before PGlite compiles its module (no other WebAssembly here
 * runs long).
 */
const WASM_TIERING_BUDGET = 2_000_000_000

const run = async () => {
  V8.setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`)
  const started = performance.now()
  const { origin, template } = await prepare(start.pgDir, start.templateCache ?? EmbeddedTemplate.defaultCache())
  if (closeAsked) return
  const fs = new DurableNodeFS(start.pgDir)
  const options: PGliteOptions = { fs, relaxedDurability: false, startParams: startParams() }
  db = await PGlite.create(options)
  if (closeAsked) return
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
  reply({ _tag: "Started", startupMillis, origin, template, port: tcpPort, synchronousCommit, fsyncSetting, fsyncWired: fs.fsyncWired })
}

try {
  await run()
} catch (error) {
  reply({ _tag: "Failed", message: text(error) })
  closeAsked = true
}
starting = false
if (closeAsked) await close()
