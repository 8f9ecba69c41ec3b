/**
 * What is on `/metrics` and how much of it: every series the README's metric table names is
 * there from a fresh node's start (per-biz_tag ones from an operator-created biz_tag's first
 * use), and biz_tags that clients create by naming them add no series — the page stays the
 * size it had after 2000 of them.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { gzipSync } from "node:zlib"
import { eventually } from "../support/Eventually.ts"
import { createBizTag, ServerProcess, workspaceWithKey } from "../support/ServerProcess.ts"

interface Row {
  readonly names: ReadonlyArray<string>
  readonly perBizTag: boolean
  readonly tlsOnly: boolean
}

/** The README's metric table: each row's metric names (`_suffix` continues the previous name). */
const readmeRows = (): ReadonlyArray<Row> => {
  const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8")
  const start = readme.indexOf("| metric | type | labels | what |")
  assert.isAtLeast(start, 0, "README has the metric table")
  const rows: Array<Row> = []
  for (const line of readme.slice(start).split("\n").slice(2)) {
    if (!line.startsWith("|")) break
    const [, metric = "", , labels = "", what = ""] = line.split("|")
    const names: Array<string> = []
    for (const [, name] of metric.matchAll(/`([a-z0-9_*]+)`/g)) {
      names.push(name!.startsWith("_") ? names[names.length - 1]! + name : name!)
    }
    rows.push({ names, perBizTag: labels.includes("biz_tag triple"), tlsOnly: what.includes("only with TLS") })
  }
  return rows
}

const families = (text: string) => new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!))

const missingFrom = (text: string, names: ReadonlyArray<string>) => {
  const present = families(text)
  return names.filter((name) =>
    name.endsWith("*") ? ![...present].some((family) => family.startsWith(name.slice(0, -1))) : !present.has(name)
  )
}

const size = (text: string) => ({
  lines: text.split("\n").length - 1,
  bytes: Buffer.byteLength(text),
  gzip: gzipSync(text).length
})

layer(ServerProcess.layer(), { timeout: "400 seconds", excludeTestServices: true })("/metrics contents and size", (it) => {
  it.effect("a fresh node has every series of the README's table; the per-biz_tag ones come with a biz_tag's first use", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const rows = readmeRows()
      assert.isAbove(rows.length, 20)
      const fresh = (yield* server.request("GET", "/metrics")).text
      console.log(`/metrics of a fresh node: ${JSON.stringify(size(fresh))}`)
      const always = rows.filter((row) => !row.perBizTag && !row.tlsOnly).flatMap((row) => row.names)
      assert.deepStrictEqual(missingFrom(fresh, always), [], "series of the README missing on a fresh node")

      const apiKey = yield* workspaceWithKey(server, { name: "shop" })
      yield* createBizTag(server, "shop", { group: "g", name: "orders", algorithm: "segment" })
      const id = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        json: { workspace: "shop", group: "g", biz_tag: "orders" }
      })
      assert.strictEqual(id.status, 200, id.text)
      const perBizTag = rows.filter((row) => row.perBizTag).flatMap((row) => row.names)
      assert.isAbove(perBizTag.length, 5)
      // The range gauges arrive with the refill's read of the row's range.
      const used = yield* eventually(
        "every per-biz_tag series of the README",
        10_000,
        Effect.map(server.request("GET", "/metrics"), (res) => (missingFrom(res.text, perBizTag).length === 0 ? res.text : undefined))
      )
      assert.include(used, `idgen_segment_loads_total{workspace="shop",group="g",biz_tag="orders"} 1`)
      console.log(`/metrics with one operator-created biz_tag in use: ${JSON.stringify(size(used))}`)
    }))

  it.effect("2000 auto-created biz_tags add no series: the page keeps its size", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const tags = 2000
      const apiKey = yield* workspaceWithKey(server, { name: "crowd", max_auto_biz_tags: tags })
      // One auto-created biz_tag first, so the series its requests use exist in the baseline.
      const first = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        json: { workspace: "crowd", group: "g", biz_tag: "t0" }
      })
      assert.strictEqual(first.status, 200, first.text)
      const before = (yield* server.request("GET", "/metrics")).text

      const statuses = yield* Effect.forEach(
        Array.from({ length: tags - 1 }, (_, i) => `t${i + 1}`),
        (bizTag) =>
          Effect.map(
            server.request("POST", "/api/v1/generate", { apiKey, json: { workspace: "crowd", group: "g", biz_tag: bizTag } }),
            (res) => res.status
          ),
        { concurrency: 16 }
      )
      assert.deepStrictEqual(statuses.filter((status) => status !== 200), [])

      const after = (yield* server.request("GET", "/metrics")).text
      console.log(`/metrics before and after ${tags} auto-created biz_tags: ${JSON.stringify(size(before))} → ${JSON.stringify(size(after))}`)
      assert.match(after, new RegExp(`^idgen_segment_aggregated_biz_tags ${tags}$`, "m"))
      assert.notInclude(after, `workspace="crowd"`)
      // Values change (counters, CPU), series do not: the same lines, a few bytes apart.
      assert.strictEqual(size(after).lines, size(before).lines)
      assert.isBelow(Math.abs(size(after).bytes - size(before).bytes), 2048)
      assert.isBelow(size(after).bytes, 64 * 1024)
    }), { timeout: 300_000 })
})
