/**
 * The faults of the chaos run, each recorded on the timeline from its start until the part
 * it broke is back: a node killed with SIGKILL and restarted at once (optionally with its
 * wall clock stepped back first), PostgreSQL restarted or failed over, the etcd leader
 * killed, etcd's quorum taken away, Redis killed and restarted empty or from an older RDB
 * snapshot, and a live node's wall clock stepped back.
 */
import { Effect } from "effect"
import { copyFileSync, existsSync, rmSync } from "node:fs"
import { join } from "node:path"
import { wait } from "../support/ServerProcess.ts"
import type { ChaosClusterShape, ChaosNode } from "./ChaosCluster.ts"
import type { Timeline } from "./Timeline.ts"

export interface Faults {
  readonly killNode: (node: ChaosNode, behindMs?: number) => Effect.Effect<void>
  readonly restartPostgres: (downMs: number) => Effect.Effect<void>
  readonly failoverPostgres: (lagMs: number) => Effect.Effect<void>
  readonly killEtcdLeader: (downMs: number) => Effect.Effect<void>
  readonly loseEtcdQuorum: (downMs: number) => Effect.Effect<void>
  /** Saves an RDB snapshot of the Redis now, for a later `restoreRedis`. */
  readonly snapshotRedis: Effect.Effect<void>
  readonly killRedis: Effect.Effect<void>
  readonly restoreRedis: Effect.Effect<void>
  readonly stepClock: (node: ChaosNode, byMs: number) => Effect.Effect<void>
  /** Nodes being killed and restarted right now (their index). */
  readonly restarting: ReadonlySet<number>
}

/** Polls until every etcd member reports a leader. */
const awaitEtcdHealthy = (endpoints: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      const healthy = yield* Effect.promise(() =>
        Promise.all(endpoints.map((url) =>
          fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })
            .then(async (r) => ((await r.json()) as { health?: string }).health === "true", () => false)
        )))
      if (healthy.every((ok) => ok)) return
      yield* wait(100)
    }
    return yield* Effect.fail(new Error("etcd not healthy within 30 s of its members' restart"))
  })

export const make = (cluster: ChaosClusterShape, timeline: Timeline, snapshotFile: string): Faults => {
  const restarting = new Set<number>()
  const { redis, etcd, database } = cluster

  const redisFacts = Effect.gen(function*() {
    const info = String(yield* redis.command("INFO", "server"))
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1])
    const dir = (yield* redis.command("CONFIG", "GET", "dir")) as [string, string]
    return { pid, rdb: join(dir[1], "dump.rdb") }
  })

  /** SIGKILL (no save on the way down), then `prepare` the RDB file it will load, then start. */
  const bounceRedis = (prepare: (rdb: string) => void) =>
    Effect.gen(function*() {
      const { pid, rdb } = yield* redisFacts
      process.kill(pid, "SIGKILL")
      yield* redis.stop
      prepare(rdb)
      yield* redis.start
    })

  return {
    restarting,
    killNode: (node, behindMs) =>
      timeline.run(
        behindMs === undefined ? "node-kill" : "node-kill-behind",
        node.name,
        behindMs === undefined ? "SIGKILL, restarted at once" : `SIGKILL, restarted with its wall clock ${behindMs} ms behind`,
        Effect.gen(function*() {
          restarting.add(node.index)
          yield* node.server.kill("SIGKILL")
          if (behindMs !== undefined && node.clock !== undefined) yield* node.clock.setOffset(node.clock.offset() - behindMs)
          // A start can fail while another fault holds a dependency down: try again, bounded.
          const deadline = Date.now() + 120_000
          while (true) {
            const started = yield* Effect.exit(node.server.restart)
            if (started._tag === "Success") return
            if (Date.now() > deadline) return yield* started
            yield* wait(500)
          }
        }).pipe(Effect.ensuring(Effect.sync(() => restarting.delete(node.index))))
      ),
    restartPostgres: (downMs) =>
      timeline.run(
        "postgres-restart",
        "postgres",
        `primary stopped (immediate) for ${downMs} ms`,
        database.restart(downMs)
      ),
    failoverPostgres: (lagMs) =>
      timeline.run(
        "postgres-failover",
        "postgres",
        `standby detached, ${lagMs} ms of commits it misses, primary killed, standby promoted, proxy switched`,
        database.failover(lagMs)
      ),
    killEtcdLeader: (downMs) =>
      Effect.flatMap(etcd.leader, (leader) => {
        const member = leader ?? 0
        return timeline.run(
          "etcd-leader-kill",
          `etcd m${member}`,
          `${leader === undefined ? "no leader found; member" : "leader"} m${member} killed for ${downMs} ms`,
          Effect.gen(function*() {
            yield* etcd.stop(member)
            yield* wait(downMs)
            yield* etcd.start(member)
            yield* awaitEtcdHealthy(etcd.endpoints)
          })
        )
      }),
    loseEtcdQuorum: (downMs) =>
      timeline.run(
        "etcd-quorum-loss",
        "etcd m1, m2",
        `2 of 3 members killed for ${downMs} ms`,
        Effect.gen(function*() {
          yield* Effect.all([etcd.stop(1), etcd.stop(2)], { concurrency: "unbounded" })
          yield* wait(downMs)
          yield* Effect.all([etcd.start(1), etcd.start(2)], { concurrency: "unbounded" })
          yield* awaitEtcdHealthy(etcd.endpoints)
        })
      ),
    snapshotRedis: Effect.gen(function*() {
      yield* redis.command("SAVE")
      copyFileSync((yield* redisFacts).rdb, snapshotFile)
    }),
    killRedis: timeline.run(
      "redis-kill",
      "redis",
      "SIGKILL, restarted empty",
      bounceRedis((rdb) => rmSync(rdb, { force: true }))
    ),
    restoreRedis: timeline.run(
      "redis-restore",
      "redis",
      "SIGKILL, restarted from the older RDB snapshot",
      bounceRedis((rdb) => {
        if (!existsSync(snapshotFile)) throw new Error("no RDB snapshot was taken")
        copyFileSync(snapshotFile, rdb)
      })
    ),
    stepClock: (node, byMs) =>
      Effect.gen(function*() {
        const clock = node.clock
        if (clock === undefined) return yield* Effect.die(new Error(`${node.name} has no fake clock`))
        // A step on a live node: wait out a restart in progress.
        while (restarting.has(node.index)) yield* wait(50)
        yield* timeline.run(
          "clock-step",
          node.name,
          `wall clock stepped ${byMs} ms`,
          // A step back lasts until the wall clock is past where it was before it.
          Effect.andThen(clock.setOffset(clock.offset() + byMs), wait(Math.max(0, -byMs)))
        )
      })
  }
}
