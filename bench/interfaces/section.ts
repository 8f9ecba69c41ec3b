/**
 * The interfaces part of `npm run bench`: batch-1000 IDs/s to one client over gRPC and
 * Effect RPC (WebSocket) next to HTTP batch (the same load generator, `idgen bench`'s,
 * for all three: one client process, `connections` calls in flight, alternating rounds),
 * and the IDs/s the client SDK delivers in-process with that server behind it.
 */
import * as Path from "node:path"
import type { Stats } from "@idgen/cli"
import { startIdgen } from "../http/idgen-server.ts"
import { runNode } from "../lib/children.ts"
import { envNumber } from "../lib/measure.ts"
import type { Check } from "../report.ts"

export interface Context {
  readonly repoRoot: string
  readonly results: string
  readonly store: (name: string) => { databaseUrl: string | undefined; dataDir: string; kind: string }
  readonly log: (message: string) => void
}

type LoadRun = Stats.Summary & { readonly loadCpuShare: number; readonly serverCpuShare: number | null }

interface SdkRaw {
  readonly stock: { readonly best: number; readonly runs: ReadonlyArray<number>; readonly ids: number }
  readonly sustained: {
    readonly idsPerSecond: number
    readonly ids: number
    readonly seconds: number
    readonly dryTakes: number
    readonly cpuShare: number
  }
  readonly orderViolations: number
  readonly refills: number
  readonly failedRefills: number
}

const settings = {
  rounds: envNumber("BENCH_IFACE_ROUNDS", 3),
  // 64 rather than 32: gRPC's client, the slowest, then never waits for the server
  // (32: ≈ 3.05 M IDs/s, client at ≈ 90 % of a core; 64: 3.45–4.07 M/s, 100 %).
  connections: envNumber("BENCH_IFACE_CONNECTIONS", 64),
  size: 1000,
  warmupSeconds: envNumber("BENCH_HTTP_WARMUP_S", 1),
  seconds: envNumber("BENCH_HTTP_DURATION_S", 4),
  sdkSeconds: envNumber("BENCH_SDK_SECONDS", 3)
}

const names = ["http", "grpc", "rpc"] as const
const metricOf = { http: "HTTP batch-1000 (same client)", grpc: "gRPC batch-1000", rpc: "Effect RPC batch-1000 (ws)" }

const best = (runs: ReadonlyArray<LoadRun>) => runs.reduce((a, b) => (b.idsPerSecond > a.idsPerSecond ? b : a))

