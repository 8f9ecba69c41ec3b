/**
 * How long the event loop keeps ready callbacks waiting (`perf_hooks.monitorEventLoopDelay`),
 * as metrics, plus a log line for every stall over `stallLogMillis` naming the work that was
 * running meanwhile.
 *
 * - `idgen_event_loop_delay_seconds` (histogram): Node samples the delay every
 *   `resolutionMillis`; once a second the samples of the past second are added to the
 *   histogram (from the monitor's percentile distribution, so per-second counts are exact and
 *   values as precise as its HDR buckets), and the monitor starts afresh.
 * - `idgen_event_loop_delay_max_seconds` (gauge): the longest delay within the last
 *   `maxWindowSeconds` — what a scrape right after a load run reads as that run's worst stall.
 * - `idgen_event_loop_stalls_total` (counter): stalls over `stallLogMillis`.
 * - `nodejs_eventloop_lag_seconds` and `nodejs_eventloop_lag_p99_seconds` (gauges): the mean
 *   and the 99th percentile of the past second, under prom-client's names for Node dashboards.
 * - `idgen_event_loop_busy_seconds_total` (counter): time the loop spent running callbacks
 *   (`performance.eventLoopUtilization`), so `rate()` is its utilisation over any window —
 *   what an idle node's periodic work costs, whatever it is.
 *
 * A stall is noticed by a fiber that wakes every `checkMillis` and finds itself late (one that
 * began before the node listened is the start's own: logged at debug, see `listening`). What
 * was running is named from `tracked`: periodic jobs wrap their tick in it, and the log line
 * lists the tracked work whose run overlapped the stall (or says that none did — then it was
 * request handling or garbage collection). Real time throughout (performance.now): a loop
 * delay is a property of the wall clock, not of Effect's `Clock`.
 */
import { Effect, Layer, Metric } from "effect"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"

export const resolutionMillis = 10
export const checkMillis = 20
export const stallLogMillis = 50
export const maxWindowSeconds = 10

export const delayBoundaries: ReadonlyArray<number> = [
  0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
]

export const delay = Metric.histogram("idgen_event_loop_delay_seconds", {
  description: `Event-loop delay: how late a timer sampling every ${resolutionMillis} ms ran (perf_hooks.monitorEventLoopDelay)`,
  boundaries: delayBoundaries
})
export const maxDelay = Metric.gauge("idgen_event_loop_delay_max_seconds", {
  description: `Longest event-loop delay within the last ${maxWindowSeconds} s`
})
export const lagMean = Metric.gauge("nodejs_eventloop_lag_seconds", {
  description: "Mean event-loop delay over the past second, in seconds"
})
export const lagP99 = Metric.gauge("nodejs_eventloop_lag_p99_seconds", {
  description: "99th percentile of the event-loop delay over the past second, in seconds"
})
export const busy = Metric.counter("idgen_event_loop_busy_seconds_total", {
  description: "Time the event loop spent running callbacks (performance.eventLoopUtilization); rate() is its utilisation",
  incremental: true
})
export const stalls = Metric.counter("idgen_event_loop_stalls_total", {
  description: `Event-loop stalls over ${stallLogMillis} ms (each is logged with the work that ran meanwhile)`,
  incremental: true
})

interface Run {
  readonly name: string
  readonly start: number
  end: number
}

/** The most recent tracked runs (a ring; a run still going has `end` NaN). */
const recent: Array<Run> = []
const RECENT = 32
let nextSlot = 0

/**
 * When this process's node began to listen (`listening`, called by `ports/BoundPorts.ts`). A
 * stall that began before is the start's own — loading and compiling modules, building the
 * layers — and is logged at debug: a warning there reads as a problem to a newcomer, and
 * says nothing about serving. (One node per process; a later one's start is warned of.)
 */
let listeningSince: number | undefined

export const listening = (): void => {
  listeningSince ??= performance.now()
}

