/**
 * The event-loop delay of a running server as metrics: the histogram and the windowed max
 * and the busy time are published, and a deliberate block — the whole process stopped (SIGSTOP) for 400 ms,
 * then continued — shows up in both, in the stall counter, and as a logged stall.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { eventually } from "../support/Eventually.ts"
import { metricValue } from "../support/SnowflakeCluster.ts"
import { ServerProcess, type ServerProcessShape, wait } from "../support/ServerProcess.ts"

const BLOCK_MILLIS = 400

interface Delay {
  readonly count: number
  readonly atMost250ms: number
  readonly max: number
  readonly stalls: number
}

const delay = (server: ServerProcessShape) => Effect.gen(function*() {
  const text = (yield* server.request("GET", "/metrics")).text
  return {
    count: metricValue(text, "idgen_event_loop_delay_seconds_count"),
    atMost250ms: metricValue(text, `idgen_event_loop_delay_seconds_bucket{le="0.25"}`),
    max: metricValue(text, "idgen_event_loop_delay_max_seconds"),
    stalls: metricValue(text, "idgen_event_loop_stalls_total")
  } satisfies Delay
})

layer(ServerProcess.layer({ env: { IDGEN_LOG_FORMAT: "logfmt" } }), { timeout: "120 seconds", excludeTestServices: true })("event-loop delay", (it) => {
  it.effect("the histogram, the max and the stall log move when the loop is blocked", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      // The max covers the last 10 s, the start's own stalls too: wait until they are out of
      // it, so that the block is what brings it to 250 ms.
      const before = yield* eventually(
        "published samples, the windowed max below 250 ms",
        30_000,
        Effect.map(delay(server), (d) => (d.count > 0 && d.max < 0.25 ? d : undefined))
      )
      const text = (yield* server.request("GET", "/metrics")).text
      assert.include(text, "# TYPE idgen_event_loop_delay_seconds histogram")
      assert.include(text, "# TYPE idgen_event_loop_delay_max_seconds gauge")
      // Busy time is published from the start and grows while the node works.
      const busyBefore = metricValue(text, "idgen_event_loop_busy_seconds_total")
      assert.isAbove(busyBefore, 0)

      const pid = server.pid()
      assert.isNumber(pid)
      process.kill(pid!, "SIGSTOP")
      yield* wait(BLOCK_MILLIS)
      process.kill(pid!, "SIGCONT")

      const after = yield* eventually(
        "the block in the histogram",
        10_000,
        Effect.map(delay(server), (d) => (d.count - d.atMost250ms > before.count - before.atMost250ms ? d : undefined))
      )
      assert.isAtLeast(after.max, 0.25)
      const busyAfter = metricValue((yield* server.request("GET", "/metrics")).text, "idgen_event_loop_busy_seconds_total")
      assert.isAbove(busyAfter, busyBefore)
      assert.isAbove(after.stalls, before.stalls)
      // Startup may have logged shorter stalls before; the block is the longest one.
      const logged = server.output().split("\n").filter((line) => line.includes(`message="event loop stalled"`))
      const millis = logged.map((line) => Number(/stallMillis=(\d+)/.exec(line)?.[1]))
      assert.isAtLeast(Math.max(...millis), 250, server.output().slice(-2000))
      assert.isTrue(logged.every((line) => line.includes("running=")), logged.join("\n"))
      assert.isTrue(logged.some((line) => line.includes("level=WARN") && Number(/stallMillis=(\d+)/.exec(line)?.[1]) >= 250), "the block is a warning")
    }))
})
