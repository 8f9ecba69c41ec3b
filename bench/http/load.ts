/**
 * The load generator, run as its own process (never inside a server's process): one
 * autocannon warm-up, then one measured autocannon run with the same settings.
 *
 *   node bench/http/load.ts '<json LoadSpec>'   → BENCH_RESULT LoadResult
 */
import { createRequire } from "node:module"
import { cpuMeter } from "../lib/measure.ts"
import { emit } from "../lib/protocol.ts"

export interface LoadSpec {
  readonly url: string
  readonly headers: Record<string, string>
  readonly body: string
  readonly connections: number
  readonly pipelining: number
  readonly warmupSeconds: number
  readonly durationSeconds: number
  /** Requests per second over all connections (autocannon's overallRate, `-R`); unset: as fast as answered. */
  readonly rate?: number
}

export interface LoadResult {
  /** Mean requests per second over the measured run. */
  readonly rps: number
  readonly requests: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
  readonly latencyMean: number
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
  readonly bytesPerSecond: number
  readonly seconds: number
  /** CPU share of the load generator during the measured run (1 = a whole core). */
  readonly loadCpuShare: number
}

interface AutocannonResult {
  readonly requests: { readonly average: number; readonly total: number }
  readonly latency: {
    readonly p50: number
    readonly p90: number
    readonly p99: number
    readonly max: number
    readonly average: number
  }
  readonly throughput: { readonly average: number }
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
  readonly duration: number
}

type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon

const spec = JSON.parse(process.argv[2] ?? "{}") as LoadSpec
const options = (duration: number) => ({
  url: spec.url,
  method: "POST",
  headers: { "content-type": "application/json", ...spec.headers },
  body: spec.body,
  connections: spec.connections,
  pipelining: spec.pipelining,
  duration,
  timeout: 10,
  ...(spec.rate === undefined ? {} : { overallRate: spec.rate })
})

if (spec.warmupSeconds > 0) await autocannon(options(spec.warmupSeconds))
const cpu = cpuMeter()
const r = await autocannon(options(spec.durationSeconds))
const loadCpuShare = cpu()
const result: LoadResult = {
  rps: r.requests.total / r.duration,
  requests: r.requests.total,
  p50: r.latency.p50,
  p90: r.latency.p90,
  p99: r.latency.p99,
  max: r.latency.max,
  latencyMean: r.latency.average,
  non2xx: r.non2xx,
  errors: r.errors,
  timeouts: r.timeouts,
  bytesPerSecond: r.throughput.average,
  seconds: r.duration,
  loadCpuShare
}
emit(result)
