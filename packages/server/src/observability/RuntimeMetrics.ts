/**
 * What every Node service exposes, under the names of the Prometheus client libraries
 * (`process_*` as every client library does, `nodejs_*` as prom-client does), so stock
 * dashboards and alerts for Node processes work unchanged; plus `idgen_build_info`.
 *
 * Read at scrape time (one `process.cpuUsage()`, `memoryUsage()`, V8 heap statistics, a
 * readdir of `/proc/self/fd`), except the GC pauses, which a PerformanceObserver adds to a
 * histogram as V8 reports them. The event-loop lag gauges are set by `EventLoopDelay.ts`,
 * which owns the loop-delay monitor.
 */
import { Clock, Effect, Layer, Metric } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { constants, type PerformanceEntry, PerformanceObserver } from "node:perf_hooks"
import { getHeapStatistics } from "node:v8"
import * as ScrapeTime from "./ScrapeTime.ts"

const cpuUser = Metric.counter("process_cpu_user_seconds_total", { description: "User CPU time spent by the process, in seconds" })
const cpuSystem = Metric.counter("process_cpu_system_seconds_total", {
  description: "System CPU time spent by the process, in seconds"
})
const cpuTotal = Metric.counter("process_cpu_seconds_total", { description: "User and system CPU time spent by the process, in seconds" })
const startTime = Metric.gauge("process_start_time_seconds", { description: "Start time of the process since the Unix epoch, in seconds" })
const residentMemory = Metric.gauge("process_resident_memory_bytes", { description: "Resident memory size, in bytes" })
const openFds = Metric.gauge("process_open_fds", { description: "Open file descriptors" })
const maxFds = Metric.gauge("process_max_fds", { description: "Limit on open file descriptors (soft RLIMIT_NOFILE)" })

const heapTotal = Metric.gauge("nodejs_heap_size_total_bytes", { description: "V8 heap size, in bytes" })
const heapUsed = Metric.gauge("nodejs_heap_size_used_bytes", { description: "V8 heap in use, in bytes" })
const heapLimit = Metric.gauge("nodejs_heap_size_limit_bytes", { description: "V8 heap size limit, in bytes" })
const externalMemory = Metric.gauge("nodejs_external_memory_bytes", {
  description: "Memory of C++ objects bound to JavaScript objects (buffers included), in bytes"
})
const activeResources = Metric.gauge("nodejs_active_resources", {
  description: "Resources keeping the event loop alive: open handles (sockets, servers, timers, files) and pending requests"
})

type GcKind = "minor" | "major" | "incremental" | "weakcb"
const gcKinds: ReadonlyArray<readonly [number, GcKind]> = [
  [constants.NODE_PERFORMANCE_GC_MINOR, "minor"],
  [constants.NODE_PERFORMANCE_GC_MAJOR, "major"],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, "incremental"],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, "weakcb"]
]
const gcDuration = (kind: GcKind) =>
  Metric.histogram("nodejs_gc_duration_seconds", {
    description: "Garbage collection pauses by kind, in seconds",
    boundaries: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    attributes: { kind }
  })

/** The package's version, and Node's: one series of value 1, for joins and "which version runs where". */
const buildInfo = Metric.gauge("idgen_build_info", {
  description: "Always 1; its labels say which idgen version runs on which Node version",
  attributes: {
    version: (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version,
    node_version: process.versions.node
  }
})

/** `/proc/self/fd` exists on Linux only; elsewhere the descriptor series are left out. */
const procFds = "/proc/self/fd"
const softFdLimit = (): number | undefined => {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))
    return line === null ? undefined : Number(line[1])
  } catch {
    return undefined
  }
}

export const layer: Layer.Layer<never> = Layer.effectDiscard(
  Effect.gen(function*() {
    const context = yield* Effect.context<never>()
    yield* ScrapeTime.counter(cpuUser, () => process.cpuUsage().user / 1e6)
    yield* ScrapeTime.counter(cpuSystem, () => process.cpuUsage().system / 1e6)
    yield* ScrapeTime.counter(cpuTotal, () => {
      const usage = process.cpuUsage()
      return (usage.user + usage.system) / 1e6
    })
    yield* Metric.update(startTime, Math.round(((yield* Clock.currentTimeMillis) - performance.now()) / 1000))
    yield* ScrapeTime.gauge(residentMemory, () => process.memoryUsage.rss())
    const limit = softFdLimit()
    if (limit !== undefined) {
      yield* Metric.update(maxFds, limit)
      yield* ScrapeTime.gauge(openFds, () => readdirSync(procFds).length)
    }
    yield* ScrapeTime.gauge(heapTotal, () => process.memoryUsage().heapTotal)
    yield* ScrapeTime.gauge(heapUsed, () => process.memoryUsage().heapUsed)
    yield* ScrapeTime.gauge(heapLimit, () => getHeapStatistics().heap_size_limit)
    yield* ScrapeTime.gauge(externalMemory, () => process.memoryUsage().external)
    yield* ScrapeTime.gauge(activeResources, () => process.getActiveResourcesInfo().length)
    yield* Metric.update(buildInfo, 1)

    const byKind = new Map(gcKinds.map(([code, kind]) => [code, gcDuration(kind)] as const))
    for (const histogram of byKind.values()) histogram.valueUnsafe(context)
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        const observer = new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) {
            const kind = (entry as PerformanceEntry & { readonly detail?: { readonly kind?: number } }).detail?.kind
            const histogram = kind === undefined ? undefined : byKind.get(kind)
            histogram?.updateUnsafe(entry.duration / 1000, context)
          }
        })
        observer.observe({ entryTypes: ["gc"] })
        return observer
      }),
      (observer) => Effect.sync(() => observer.disconnect())
    )
  })
)
