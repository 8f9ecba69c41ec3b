/**
 * Several server processes sharing the (shared) etcd cluster and one PostgreSQL database,
 * each leasing its own worker id: 1,000,000 snowflake IDs collected across two and then
 * three nodes, generated concurrently. Zero duplicates, and every ID decodes to the
 * worker id that etcd records as held by the node that answered with it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  createBizTag,
  make as startServer,
  type ServerProcessShape,
  workspaceWithKey
} from "../support/ServerProcess.ts"
import * as SharedEtcd from "../support/SharedEtcd.ts"
import { decode, etcdEnv, firstNonIncreasing, registry } from "../support/SnowflakeCluster.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

const TOTAL = 1_000_000
const BATCH = 10_000

const collectAcross = (nodes: number) =>
  Effect.gen(function*() {
    const prefix = SharedEtcd.uniquePrefix(`multi-${nodes}`)
    const databaseUrl = yield* TestDatabase.make
    const start = (i: number) =>
      startServer(databaseUrl, { env: etcdEnv(SharedEtcd.endpoints(), prefix, { IDGEN_NODE_NAME: `node-${i}` }) })
    // The first node migrates the shared database; the others start together after it.
    const first = yield* start(0)
    const rest = yield* Effect.forEach(Array.from({ length: nodes - 1 }, (_, i) => i + 1), start, {
      concurrency: "unbounded"
    })
    const servers: Array<ServerProcessShape> = [first, ...rest]
    const apiKey = yield* workspaceWithKey(first, { name: "multi" })
    yield* createBizTag(first, "multi", { group: "g", name: "snow", algorithm: "snowflake" })

    let collected = 0
    const byNode: Array<Array<string>> = servers.map(() => [])
    const started = Date.now()
    yield* Effect.forEach(
      servers,
      (server, i) =>
        Effect.gen(function*() {
          while (collected < TOTAL) {
            const response = yield* server.request("POST", "/api/v1/generate/batch", {
              apiKey,
              json: { workspace: "multi", group: "g", biz_tag: "snow", size: BATCH }
            })
            assert.strictEqual(response.status, 200, response.text)
            assert.strictEqual(response.json.algorithm, "snowflake")
            const ids = response.json.ids as Array<string>
            collected += ids.length
            for (const id of ids) byNode[i]!.push(id)
          }
        }),
      { concurrency: "unbounded", discard: true }
    )
    const elapsedMs = Date.now() - started

    const all = new Set<string>()
    for (const ids of byNode) for (const id of ids) all.add(id)
    assert.isAtLeast(collected, TOTAL)
    assert.strictEqual(all.size, collected, `${collected - all.size} duplicate IDs across ${nodes} nodes`)

    const inspector = yield* registry(SharedEtcd.endpoints(), prefix)
    const workers = new Set<number>()
    for (const [i, ids] of byNode.entries()) {
      assert.isAbove(ids.length, 0, `node-${i} answered nothing`)
      const worker = decode(ids[0]!).workerId
      workers.add(worker)
      assert.isTrue(
        ids.every((id) => {
          const parts = decode(id)
          return parts.workerId === worker && parts.datacenterId === 0
        }),
        `node-${i}: IDs of more than one worker id`
      )
      assert.strictEqual((yield* inspector.inspect(worker)).holder, `node-${i}`, `worker ${worker} is not node-${i}'s`)
      assert.strictEqual(firstNonIncreasing(ids), -1, `node-${i}: IDs not increasing`)
    }
    assert.strictEqual(workers.size, nodes, "two nodes shared a worker id")
    console.log(
      `${nodes} nodes: ${collected} snowflake IDs in ${elapsedMs} ms ` +
        `(${byNode.map((ids, i) => `node-${i}: ${ids.length}`).join(", ")}), workers ${[...workers].join("/")}, 0 duplicates`
    )
  }).pipe(Effect.scoped)

describe("snowflake across server processes sharing etcd and PostgreSQL", () => {
  it.live("two nodes, 1,000,000 IDs: no duplicate, each ID from its node's worker id",
    () => collectAcross(2), { timeout: 180_000 })

  it.live("three nodes, 1,000,000 IDs: no duplicate, each ID from its node's worker id",
    () => collectAcross(3), { timeout: 180_000 })
})
