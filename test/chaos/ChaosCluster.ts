/**
 * The chaos run's own cluster on loopback, sharing nothing with the machine's services:
 * PostgreSQL (primary plus asynchronous standby behind a proxy), a Redis that can write RDB
 * snapshots, a 3-member etcd, and idgen nodes in datacenter 0 (plus one in datacenter 1
 * when asked). The node with `clock` runs under libfaketime, so the run can step its wall
 * clock. Everything stops with the scope.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as EtcdCluster from "../support/EtcdCluster.ts"
import * as FakeClock from "../support/FakeClock.ts"
import * as PostgresFailoverPair from "../support/PostgresFailoverPair.ts"
import { OwnRedis, type OwnRedisShape } from "../support/OwnRedis.ts"
import * as ServerProcess from "../support/ServerProcess.ts"
import { GROUP, kinds, WORKSPACE } from "./Kinds.ts"

export interface ChaosDatabase {
  /** What the nodes connect to: the proxy standing in for the database's VIP. */
  readonly url: string
  /** Stops the current primary (immediate), and starts it again `downMs` later. */
  readonly restart: (downMs: number) => Effect.Effect<void, Error>
  /**
   * Detaches the standby, lets the primary commit `lagMs` more without it, kills the
   * primary, promotes the standby and points the proxy at it. Once a run: there is no
   * standby afterwards.
   */
  readonly failover: (lagMs: number) => Effect.Effect<void, Error>
}

export interface ChaosNode {
  readonly index: number
  readonly name: string
  readonly datacenter: number
  readonly server: ServerProcess.ServerProcessShape
  /** The node's libfaketime clock, when it runs under one. */
  readonly clock: FakeClock.FakeClockShape | undefined
}

export interface ChaosClusterShape {
  readonly database: ChaosDatabase
  readonly redis: OwnRedisShape
  readonly etcd: EtcdCluster.EtcdClusterShape
  readonly nodes: ReadonlyArray<ChaosNode>
  readonly apiKey: string
}

export interface ClusterOptions {
  /** Nodes in datacenter 0 (default 3). */
  readonly nodes?: number
  /** One more node in datacenter 1. */
  readonly secondDatacenter?: boolean
  /** The node that runs under libfaketime (default: the last of datacenter 0). */
  readonly clockNode?: number
}

/**
 * Small segments and pool refills, so that allocations (and with them the database, the
 * Redis pool and the failover fencing) happen every second, not once a run, and a
 * PostgreSQL outage of several seconds drains every buffer (refusals, fallbacks).
 */
const segmentToml = `[segment]\nmax_step = 4000\ntarget_segment_seconds = 1\n`
const segmentEnv = {
  IDGEN_SEGMENT_STEP: "1000",
  IDGEN_SEGMENT_POOL_SEGMENT_SIZE: "2000",
  IDGEN_SEGMENT_POOL_SEGMENTS_PER_REFILL: "4"
}

/** The PostgreSQL of the run: a primary with an asynchronous standby, behind the proxy. */
const startDatabase: Effect.Effect<ChaosDatabase, Error, Scope.Scope> = Effect.gen(function*() {
  const pair = yield* PostgresFailoverPair.make
  let current = pair.primary
  return {
    url: pair.url,
    restart: (downMs) =>
      Effect.suspend(() => {
        const primary = current
        return Effect.andThen(primary.stop, Effect.andThen(ServerProcess.wait(downMs), primary.start))
      }),
    failover: (lagMs) =>
      Effect.gen(function*() {
        if (current !== pair.primary) return yield* Effect.fail(new Error("the run has failed over already: no standby left"))
        // Commits the standby never sees: what an asynchronous standby may lose for real.
        yield* pair.detachStandby
        yield* ServerProcess.wait(lagMs)
        yield* pair.killPrimary
        yield* pair.promoteStandby
        yield* pair.switchProxy
        current = pair.standby
      })
  }
})

export const make = (options: ClusterOptions = {}): Effect.Effect<ChaosClusterShape, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const count = options.nodes ?? 3
    const clockNode = options.clockNode ?? count - 1
    const [database, redis, etcd] = yield* Effect.all([
      startDatabase,
      Effect.map(Layer.build(OwnRedis.layer), (context) => Context.get(context, OwnRedis)),
      EtcdCluster.make()
    ], { concurrency: "unbounded" })
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "idgen-chaos-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
    const config = join(dir, "idgen.toml")
    writeFileSync(config, segmentToml)

    const start = (index: number, datacenter: number) =>
      Effect.gen(function*() {
        const clock = index === clockNode ? yield* FakeClock.make : undefined
        const name = `node-${index}`
        const server = yield* ServerProcess.make(database.url, {
          waitFor: "live",
          env: {
            IDGEN_CONFIG: config,
            IDGEN_REDIS_URL: redis.url,
            IDGEN_ETCD_ENDPOINTS: etcd.endpoints.join(","),
            IDGEN_ETCD_PREFIX: "/idgen-chaos",
            // Short leases: a quorum loss of a few seconds fences snowflake for real.
            IDGEN_ETCD_LEASE_TTL_SECONDS: "6",
            IDGEN_DATACENTER_ID: String(datacenter),
            IDGEN_NODE_NAME: name,
            IDGEN_LOG_LEVEL: "warning",
            IDGEN_ALERTING_ENABLED: "false",
            ...segmentEnv,
            ...clock?.env
          }
        })
        return { index, name, datacenter, server, clock } satisfies ChaosNode
      })

    // The first node migrates the database; the others start together after it.
    const first = yield* start(0, 0)
    const rest = yield* Effect.forEach(
      [...Array.from({ length: count - 1 }, (_, i) => [i + 1, 0] as const), ...(options.secondDatacenter ? [[count, 1] as const] : [])],
      ([index, datacenter]) => start(index, datacenter),
      { concurrency: "unbounded" }
    )
    const nodes = [first, ...rest]
    yield* Effect.forEach(nodes, (node) => awaitReady(node.server, 60_000), { discard: true })

    const apiKey = yield* ServerProcess.workspaceWithKey(first.server, { name: WORKSPACE })
    for (const kind of kinds) {
      yield* ServerProcess.createBizTag(first.server, WORKSPACE, { group: GROUP, name: kind.tag, ...kind.create })
    }
    return { database, redis, etcd, nodes, apiKey }
  })

/** Polls `/ready` until 200; dies past `deadlineMs`. */
export const awaitReady = (server: ServerProcess.ServerProcessShape, deadlineMs: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + deadlineMs
    while ((yield* server.request("GET", "/ready")).status !== 200) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`${server.baseUrl} not ready within ${deadlineMs} ms:\n${server.output().slice(-3000)}`))
      yield* ServerProcess.wait(100)
    }
  })
