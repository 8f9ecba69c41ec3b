/**
 * The embedded default store (PGlite on disk, served over a unix socket): state persists
 * across close/reopen, commits are durable (fsync on, synchronous_commit on), the data
 * directory is locked against a second opener, a first start makes it whole or not at all,
 * and a process killed with SIGKILL mid-run loses no committed allocation.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Logger, Option } from "effect"
import { SqlClient } from "effect/sql"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Database from "@idgen/server/storage/Database"
import * as DataDirLock from "@idgen/server/storage/DataDirLock"
import * as EmbeddedStore from "@idgen/server/storage/EmbeddedStore"
import * as Storage from "@idgen/server/storage/index"
import { SegmentRepo } from "@idgen/server/storage/SegmentRepo"
import { BizTagRepo } from "@idgen/server/storage/BizTagRepo"
import { tempDir } from "../support/TempDir.ts"
import { bizTag, key } from "./fixtures.ts"

const RANGE = 10_000_000_000
let dataDir = ""

const storage = (dir: string) => Storage.layerWith({ url: undefined, dataDir: dir, maxConnections: 1, rangeSize: RANGE })

const setting = (name: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql.unsafe<Record<string, string>>(`SHOW ${name}`)
    return Object.values(rows[0] ?? {})[0]
  })

/** Builds `layer` and runs `effect` with it; returns the result and the build time. */
const withTimedLayer = <ROut, E, A, E2, R2>(layer: Layer.Layer<ROut, E>, effect: Effect.Effect<A, E2, R2>) =>
  Effect.scoped(Effect.gen(function*() {
    const started = performance.now()
    const context = yield* Layer.build(layer)
    const startupMillis = Math.round(performance.now() - started)
    const result = yield* Effect.provide(effect, context)
    return { result, startupMillis }
  }))

beforeAll(() => {
  dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "idgen-embedded-"))
})
afterAll(() => {
  if (dataDir !== "") Fs.rmSync(dataDir, { recursive: true, force: true })
})

