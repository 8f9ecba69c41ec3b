/**
 * Formatted IDs across real server processes. Two nodes with static workers 1 and 11 on
 * one database, template `{WORKER}{SEQ}`: with `{WORKER}` unpadded, worker 1 / 11500 and
 * worker 11 / 1500 both gave `111500`. A node that holds no worker id refuses templates
 * with `{WORKER}` (IDGEN-SNOW-2003, the fallback serves) instead of rendering 0; templates
 * that render plain numbers are refused next to segment or snowflake in one chain, over
 * the operator API and the CLI.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { idgen } from "../support/IdgenCli.ts"
import {
  ADMIN_TOKEN,
  assertError,
  createBizTag,
  make as startServer,
  refusedPort,
  type ServerProcessShape,
  workspaceWithKey
} from "../support/ServerProcess.ts"
import { duplicatesIn } from "../support/SnowflakeCluster.ts"
import { tempDir } from "../support/TempDir.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

const BATCH = 1000
/** IDs each node issues side by side, after the sequential warm-up. */
const TOGETHER = 100_000

/** `count` formatted IDs of biz_tag `w` from `server`, in batches. */
const drain = (server: ServerProcessShape, apiKey: string, count: number) =>
  Effect.gen(function*() {
    const ids: Array<string> = []
    while (ids.length < count) {
      const res = yield* server.request("POST", "/api/v1/generate/batch", {
        apiKey,
        json: { workspace: "fmt", group: "g", biz_tag: "w", size: BATCH }
      })
      assert.strictEqual(res.status, 200, res.text)
      assert.strictEqual(res.json.algorithm, "formatted")
      ids.push(...res.json.ids)
    }
    return ids
  })

