/**
 * A start that cannot go on for a reason the operator can act on ends with one line on
 * stderr naming what and where (the port and address, the data directory) with the system's
 * reason, no stack trace, and an exit code of its own: 69 for something unavailable (a port
 * taken, the database — host:port/database and the cause, never the password, after a
 * bounded retry of what may yet come), 73 for a data directory that cannot be made; with
 * worker processes the primary prints the line once and exits with the worker's code.
 */
import { assert, layer } from "@effect/vitest"
import { Clock, Effect, Layer } from "effect"
import { chmodSync, existsSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { startFlags } from "../../scripts/start-flags.ts"
import { idgen, repoRoot, type Run } from "../support/IdgenCli.ts"
import { ADMIN_TOKEN } from "../support/ServerProcess.ts"
import { tempDir } from "../support/TempDir.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

const PASSWORD = "db-secret-4711"

/** A database URL like `url` (a fresh test database's) with another host, port, database or user, and a password. */
const databaseUrl = (url: string, change: { host?: string; port?: string; database?: string; user?: string }) => {
  const parsed = new URL(url)
  if (change.host !== undefined) parsed.hostname = change.host
  if (change.port !== undefined) parsed.port = change.port
  if (change.database !== undefined) parsed.pathname = `/${change.database}`
  if (change.user !== undefined) parsed.username = change.user
  parsed.password = PASSWORD
  return parsed.toString()
}

/** A start on this database URL, retrying the first connection for at most 1 s; yields the run and how long it took. */
const startOn = (url: string, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const run = yield* start({ IDGEN_DATABASE_URL: url, IDGEN_ADMIN_TOKEN: ADMIN_TOKEN, IDGEN_DATABASE_CONNECT_TIMEOUT_MS: "1000", ...env })
    assert.notInclude(run.stdout + run.stderr, PASSWORD)
    return { run, tookMs: (yield* Clock.currentTimeMillis) - started }
  })

const unreachable = (where: string, cause: string) =>
  `idgen: cannot connect to the database ${where} (database.url, IDGEN_DATABASE_URL): ${cause}`

const main = [process.execPath, ...startFlags(), join(repoRoot, "packages/server/src/main.js")]

/** `npm start` with `env` until it exits. */
export const start = (env: Record<string, string>) =>
  idgen([], { IDGEN_HTTP_HOST: "127.0.0.1", IDGEN_HTTP_PORT: "0", IDGEN_GRPC_PORT: "0", IDGEN_WORKERS: "1", ...env }, main)

/** Asserts the exit code and that stderr is exactly this one line. */
export const assertOneLine = (run: Run, code: number, line: string) => {
  assert.strictEqual(run.code, code, `stdout: ${run.stdout}\nstderr: ${run.stderr}`)
  assert.deepStrictEqual(run.stderr.trimEnd().split("\n"), [line], run.stdout)
  assert.notInclude(run.stdout + run.stderr, "    at ", "a stack trace")
}

/** A port some other process listens on, for the scope. */
const takenPort = Effect.acquireRelease(
  Effect.callback<{ readonly port: number; readonly close: () => void }>((resume) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resume(Effect.succeed({ port: typeof address === "object" && address !== null ? address.port : 0, close: () => server.close() }))
    })
  }),
  (taken) => Effect.sync(taken.close)
)