describe("embedded store", () => {
  it.live("persists allocations across close and reopen, with durable commits", () =>
    Effect.gen(function*() {
      const first = yield* withTimedLayer(
        storage(dataDir),
        Effect.gen(function*() {
          const id = yield* bizTag("embedded", "g", "persist")
          const repo = yield* SegmentRepo
          const a = yield* repo.allocate({ bizTagId: id, datacenterId: 1, step: 100, node: "n1" })
          const b = yield* repo.allocate({ bizTagId: id, datacenterId: 1, step: 50, node: "n1" })
          // Concurrent transactions share the one connection without desynchronising it.
          const concurrent = yield* Effect.all(
            Array.from({ length: 8 }, (_, i) =>
              Effect.forEach(
                Array.from({ length: 5 }, (_, j) => j),
                () => repo.allocate({ bizTagId: id, datacenterId: 2, step: 1 + i, node: `f${i}` })
              )),
            { concurrency: "unbounded" }
          )
          const sorted = concurrent.flat().sort((x, y) => x.start - y.start)
          sorted.forEach((s, i) => assert.strictEqual(s.start, i === 0 ? 2 * RANGE + 1 : sorted[i - 1]!.end + 1))
          const durability = {
            fsync: yield* setting("fsync"),
            synchronous_commit: yield* setting("synchronous_commit"),
            wal_sync_method: yield* setting("wal_sync_method")
          }
          return { id, a, b, durability, sharedBuffers: yield* setting("shared_buffers") }
        })
      )
      assert.deepStrictEqual(first.result.a, { start: RANGE + 1, end: RANGE + 100 })
      assert.deepStrictEqual(first.result.b, { start: RANGE + 101, end: RANGE + 150 })
      assert.deepStrictEqual(first.result.durability, { fsync: "on", synchronous_commit: "on", wal_sync_method: "fsync" })
      // PostgreSQL's 128 MB default would all be resident (see EmbeddedStoreWorker.ts).
      assert.strictEqual(first.result.sharedBuffers, "16MB")
      // Closed cleanly: the lock and the socket are gone.
      assert.isFalse(Fs.existsSync(Path.join(dataDir, DataDirLock.LOCK_FILE)))
      assert.isFalse(Fs.existsSync(Path.join(dataDir, ".s.PGSQL.5432")))

      const second = yield* withTimedLayer(
        storage(dataDir),
        Effect.gen(function*() {
          const tag = yield* (yield* BizTagRepo).find(key("embedded", "g", "persist"))
          const repo = yield* SegmentRepo
          const c = yield* repo.allocate({ bizTagId: first.result.id, datacenterId: 1, step: 10, node: "n2" })
          const sql = yield* SqlClient.SqlClient
          const [audit] = yield* sql<{ readonly n: bigint }>`SELECT count(*) AS n FROM segment_allocations`
          return { tag, c, audited: audit!.n }
        })
      )
      assert.isTrue(Option.isSome(second.result.tag))
      assert.deepStrictEqual(second.result.c, { start: RANGE + 151, end: RANGE + 160 })
      assert.strictEqual(second.result.audited, 3n + 40n)
      yield* Effect.logInfo(
        `embedded store startup: new data dir ${first.startupMillis} ms, reopen ${second.startupMillis} ms`
      )
    }), 60_000)

  it.live("refuses a second opener of a locked data directory; takes over a stale lock", () =>
    Effect.gen(function*() {
      const lockFile = Path.join(dataDir, DataDirLock.LOCK_FILE)
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(Database.layerEmbedded(dataDir))
        assert.strictEqual(Fs.readFileSync(lockFile, "utf8").split("\n")[0], String(process.pid))
        const error = yield* Effect.flip(Effect.scoped(Layer.build(Database.layerEmbedded(dataDir))))
        assert.strictEqual(error._tag, "DataDirLocked")
        assert.include(error.message, "in use by another idgen process")
        assert.include(error.message, `pid ${process.pid}`)
      }))
      assert.isFalse(Fs.existsSync(lockFile))

      // A lock left by a process that no longer runs is taken over.
      const dead = spawnSync(process.execPath, ["-e", ""])
      assert.isNumber(dead.pid)
      Fs.writeFileSync(lockFile, `${dead.pid}\n2020-01-01T00:00:00.000Z\n`)
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(Database.layerEmbedded(dataDir))
        assert.strictEqual(Fs.readFileSync(lockFile, "utf8").split("\n")[0], String(process.pid))
      }))
      assert.isFalse(Fs.existsSync(lockFile))

      // A lock with this process's own pid that this process does not hold was left by an
      // earlier process with the same pid (a container restarted as pid 1): stale too.
      Fs.writeFileSync(lockFile, `${process.pid}\n2020-01-01T00:00:00.000Z\n`)
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(Database.layerEmbedded(dataDir))
        assert.strictEqual(Fs.readFileSync(lockFile, "utf8").split("\n")[1]?.startsWith("2020"), false)
      }))
      assert.isFalse(Fs.existsSync(lockFile))
    }), 60_000)

  it.live("a client replacing its connection is served at once", () =>
    Effect.gen(function*() {
      yield* DataDirLock.acquire(dataDir)
      const store = yield* EmbeddedStore.open(dataDir)
      assert.strictEqual(store.endpoint._tag, "Unix")
      assert.isTrue(store.fsync)
      const endpoint = store.endpoint._tag === "Unix" ? { path: store.endpoint.path } : store.endpoint
      // Each round opens a fresh client right after the previous one closed its connection.
      for (let round = 0; round < 3; round++) {
        const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly n: number }>`SELECT ${round}::int AS n`)
          .pipe(Effect.provide(PgClient.layer({ ...endpoint, database: "postgres", username: "postgres", maxConnections: 1 })))
        assert.deepStrictEqual(rows, [{ n: round }])
      }
    }).pipe(Effect.scoped), 60_000)

  it.live("makes a first start's data directory whole or not at all: a killed start's leftovers are replaced, foreign files refused", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("idgen-embedded-first-")
      // A first start killed while it made the data directory: an empty pg/ and half of pg.new/.
      Fs.mkdirSync(Path.join(dir, EmbeddedStore.PG_DIR))
      Fs.mkdirSync(Path.join(dir, `${EmbeddedStore.PG_DIR}.new`, "base"), { recursive: true })
      yield* DataDirLock.acquire(dir)
      const store = yield* EmbeddedStore.open(dir)
      assert.notStrictEqual(store.origin, "existing")
      assert.isTrue(Fs.existsSync(Path.join(dir, EmbeddedStore.PG_DIR, "PG_VERSION")))
      assert.isFalse(Fs.existsSync(Path.join(dir, `${EmbeddedStore.PG_DIR}.new`)))

      // Files that are not a data directory are not replaced.
      const foreign = yield* tempDir("idgen-embedded-foreign-")
      Fs.mkdirSync(Path.join(foreign, EmbeddedStore.PG_DIR))
      Fs.writeFileSync(Path.join(foreign, EmbeddedStore.PG_DIR, "notes.txt"), "mine\n")
      yield* DataDirLock.acquire(foreign)
      const refused = yield* Effect.flip(EmbeddedStore.open(foreign))
      assert.include(refused.message, "holds files but no database")
      assert.strictEqual(Fs.readFileSync(Path.join(foreign, EmbeddedStore.PG_DIR, "notes.txt"), "utf8"), "mine\n")
    }).pipe(Effect.scoped), 120_000)

  it.live("closing a store while it starts ends its thread cleanly; the directory opens again", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("idgen-embedded-early-close-")
      const warnings: Array<unknown> = []
      const collect = Logger.layer([
        Logger.make(({ logLevel, message }) => logLevel === "Warn" && warnings.push(message))
      ])
      // Closed as soon as the thread has begun: a node that stops (or fails) during its start.
      yield* Effect.scoped(Effect.andThen(DataDirLock.acquire(dir), EmbeddedStore.begin(dir))).pipe(Effect.provide(collect))
      assert.deepStrictEqual(warnings, [])
      yield* DataDirLock.acquire(dir)
      const store = yield* EmbeddedStore.open(dir)
      assert.strictEqual(store.endpoint._tag, "Unix")
    }).pipe(Effect.scoped), 90_000)

  it.live("runs queries off the node's event loop: it stays idle while the store computes", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      // PostgreSQL's own CPU work, long enough to dwarf the client's share of the round trip.
      const before = performance.eventLoopUtilization()
      const [row] = yield* sql<{ readonly n: bigint }>`
        SELECT count(*) AS n FROM generate_series(1, 3000000) AS s(i) WHERE md5(i::text) LIKE 'a%'`
      const busy = performance.eventLoopUtilization(before)
      assert.isAbove(Number(row!.n), 0)
      // On the node's thread the query would keep this loop busy all along (utilisation ≈ 1).
      assert.isBelow(busy.utilization, 0.5, JSON.stringify(busy))
    }).pipe(Effect.provide(Database.layerEmbedded(dataDir))), 60_000)

  it.live("SIGKILL mid-run loses no committed allocation", () =>
    Effect.gen(function*() {
      const script = Path.resolve(import.meta.dirname, "../support/embeddedAllocator.ts")
      const child: ChildProcess = spawn(process.execPath, [script, dataDir, "10"], { stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
      const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
        child.on("close", (code, signal) => resolve(signal ?? code))
      )
      const printed = () =>
        stdout.split("\n").filter((l) => l.startsWith("range ")).map((l) => {
          const [, start, end] = l.split(" ")
          return { start: Number(start), end: Number(end) }
        })

      // Wait for a good number of committed allocations.
      const deadline = Date.now() + 40_000
      while (printed().length < 30 && Date.now() < deadline && child.exitCode === null) {
        yield* Effect.sleep(50)
      }
      assert.isAtLeast(printed().length, 30, `child output:\n${stdout}\n${stderr}`)

      // While it runs, this process cannot open the directory: the error names the child.
      const locked = yield* Effect.flip(Effect.scoped(Layer.build(Database.layerEmbedded(dataDir))))
      assert.strictEqual(locked._tag, "DataDirLocked")
      assert.include(locked.message, `pid ${child.pid}`)

      child.kill("SIGKILL")
      assert.strictEqual(yield* Effect.promise(() => exited), "SIGKILL")
      const ranges = printed()
      const highest = Math.max(...ranges.map((r) => r.end))
      // The ranges the child reported are disjoint and increasing.
      for (let i = 1; i < ranges.length; i++) assert.strictEqual(ranges[i]!.start, ranges[i - 1]!.end + 1)

      // Reopen (the dead child's lock is stale) and allocate again.
      const after = yield* Effect.provide(
        Effect.gen(function*() {
          const tag = yield* (yield* BizTagRepo).find(key("crash", "g", "kill9"))
          assert.isTrue(Option.isSome(tag))
          const id = Option.getOrThrow(tag).id
          const next = yield* (yield* SegmentRepo).allocate({ bizTagId: id, datacenterId: 0, step: 10, node: "parent" })
          const sql = yield* SqlClient.SqlClient
          const audited = yield* sql<{ readonly start_id: bigint }>`
            SELECT start_id FROM segment_allocations WHERE biz_tag_id = ${id}::uuid AND node <> 'parent'`
          return { next, audited: new Set(audited.map((r) => Number(r.start_id))) }
        }),
        storage(dataDir)
      )
      assert.isAbove(after.next.start, highest, `new range ${after.next.start} must start above ${highest}`)
      // Every range the child reported was committed together with its audit row.
      for (const r of ranges) assert.isTrue(after.audited.has(r.start), `audit row for ${r.start}`)
    }), 90_000)
})