export const interfacesBench = async (context: Context): Promise<{ checks: Array<Check>; raw: unknown; store: string }> => {
  const checks: Array<Check> = []
  const s = context.store("interfaces")
  context.log(`interfaces: starting idgen server (store: ${s.kind})`)
  const server = await startIdgen({
    repoRoot: context.repoRoot,
    databaseUrl: s.databaseUrl,
    dataDir: s.dataDir,
    logFile: Path.join(context.results, "interfaces-server.log"),
    readyTimeoutMs: envNumber("BENCH_READY_TIMEOUT_MS", 90_000)
  })
  const runs: Record<string, Array<LoadRun>> = { http: [], grpc: [], rpc: [] }
  let sdk: SdkRaw | undefined
  let sdkError: unknown
  try {
    const target = {
      server: server.baseUrl,
      grpc: `127.0.0.1:${server.grpcPort}`,
      apiKey: server.apiKey,
      workspace: server.workspace,
      group: "bench",
      bizTag: "iface-batch",
      size: settings.size,
      concurrency: settings.connections
    }
    for (let round = 0; round < settings.rounds; round++) {
      const order = round % 2 === 0 ? names : [...names].reverse()
      for (const name of order) {
        context.log(`interfaces: ${name} batch-${settings.size} (round ${round + 1}/${settings.rounds})`)
        runs[name]!.push(
          await runNode<LoadRun>(Path.join(import.meta.dirname, "load.ts"), [
            JSON.stringify({
              interface: name,
              target,
              serverPid: server.pid,
              warmupSeconds: settings.warmupSeconds,
              seconds: settings.seconds
            })
          ], {
            logFile: Path.join(context.results, "interfaces-load.log"),
            timeoutMs: (settings.warmupSeconds + settings.seconds) * 1000 + 60_000
          })
        )
      }
    }
    context.log("interfaces: client SDK delivered IDs/s")
    try {
      sdk = await runNode<SdkRaw>(Path.join(import.meta.dirname, "sdk.ts"), [
        JSON.stringify({
          server: server.baseUrl,
          apiKey: server.apiKey,
          tag: `${server.workspace}/bench/sdk`,
          seconds: settings.sdkSeconds,
          batchSize: 10_000,
          highWatermark: 1_000_000,
          concurrency: 4
        })
      ], { logFile: Path.join(context.results, "interfaces-sdk.log"), timeoutMs: 120_000 })
    } catch (error) {
      sdkError = error
    }
  } finally {
    await server.stop()
  }

  const http = best(runs.http!)
  for (const name of names) {
    const r = best(runs[name]!)
    const errors = runs[name]!.reduce((n, x) => n + x.errors, 0)
    const spread = runs[name]!.map((x) => x.idsPerSecond)
    checks.push({
      id: `interfaces.${name}-batch`,
      section: "interfaces",
      metric: metricOf[name],
      value: r.idsPerSecond,
      unit: "ids/s",
      runs: [Math.min(...spread), Math.max(...spread)],
      baseline: name === "http" ? null : { name: "HTTP batch", value: http.idsPerSecond },
      ratio: name === "http" ? null : r.idsPerSecond / http.idsPerSecond,
      target: "≥ 3 M IDs/s",
      verdict: errors === 0 && r.idsPerSecond >= 3e6 ? "PASS" : "MISS",
      latency: { p50: r.p50, p99: r.p99, baselineP50: http.p50, baselineP99: http.p99 },
      notes: [
        `${r.callsPerSecond.toFixed(0)} calls/s, ${settings.connections} in flight from one client process ` +
        `(client CPU ${(r.loadCpuShare * 100).toFixed(0)}% of a core` +
        (r.serverCpuShare === null ? ")" : `, server ${(r.serverCpuShare * 100).toFixed(0)}%)`) +
        (errors > 0 ? `; ${errors} errors — measurement invalid: ${r.firstError}` : "")
      ]
    })
  }
  if (sdk !== undefined) {
    checks.push({
      id: "sdk.delivered",
      section: "interfaces",
      metric: "SDK next() from local stock",
      value: sdk.stock.best,
      unit: "ids/s",
      runs: [Math.min(...sdk.stock.runs), Math.max(...sdk.stock.runs)],
      baseline: { name: "sustained", value: sdk.sustained.idsPerSecond },
      ratio: sdk.stock.best / sdk.sustained.idsPerSecond,
      target: "≥ 10 M IDs/s",
      verdict: sdk.orderViolations > 0 ? "MISS" : sdk.stock.best >= 1e7 ? "PASS" : "MISS",
      notes: [
        `takeSync over a full stock of ${sdk.stock.ids} IDs while the SDK refills in the background ` +
        `(batches of 10 000, 4 in flight); sustained for ${sdk.sustained.seconds.toFixed(1)} s at full speed ` +
        `(bounded by the server and the wire): ${(sdk.sustained.idsPerSecond / 1e6).toFixed(2)} M IDs/s, ` +
        `${sdk.sustained.dryTakes} dry takes, client CPU ${(sdk.sustained.cpuShare * 100).toFixed(0)}%; ` +
        `${sdk.orderViolations} order violations, ${sdk.failedRefills} failed refills`
      ]
    })
  } else {
    checks.push({
      id: "sdk.delivered",
      section: "interfaces",
      metric: "SDK next() from local stock",
      value: null,
      unit: "ids/s",
      baseline: null,
      ratio: null,
      target: "≥ 10 M IDs/s",
      verdict: "n/a",
      notes: [`not measured: ${sdkError instanceof Error ? sdkError.message : String(sdkError)}`]
    })
  }
  return { checks, raw: { settings, runs, sdk }, store: s.kind }
}