layer(Layer.empty, { timeout: "120 seconds", excludeTestServices: true })("start-up failures", (it) => {
  it.effect("HTTP port taken: exit 69, one line naming the address and EADDRINUSE", () =>
    Effect.gen(function*() {
      const { port } = yield* takenPort
      const run = yield* start({ IDGEN_DATABASE_URL: yield* TestDatabase.make, IDGEN_ADMIN_TOKEN: ADMIN_TOKEN, IDGEN_HTTP_PORT: String(port) })
      assertOneLine(run, 69, `idgen: HTTP cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`)
    }).pipe(Effect.scoped))

  it.effect("gRPC port taken: exit 69, one line naming the address and EADDRINUSE", () =>
    Effect.gen(function*() {
      const { port } = yield* takenPort
      const run = yield* start({ IDGEN_DATABASE_URL: yield* TestDatabase.make, IDGEN_ADMIN_TOKEN: ADMIN_TOKEN, IDGEN_GRPC_PORT: String(port) })
      assertOneLine(run, 69, `idgen: gRPC cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`)
    }).pipe(Effect.scoped))

  it.effect("two worker processes, HTTP port taken: the primary prints the workers' line once and exits 69", () =>
    Effect.gen(function*() {
      const { port } = yield* takenPort
      const run = yield* start({
        IDGEN_DATABASE_URL: yield* TestDatabase.make,
        IDGEN_ADMIN_TOKEN: ADMIN_TOKEN,
        IDGEN_WORKERS: "2",
        IDGEN_WORKER_ID: "40",
        IDGEN_HTTP_PORT: String(port)
      })
      assertOneLine(run, 69, `idgen: HTTP cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`)
    }).pipe(Effect.scoped))

  it.effect("database refusing connections: retried for database.connect_timeout_ms, then exit 69 naming host:port/database", () =>
    Effect.gen(function*() {
      const { run, tookMs } = yield* startOn(databaseUrl(yield* TestDatabase.make, { port: "1", database: "idgen" }))
      assertOneLine(run, 69, unreachable("127.0.0.1:1/idgen", "connection refused (ECONNREFUSED)"))
      assert.include(run.stdout, "database 127.0.0.1:1/idgen not reachable yet (connection refused (ECONNREFUSED)); trying for up to 1000 ms")
      assert.isAtLeast(tookMs, 1000, "the first connection is retried")
    }).pipe(Effect.scoped))

  it.effect("database host not found: exit 69 after the retry, 'host not found'", () =>
    Effect.gen(function*() {
      const { run } = yield* startOn(databaseUrl(yield* TestDatabase.make, { host: "idgen-db.invalid", database: "idgen" }))
      assertOneLine(run, 69, unreachable("idgen-db.invalid:5432/idgen", "host not found (ENOTFOUND)"))
    }).pipe(Effect.scoped))

  it.effect("a database or role that does not exist: exit 69 at once with the server's reason, no retry", () =>
    Effect.gen(function*() {
      const url = yield* TestDatabase.make
      const missing = yield* startOn(databaseUrl(url, { database: "idgen_missing" }), { IDGEN_DATABASE_CONNECT_TIMEOUT_MS: "60000" })
      assertOneLine(missing.run, 69, unreachable("127.0.0.1:5432/idgen_missing", `database "idgen_missing" does not exist`))
      assert.notInclude(missing.run.stdout, "not reachable yet")
      assert.isBelow(missing.tookMs, 30_000, "not retried for the 60 s")
      const role = yield* startOn(databaseUrl(url, { user: "idgen_nobody" }))
      const database = new URL(url).pathname.slice(1)
      assertOneLine(role.run, 69, unreachable(`127.0.0.1:5432/${database}`, `role "idgen_nobody" does not exist`))
    }).pipe(Effect.scoped))

  it.effect("two worker processes, database refusing connections: the primary prints the line once and exits 69", () =>
    Effect.gen(function*() {
      const { run } = yield* startOn(databaseUrl(yield* TestDatabase.make, { port: "1", database: "idgen" }), {
        IDGEN_WORKERS: "2",
        IDGEN_WORKER_ID: "40"
      })
      assertOneLine(run, 69, unreachable("127.0.0.1:1/idgen", "connection refused (ECONNREFUSED)"))
    }).pipe(Effect.scoped))

  it.effect("data directory under a regular file: exit 73, one line naming it and ENOTDIR (token given or generated)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("idgen-start-failure-")
      writeFileSync(join(dir, "file"), "")
      const dataDir = join(dir, "file", "data")
      const line = `idgen: the data directory ${dataDir} (database.data_dir, IDGEN_DATA_DIR) is unusable: ` +
        `cannot create ${dataDir}: not a directory (ENOTDIR)`
      assertOneLine(yield* start({ IDGEN_DATA_DIR: dataDir, IDGEN_ADMIN_TOKEN: ADMIN_TOKEN }), 73, line)
      assertOneLine(yield* start({ IDGEN_DATA_DIR: dataDir }), 73, line)
    }).pipe(Effect.scoped))

  // Root may create anything: the directory is refused to another user, as run by an operator.
  it.effect.skipIf(process.getuid?.() !== 0 || !existsSync("/usr/bin/setpriv"))(
    "data directory inside one another user owns (run as nobody): exit 73, one line naming it and EACCES",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir("idgen-start-failure-")
        chmodSync(dir, 0o700)
        const dataDir = join(dir, "data")
        const asNobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...main]
        const run = yield* idgen([], {
          IDGEN_HTTP_HOST: "127.0.0.1",
          IDGEN_HTTP_PORT: "0",
          IDGEN_GRPC_PORT: "0",
          IDGEN_WORKERS: "1",
          IDGEN_DATA_DIR: dataDir,
          IDGEN_ADMIN_TOKEN: ADMIN_TOKEN,
          // Its cache directory is root's.
          NODE_DISABLE_COMPILE_CACHE: "1"
        }, asNobody)
        assertOneLine(run, 73, `idgen: the data directory ${dataDir} (database.data_dir, IDGEN_DATA_DIR) is unusable: ` +
          `cannot create ${dataDir}: permission denied (EACCES)`)
      }).pipe(Effect.scoped)
  )

  it.effect("data directory in use by another node: exit 69, one line naming it and the other process", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir("idgen-start-failure-")
      writeFileSync(join(dataDir, "idgen.lock"), `${process.pid}\n`)
      const run = yield* start({ IDGEN_DATA_DIR: dataDir, IDGEN_ADMIN_TOKEN: ADMIN_TOKEN })
      assertOneLine(run, 69, `idgen: the data directory ${dataDir} is in use by another idgen process (pid ${process.pid}); ` +
        `stop it first, or delete ${join(dataDir, "idgen.lock")} if no idgen process uses this directory`)
    }).pipe(Effect.scoped))

  it.effect("port file that cannot be written: exit 73, one line naming it and the reason", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("idgen-start-failure-")
      writeFileSync(join(dir, "file"), "")
      const portFile = join(dir, "file", "ports.json")
      const run = yield* start({ IDGEN_DATABASE_URL: yield* TestDatabase.make, IDGEN_ADMIN_TOKEN: ADMIN_TOKEN, IDGEN_PORT_FILE: portFile })
      assertOneLine(run, 73, `idgen: cannot write the port file ${portFile} (node.port_file, IDGEN_PORT_FILE): not a directory (ENOTDIR)`)
    }).pipe(Effect.scoped))

  it.effect("data directory on procfs (/proc/x): exit 73 naming it, where a recursive mkdir spun for ever", () =>
    Effect.gen(function*() {
      const run = yield* start({ IDGEN_DATA_DIR: "/proc/idgen-data", IDGEN_ADMIN_TOKEN: ADMIN_TOKEN }).pipe(
        Effect.timeoutOrElse({ duration: "30 seconds", orElse: () => Effect.die("still running after 30 s") })
      )
      assertOneLine(run, 73, "idgen: the data directory /proc/idgen-data (database.data_dir, IDGEN_DATA_DIR) is unusable: " +
        "cannot create /proc/idgen-data: no such file or directory (ENOENT)")
    }))
})
