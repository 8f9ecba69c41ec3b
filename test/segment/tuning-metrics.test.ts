/**
 * Run-time tuning of a running node, seen where operators see it: `PATCH
 * /api/v1/admin/config` (preload threshold, L1 settings) and `PATCH .../biz-tags/{group}/{name}`
 * (step) reach the biz_tag's running actor, and `/metrics` shows the per-biz_tag step,
 * preload threshold, ring fill and capacity, L1 hits, L2 fallbacks, waits and timeouts.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { createBizTag, ServerProcess, workspaceWithKey } from "../support/ServerProcess.ts"
import { eventually } from "../support/Eventually.ts"

const labels = `{workspace="tune",group="g",biz_tag="t"}`
const series = (text: string, name: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `) || l.startsWith(`${name}{`) && l.includes(`biz_tag="t"`))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1))
}

layer(ServerProcess.layer(), { timeout: "120 seconds", excludeTestServices: true })("segment tuning over HTTP", (it) => {
  it.effect("threshold, step and L1 changes reach the running biz_tag and show in /metrics", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "tune" })
      // Operator-created: auto-created biz_tags get no series of their own.
      yield* createBizTag(server, "tune", { group: "g", name: "t", algorithm: "segment" })
      const json = { workspace: "tune", group: "g", biz_tag: "t" }
      const batch = (size: number) =>
        Effect.map(server.request("POST", "/api/v1/generate/batch", { apiKey, json: { ...json, size } }), (r) => {
          assert.strictEqual(r.status, 200, r.text)
          return r.json.ids as Array<string>
        })
      const metrics = Effect.map(server.request("GET", "/metrics"), (r) => r.text)
      yield* batch(10)
      const before = yield* metrics
      assert.strictEqual(series(before, "idgen_segment_preload_threshold"), 0.1)
      assert.strictEqual(series(before, "idgen_segment_l1_ring_capacity"), 0, "a cold biz_tag has no ring")
      for (const name of ["idgen_segment_l1_ring_ids", "idgen_segment_l1_hits_total", "idgen_segment_l2_fallbacks_total", "idgen_segment_wait_timeouts_total", "idgen_segment_buffer_waits_total", "idgen_segment_step"]) {
        assert.isDefined(series(before, name), name)
      }

      const patched = yield* server.request("PATCH", "/api/v1/admin/config", {
        admin: true,
        json: { segment: { preload_threshold: 0.5, l1_hot_ids_per_second: 0, l1_capacity: 512 } }
      })
      assert.strictEqual(patched.status, 200, patched.text)
      const step = yield* server.request("PATCH", "/api/v1/admin/workspaces/tune/biz-tags/g/t", {
        admin: true,
        json: { step: 7000 }
      })
      assert.strictEqual(step.status, 200, step.text)

      // Keep taking until the next load picked both up (the resolver refreshes the record within 5 s).
      const seen: Array<string> = []
      yield* eventually(
        "threshold, step and ring in /metrics",
        30_000,
        Effect.gen(function*() {
          seen.push(...(yield* batch(500)))
          const text = yield* metrics
          return series(text, "idgen_segment_preload_threshold") === 0.5 &&
            (series(text, "idgen_segment_step") ?? 0) >= 7000 &&
            series(text, "idgen_segment_l1_ring_capacity") === 512
        }),
        10
      )
      yield* eventually("L1 hits", 10_000, Effect.gen(function*() {
        seen.push(...(yield* batch(100)))
        return (series(yield* metrics, "idgen_segment_l1_hits_total") ?? 0) > 0
      }), 10)
      assert.strictEqual(new Set(seen).size, seen.length)
    }))
})
