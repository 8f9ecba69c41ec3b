/**
 * Burst drill: a cold segment biz_tag (just created, small step) gets a steady rate R of
 * single generates, then 50 × R IDs/s for 2 s as concurrent batch requests, launched on
 * schedule whether or not earlier ones were answered; a second never-used biz_tag gets the
 * same burst as its very first traffic. Expected: every request answered 200 with segment
 * IDs, no ID twice, no request anywhere near a hang (a liveness bound, not a performance
 * figure), no stack trace in the server log. Rates and latencies are printed for the README.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { pacedLoad, type Shot, shoot, type Target } from "../support/PacedLoad.ts"
import * as ServerProcess from "../support/ServerProcess.ts"
import { duplicatesIn } from "../support/SnowflakeCluster.ts"

const STEP = 100
const STEADY_MS = 3_000
/** The steady rate assumed for a biz_tag whose first traffic is the burst. */
const NOMINAL_RATE = 200
const BURST_MS = 2_000
const FACTOR = 50
/** IDs per burst request; the burst is FACTOR × R / BATCH requests per second. */
const BATCH = 10
/** Far above any answer time of a live server, far below the test timeout: only a hang exceeds it. */
const LIVENESS_BOUND_MS = 20_000

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

/** Steady load for `steadyMs` (none when 0), then the burst, on a fresh biz_tag `name`. */
const drill = (name: string, steadyMs: number) =>
  Effect.gen(function*() {
    const server = yield* ServerProcess.ServerProcess
    const apiKey = yield* ServerProcess.workspaceWithKey(server, { name })
    yield* ServerProcess.createBizTag(server, name, { group: "g", name: "cold", algorithm: "segment", step: STEP })
    const target: Target = { node: 0, server, apiKey, workspace: name, group: "g", tag: "cold" }

    // Steady: 4 callers × 50 requests/s of one ID each.
    const steady: Array<Shot> = []
    const steadyStart = Date.now()
    if (steadyMs > 0) {
      yield* pacedLoad([target], { callers: 4, intervalMs: 20, stop: () => Date.now() - steadyStart >= steadyMs, shots: steady })
    }
    const rate = steadyMs > 0 ? steady.reduce((n, s) => n + s.ids.length, 0) / ((Date.now() - steadyStart) / 1000) : NOMINAL_RATE

    // Burst: requests launched on schedule (catching up after a slow tick), never waiting for answers.
    const requestsPerSecond = (FACTOR * rate) / BATCH
    const planned = Math.round((requestsPerSecond * BURST_MS) / 1000)
    const fibers: Array<Fiber.Fiber<Shot>> = []
    const burstStart = Date.now()
    while (true) {
      const due = Math.min(planned, Math.ceil(((Date.now() - burstStart) / 1000) * requestsPerSecond))
      while (fibers.length < due) fibers.push(yield* Effect.forkChild(shoot(target, BATCH)))
      if (fibers.length === planned) break
      yield* ServerProcess.wait(5)
    }
    const launchedMs = Date.now() - burstStart
    const burst = yield* Fiber.joinAll(fibers)
    const burstMs = Math.max(...burst.map((s) => s.at)) - burstStart

    const shots = [...steady, ...burst]
    const failed = shots.filter((s) => s.status !== 200)
    assert.deepStrictEqual(
      failed.slice(0, 5).map((s) => s.violation ?? `${s.status} ${s.code}: ${s.message}`),
      [],
      `${failed.length} of ${shots.length} requests failed`
    )
    assert.isTrue(shots.every((s) => s.algorithm === "segment"), "an answer not from segment")
    const ids = shots.flatMap((s) => s.ids)
    assert.strictEqual(ids.length, steady.length + planned * BATCH)
    assert.strictEqual(duplicatesIn(ids), 0, "duplicate IDs")

    const latencies = burst.map((s) => s.at - s.sent).sort((a, b) => a - b)
    const max = latencies.at(-1)!
    assert.isBelow(max, LIVENESS_BOUND_MS, "a burst request took as long as a hang")
    const traces = server.output().split("\n").filter((line) => /^\s+at \S|uncaught|unhandled/i.test(line))
    assert.deepStrictEqual(traces.slice(0, 5), [], "stack traces or uncaught errors in the server log")

    console.log(
      `burst on a cold biz_tag (step ${STEP}): ` +
        (steadyMs > 0
          ? `steady ${rate.toFixed(0)} IDs/s (${steady.length} single requests in ${steadyMs} ms), then `
          : `no traffic before, R taken as ${rate} IDs/s; `) +
        `${planned} batch requests of ${BATCH} (${planned * BATCH} IDs, target ${(FACTOR * rate).toFixed(0)} IDs/s) ` +
        `launched over ${launchedMs} ms, all answered ${burstMs} ms after the first (${((planned * BATCH) / (burstMs / 1000)).toFixed(0)} IDs/s served); ` +
        `burst latency p50 ${percentile(latencies, 0.5)} ms, p99 ${percentile(latencies, 0.99)} ms, max ${max} ms; 0 failures, 0 duplicates`
    )
  })

describe("burst on a cold biz_tag", () => {
  layer(ServerProcess.ServerProcess.layer(), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect(`steady R, then ${FACTOR}× R for ${BURST_MS / 1000} s: all answered, unique, no hang`, () =>
      drill("burst", STEADY_MS), { timeout: 60_000 })

    it.effect(`${FACTOR}× R for ${BURST_MS / 1000} s as a never-used biz_tag's first traffic: all answered, unique, no hang`, () =>
      drill("first", 0), { timeout: 60_000 })
  })
})