describe("formatted IDs across nodes", () => {
  it.live("static workers 1 and 11 on one database, {WORKER}{SEQ}: no string twice", () =>
    Effect.gen(function*() {
      // Segments of at most 100 numbers (the dynamic step would otherwise hand one node
      // millions at once), so the counter ranges of the two nodes are known below.
      const config = join(yield* tempDir("idgen-fmt-"), "idgen.toml")
      writeFileSync(config, "[segment]\nmax_step = 100\n")
      const databaseUrl = yield* TestDatabase.make
      const node = (worker: string) =>
        startServer(databaseUrl, { env: { IDGEN_CONFIG: config, IDGEN_WORKER_ID: worker, IDGEN_NODE_NAME: `fmt-${worker}` } })
      const one = yield* node("1")
      const eleven = yield* node("11")
      const apiKey = yield* workspaceWithKey(one, { name: "fmt" })
      yield* createBizTag(one, "fmt", { group: "g", name: "w", algorithm: "formatted", step: 100, format_template: "{WORKER}{SEQ}" })
      // Worker 11 first takes the counter's first 5,000 values, then worker 1 the next
      // 15,000: with {WORKER} unpadded, 11‖b (b ≤ 5,000) and 1‖(10,000 + b) are the same
      // string about 4,000 times. Then both side by side, the counter ranges interleaved.
      const first = yield* drain(eleven, apiKey, 5_000)
      const second = yield* drain(one, apiKey, 15_000)
      const [ones, elevens] = yield* Effect.all([drain(one, apiKey, TOGETHER), drain(eleven, apiKey, TOGETHER)], {
        concurrency: 2
      })
      const all = [...first, ...second, ...ones, ...elevens]
      assert.strictEqual(all.length, 20_000 + 2 * TOGETHER)
      assert.strictEqual(duplicatesIn(all), 0, `duplicates among ${all.length} strings`)
      assert.isTrue([...second, ...ones].every((id) => id.startsWith("001")), "worker 1 renders as 001")
      assert.isTrue([...first, ...elevens].every((id) => id.startsWith("011")), "worker 11 renders as 011")
    }).pipe(Effect.scoped), { timeout: 180_000 })

  it.live("no worker id held: {WORKER} templates answer IDGEN-SNOW-2003 or their fallback, never worker 0", () =>
    Effect.gen(function*() {
      const databaseUrl = yield* TestDatabase.make
      // etcd where nothing listens: the node never leases a worker id.
      const nowhere = `http://127.0.0.1:${yield* refusedPort}`
      const server = yield* startServer(databaseUrl, {
        env: { IDGEN_ETCD_ENDPOINTS: nowhere, IDGEN_NODE_NAME: "fmt-no-worker" },
        waitFor: "live"
      })
      const apiKey = yield* workspaceWithKey(server, { name: "fmt" })
      const tag = (name: string, body: Record<string, unknown>) =>
        createBizTag(server, "fmt", { group: "g", name, algorithm: "formatted", ...body })
      yield* tag("alone", { format_template: "W{WORKER}-{SEQ}" })
      yield* tag("chained", { format_template: "W{WORKER}-{SEQ}", fallback: ["uuid_v7"] })
      yield* tag("noworker", { format_template: "D{DC}-{SEQ:4}" })
      const generate = (bizTag: string) =>
        server.request("POST", "/api/v1/generate", { apiKey, json: { workspace: "fmt", group: "g", biz_tag: bizTag } })

      assertError(yield* generate("alone"), 503, "IDGEN-SNOW-2003")
      const chained = yield* generate("chained")
      assert.strictEqual(chained.status, 200, chained.text)
      assert.strictEqual(chained.json.algorithm, "uuid_v7")
      // A template without {WORKER} needs no worker id.
      const plain = yield* generate("noworker")
      assert.strictEqual(plain.status, 200, plain.text)
      assert.deepStrictEqual([plain.json.algorithm, plain.json.id], ["formatted", "D0-0001"])
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.live("templates that render plain numbers are refused next to segment or snowflake (API and CLI)", () =>
    Effect.gen(function*() {
      const server = yield* startServer(yield* TestDatabase.make)
      yield* workspaceWithKey(server, { name: "fmt" })
      const create = (json: Record<string, unknown>) =>
        server.request("POST", "/api/v1/admin/workspaces/fmt/biz-tags", { admin: true, json: { group: "g", ...json } })
      for (const [body, other] of [
        [{ name: "a", algorithm: "formatted", format_template: "{DC}{SEQ}", fallback: ["segment"] }, "segment"],
        [{ name: "b", algorithm: "snowflake", fallback: ["formatted"], format_template: "9{SEQ:6}" }, "snowflake"]
      ] as const) {
        const error = assertError(yield* create(body), 400, "IDGEN-COMMON-0001")
        assert.include(error.message, JSON.stringify(body.format_template))
        assert.include(error.message, other)
        assert.strictEqual(error.details.template, body.format_template)
      }
      // A non-digit literal keeps them apart; PATCH is held to the same rule.
      yield* createBizTag(server, "fmt", { group: "g", name: "c", algorithm: "formatted", format_template: "C{SEQ}", fallback: ["segment"] })
      const patched = yield* server.request("PATCH", "/api/v1/admin/workspaces/fmt/biz-tags/g/c", {
        admin: true,
        json: { format_template: "{WORKER}{SEQ}" }
      })
      assertError(patched, 400, "IDGEN-COMMON-0001")

      const cli = yield* idgen(
        ["tag", "create", "fmt/g/d", "--algorithm", "formatted", "--template", "{SEQ:8}", "--fallback", "snowflake"],
        { IDGEN_URL: server.baseUrl, IDGEN_ADMIN_TOKEN: ADMIN_TOKEN }
      )
      assert.strictEqual(cli.code, 1, cli.stdout + cli.stderr)
      assert.include(cli.stderr + cli.stdout, "IDGEN-COMMON-0001")
      assert.include(cli.stderr + cli.stdout, "\"{SEQ:8}\" renders plain numbers")
    }).pipe(Effect.scoped), { timeout: 120_000 })
})
