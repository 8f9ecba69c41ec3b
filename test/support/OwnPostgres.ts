/**
 * A PostgreSQL instance of the suite's own (initdb on a temp dir, a free loopback port),
 * for fault tests that stop and start the database without disturbing other suites.
 * Debian's binaries (/usr/lib/postgresql/<v>/bin); run as `postgres` when the suite runs
 * as root, since initdb refuses root. Stopped and removed when the scope closes.
 *
 * `instance` is the building block: a fresh primary (`initdb`) or a streaming standby of
 * another instance (`pg_basebackup -R`), with kill -9 and promotion for failover drills
 * (`PostgresFailoverPair.ts`).
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { execFile, execFileSync } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import { freePort } from "./ServerProcess.ts"

const binDir = (): string => {
  const root = "/usr/lib/postgresql"
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  const found = versions.map((v) => join(root, v, "bin")).find((dir) => existsSync(join(dir, "initdb")))
  if (found === undefined) throw new Error("no PostgreSQL server binaries under /usr/lib/postgresql")
  return found
}

const asRoot = userInfo().uid === 0
const idOf = (flag: "-u" | "-g") => Number(execFileSync("id", [flag, "postgres"]).toString().trim())

const run = (binary: string, args: ReadonlyArray<string>) =>
  Effect.callback<void, Error>((resume) => {
    const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", binary, ...args]] : [binary, [...args]]
    execFile(file, argv, { timeout: 120_000 }, (error, _stdout, stderr) =>
      resume(error ? Effect.fail(new Error(`${binary} ${args.join(" ")}: ${stderr || error.message}`)) : Effect.void))
  })

export interface PgInstance {
  readonly port: number
  /** The `postgres` database of the instance. */
  readonly url: string
  /** Starts the server and waits until it accepts connections. */
  readonly start: Effect.Effect<void, Error>
  /** Immediate shutdown (no checkpoint), waiting for it. */
  readonly stop: Effect.Effect<void, Error>
  /** SIGKILL to the postmaster: a crash, its backends exit on their own. */
  readonly kill: Effect.Effect<void, Error>
  /** `pg_ctl promote`, waiting until the standby accepts writes. */
  readonly promote: Effect.Effect<void, Error>
}

export interface InstanceOptions {
  /** A new cluster (default), or a streaming standby of the instance on this loopback port. */
  readonly standbyOf?: number
}

/** An instance in its own temp dir, started; stopped and removed with the scope. */
export const instance = (options: InstanceOptions = {}): Effect.Effect<PgInstance, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const bin = binDir()
    const port = yield* freePort
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const dir = mkdtempSync(join(tmpdir(), "idgen-own-pg-"))
        if (asRoot) chownSync(dir, idOf("-u"), idOf("-g"))
        return dir
      }),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
    const data = join(dir, "data")
    if (options.standbyOf === undefined) {
      yield* run(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
    } else {
      // -R: standby.signal plus primary_conninfo; -X stream: the WAL written meanwhile, too.
      yield* run(join(bin, "pg_basebackup"), [
        "-h", "127.0.0.1", "-p", String(options.standbyOf), "-U", "postgres", "-D", data, "-R", "-X", "stream", "--no-sync"
      ])
    }
    const pgCtl = join(bin, "pg_ctl")
    const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`
    const start = run(pgCtl, ["-D", data, "-o", settings, "-l", join(dir, "log"), "-w", "start"])
    const stop = run(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"])
    const kill = Effect.try({
      try: () => process.kill(Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]), "SIGKILL"),
      catch: (cause) => new Error(`kill -9 of the postmaster on port ${port}: ${String(cause)}`)
    })
    const promote = run(pgCtl, ["-D", data, "-w", "promote"])
    yield* Effect.acquireRelease(start, () => Effect.ignore(stop))
    return { port, url: `postgres://postgres@127.0.0.1:${port}/postgres`, start, stop, kill, promote }
  })

export class OwnPostgres extends Context.Service<OwnPostgres, {
  /** The `postgres` database of the instance. */
  readonly url: string
  readonly stop: Effect.Effect<void, Error>
  readonly start: Effect.Effect<void, Error>
}>()("test/support/OwnPostgres") {
  static readonly layer: Layer.Layer<OwnPostgres, Error> = Layer.effect(
    OwnPostgres,
    Effect.map(instance(), ({ start, stop, url }) => OwnPostgres.of({ url, stop, start }))
  )
}
