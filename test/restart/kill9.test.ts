/**
 * Restart safety, black-box: a client generates continuously while the server is killed
 * with SIGKILL and started again on the same storage (PostgreSQL, then the embedded store).
 * No ID may ever be issued twice, and segment IDs after a restart start above everything
 * issued before it.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import {
  createBizTag,
  ServerProcess,
  type ServerProcessShape,
  wait,
  workspaceWithKey
} from "../support/ServerProcess.ts"

const tags = ["seg", "snow", "fmt"] as const
type Tag = (typeof tags)[number]

/** Generates batches for every tag until a request fails (the server died); records what it got. */
const generateUntilDeath = (server: ServerProcessShape, key: string, issued: Record<Tag, Array<string>>) =>
  Effect.gen(function*() {
    while (true) {
      for (const tag of tags) {
        const response = yield* Effect.exit(server.request("POST", "/api/v1/generate/batch", {
          apiKey: key,
          json: { workspace: "restart", group: "g", biz_tag: tag, size: 25 }
        }))
        if (Exit.isFailure(response)) return
        if (response.value.status !== 200) continue
        issued[tag].push(...(response.value.json.ids as Array<string>))
      }
    }
  })

const killRestartCycle = (rounds: number) =>
  Effect.gen(function*() {
    const server = yield* ServerProcess
    const key = yield* workspaceWithKey(server, { name: "restart" })
    yield* createBizTag(server, "restart", { group: "g", name: "seg", algorithm: "segment", step: 40 })
    yield* createBizTag(server, "restart", { group: "g", name: "snow", algorithm: "snowflake" })
    yield* createBizTag(server, "restart", {
      group: "g",
      name: "fmt",
      algorithm: "formatted",
      step: 40,
      format_template: "F{SEQ:9}"
    })
    const issued: Record<Tag, Array<string>> = { seg: [], snow: [], fmt: [] }
    const segmentsBeforeRestart: Array<number> = []
    for (let round = 1; round <= rounds; round++) {
      const client = yield* Effect.forkChild(generateUntilDeath(server, key, issued))
      while (issued.seg.length < round * 600) yield* wait(5)
      const killed = yield* server.kill("SIGKILL")
      assert.strictEqual(killed, "SIGKILL")
      yield* Fiber.join(client)
      segmentsBeforeRestart.push(issued.seg.length)
      yield* server.restart
    }
    const beforeLastRestart = Math.max(...issued.seg.map(Number))
    const client = yield* Effect.forkChild(generateUntilDeath(server, key, issued))
    while (issued.seg.length < segmentsBeforeRestart.at(-1)! + 100) yield* wait(5)
    yield* Fiber.interrupt(client)
    const afterRestart = issued.seg.slice(segmentsBeforeRestart.at(-1)!).map(Number)
    assert.isAbove(afterRestart.length, 0)
    assert.isAbove(Math.min(...afterRestart), beforeLastRestart)
    for (const tag of tags) {
      assert.strictEqual(new Set(issued[tag]).size, issued[tag].length, `duplicate ${tag} ID across SIGKILL restarts`)
    }
    // Per node run, segment IDs only grow: the whole sequence is increasing across restarts too.
    const segments = issued.seg.map(Number)
    assert.isTrue(segments.every((v, i) => i === 0 || v > segments[i - 1]!))
  })

describe("SIGKILL restart", () => {
  layer(ServerProcess.layer(), { timeout: 120_000, excludeTestServices: true })("on PostgreSQL", (it) => {
    it.effect("no ID is issued twice across three kill -9 restarts", () => killRestartCycle(3), { timeout: 120_000 })
  })

  layer(ServerProcess.layer({ env: { IDGEN_DATABASE_URL: "" } }), { timeout: 180_000, excludeTestServices: true })("on the embedded store", (it) => {
    it.effect("no ID is issued twice across two kill -9 restarts", () => killRestartCycle(2), { timeout: 180_000 })
  })
})
