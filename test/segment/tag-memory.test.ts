/**
 * What a biz_tag costs the node that served it (issue 13 §1, "an idle biz_tag costs a few KB
 * of memory, not tens"): the real server on PostgreSQL serves one ID each of 1,000 new
 * auto-created biz_tags, and its live heap — after a forced full collection — grows by less
 * than 8 KB a biz_tag. (With a refill loop of three fibers parked per biz_tag it grew by
 * about 18 KB a biz_tag.) A bound on memory, not on time.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { resolve } from "node:path"
import { eventually } from "../support/Eventually.ts"
import { ServerProcess, type ServerProcessShape, workspaceWithKey } from "../support/ServerProcess.ts"

const probe = resolve(import.meta.dirname, "../support/HeapProbe.ts")
const bytesPerTag = 8 * 1024
const tags = 1000

/** The server's live heap in bytes, after a full collection (`HeapProbe.ts`). */
const heapUsed = (server: ServerProcessShape) =>
  Effect.gen(function*() {
    const readings = () => [...server.output().matchAll(/^heap-used (\d+)$/gm)].map((m) => Number(m[1]))
    const before = readings().length
    process.kill(server.pid()!, "SIGUSR2")
    return yield* eventually("heap reading", 30_000, Effect.sync(() => readings()[before]), 50)
  })

layer(
  ServerProcess.layer({ env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --expose-gc --import=${probe}` } }),
  { timeout: "180 seconds", excludeTestServices: true }
)("the memory a biz_tag costs", (it) => {
  it.effect(`${tags} biz_tags served once each: the live heap grows by less than ${bytesPerTag / 1024} KB a biz_tag`, () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "mem" })
      const serve = (prefix: string, n: number) =>
        Effect.forEach(
          Array.from({ length: n }, (_, i) => `${prefix}-${i}`),
          (biz_tag) =>
            Effect.map(
              server.request("POST", "/api/v1/generate", { apiKey, json: { workspace: "mem", group: "g", biz_tag } }),
              (response) => assert.strictEqual(response.status, 200, response.text)
            ),
          { concurrency: 8, discard: true }
        )
      // Warm: the code paths compiled, the pools and caches at their working size.
      yield* serve("warm", 200)
      const before = yield* heapUsed(server)
      yield* serve("tag", tags)
      const after = yield* heapUsed(server)
      const perTag = (after - before) / tags
      assert.isBelow(perTag, bytesPerTag, `${Math.round(perTag)} bytes a biz_tag (${before} → ${after})`)
    }))
})