/** Runs `effect` as `name` in the stall log's record of recent work (a few hundred ns). */
export const tracked = (name: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    const run: Run = { name, start: performance.now(), end: Number.NaN }
    recent[nextSlot] = run
    nextSlot = (nextSlot + 1) % RECENT
    return Effect.ensuring(effect, Effect.sync(() => (run.end = performance.now())))
  })

/** Tracked runs that overlapped [from, to], longest first: "name (12 ms)" or "name (running)". */
const overlapping = (from: number, to: number): Array<string> =>
  recent
    .filter((run) => run.start <= to && (Number.isNaN(run.end) || run.end >= from))
    .sort((a, b) => (Number.isNaN(b.end) ? to : b.end) - b.start - ((Number.isNaN(a.end) ? to : a.end) - a.start))
    .map((run) => `${run.name} (${Number.isNaN(run.end) ? "running" : `${(run.end - run.start).toFixed(1)} ms`})`)

export const layer: Layer.Layer<never> = Layer.effectDiscard(
  Effect.gen(function*() {
    const context = yield* Effect.context<never>()
    const monitor = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const histogram = monitorEventLoopDelay({ resolution: resolutionMillis })
        histogram.enable()
        return histogram
      }),
      (histogram) => Effect.sync(() => histogram.disable())
    )
    // On the page from the start, before the first second's samples.
    for (const metric of [delay, maxDelay, lagMean, lagP99, busy, stalls]) metric.valueUnsafe(context)
    let utilization = performance.eventLoopUtilization()
    const windowMax: Array<number> = Array.from({ length: maxWindowSeconds }, () => 0)
    let windowSlot = 0
    // The monitor's samples are the whole interval between two timer runs; the delay is what exceeds the resolution.
    const seconds = (nanos: number) => Math.max(0, nanos / 1e6 - resolutionMillis) / 1000

    const publish = () => {
      const count = monitor.count
      let previousCumulative = 0
      for (const [percentile, nanos] of monitor.percentiles) {
        const cumulative = Math.round((count * percentile) / 100)
        for (let i = previousCumulative; i < cumulative; i++) delay.updateUnsafe(seconds(nanos), context)
        previousCumulative = cumulative
      }
      windowMax[windowSlot] = count === 0 ? 0 : seconds(monitor.max)
      windowSlot = (windowSlot + 1) % maxWindowSeconds
      maxDelay.updateUnsafe(Math.max(...windowMax), context)
      lagMean.updateUnsafe(count === 0 ? 0 : seconds(monitor.mean), context)
      lagP99.updateUnsafe(count === 0 ? 0 : seconds(monitor.percentile(99)), context)
      monitor.reset()
      const now = performance.eventLoopUtilization()
      busy.updateUnsafe(performance.eventLoopUtilization(now, utilization).active / 1000, context)
      utilization = now
    }

    let lastCheck = performance.now()
    let lastPublish = lastCheck
    const check = Effect.suspend(() => {
      const now = performance.now()
      const late = now - lastCheck - checkMillis
      const from = lastCheck
      lastCheck = now
      if (now - lastPublish >= 1000) {
        lastPublish = now
        publish()
      }
      if (late <= stallLogMillis) return Effect.void
      stalls.updateUnsafe(1, context)
      const running = overlapping(from, now)
      const duringStart = listeningSince === undefined || from < listeningSince
      return (duringStart ? Effect.logDebug("event loop stalled during start-up") : Effect.logWarning("event loop stalled")).pipe(
        Effect.annotateLogs({
          stallMillis: Math.round(late),
          running: running.length === 0 ? "no tracked work (request handling or garbage collection)" : running.join(", ")
        })
      )
    })
    yield* check.pipe(
      Effect.andThen(Effect.sleep(checkMillis)),
      Effect.forever,
      Effect.withTracerEnabled(false),
      Effect.forkScoped
    )
  })
)
