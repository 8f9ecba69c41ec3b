/**
 * `npm run bench:tracing`: the cost of exporting traces on the HTTP hot path. Two idgen
 * servers on fresh stores, identical but for `OTEL_EXPORTER_OTLP_ENDPOINT` (pointing at an
 * in-process OTLP sink that accepts and discards spans), take the same autocannon load on
 * `POST /api/v1/generate` in alternating rounds; the result is the median over rounds of
 * (requests/s with tracing) / (requests/s without). Reports only; asserts nothing.
 *
 * Knobs: BENCH_TRACING_ROUNDS [5], BENCH_TRACING_SAMPLE_RATIO [1], BENCH_HTTP_CONNECTIONS [32], BENCH_HTTP_WARMUP_S [1],
 * BENCH_HTTP_DURATION_S [4], BENCH_STORE=embedded.
 */
import * as Fs from "node:fs"
import { createServer } from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { runNode } from "../lib/children.ts"
import { envNumber } from "../lib/measure.ts"
import { createDatabase, type ThrowawayDb } from "../lib/postgres.ts"
import { checkResponse, type IdgenServer, startIdgen } from "./idgen-server.ts"
import type { LoadResult, LoadSpec } from "./load.ts"

const BENCH = Path.resolve(import.meta.dirname, "..")
const ROOT = Path.resolve(BENCH, "..")
const RESULTS = Path.join(BENCH, "results")
Fs.mkdirSync(RESULTS, { recursive: true })
const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "idgen-bench-tracing-"))
const databases: Array<ThrowawayDb> = []
const log = (message: string) => process.stderr.write(`[bench:tracing] ${message}\n`)

const rounds = envNumber("BENCH_TRACING_ROUNDS", 5)
/** `tracing.sample_ratio` of the traced server (1: every request exported). */
const sampleRatio = envNumber("BENCH_TRACING_SAMPLE_RATIO", 1)
const settings = {
  connections: envNumber("BENCH_HTTP_CONNECTIONS", 32),
  warmupSeconds: envNumber("BENCH_HTTP_WARMUP_S", 1),
  durationSeconds: envNumber("BENCH_HTTP_DURATION_S", 4)
}

/** Accepts OTLP/HTTP exports and counts the spans (by counting span ids in the JSON). */
const startSink = async () => {
  let spans = 0
  let exports = 0
  const server = createServer((req, res) => {
    let text = ""
    req.on("data", (chunk: Buffer) => (text += chunk.toString()))
    req.on("end", () => {
      exports++
      spans += text.match(/"spanId"/g)?.length ?? 0
      res.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return { endpoint: `http://127.0.0.1:${port}`, stats: () => ({ spans, exports }), close: () => server.close() }
}

const start = async (name: string, env: NodeJS.ProcessEnv): Promise<IdgenServer> => {
  const dataDir = Path.join(tmp, name)
  Fs.mkdirSync(dataDir, { recursive: true })
  const db = process.env.BENCH_STORE === "embedded" ? undefined : createDatabase()
  if (db !== undefined) databases.push(db)
  return startIdgen({
    repoRoot: ROOT,
    databaseUrl: db?.url,
    dataDir,
    logFile: Path.join(RESULTS, `tracing-${name}.log`),
    readyTimeoutMs: 90_000,
    env
  })
}

const body = (server: IdgenServer) => JSON.stringify({ workspace: server.workspace, group: "bench", biz_tag: "tracing" })

const load = (server: IdgenServer) => {
  const spec: LoadSpec = {
    url: `${server.baseUrl}/api/v1/generate`,
    headers: { "x-api-key": server.apiKey },
    body: body(server),
    connections: settings.connections,
    pipelining: 1,
    warmupSeconds: settings.warmupSeconds,
    durationSeconds: settings.durationSeconds
  }
  return runNode<LoadResult>(Path.join(BENCH, "http/load.ts"), [JSON.stringify(spec)], {
    logFile: Path.join(RESULTS, "tracing-load.log"),
    timeoutMs: (settings.warmupSeconds + settings.durationSeconds) * 1000 + 60_000
  })
}

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const main = async () => {
  const sink = await startSink()
  const off = await start("off", {})
  const on = await start("on", { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint, OTEL_TRACES_SAMPLER_ARG: String(sampleRatio) })
  try {
    for (const server of [off, on]) {
      await checkResponse(`${server.baseUrl}/api/v1/generate`, { "x-api-key": server.apiKey }, body(server), 1)
    }
    const runs: Array<{ off: LoadResult; on: LoadResult }> = []
    for (let round = 0; round < rounds; round++) {
      log(`round ${round + 1}/${rounds}`)
      const first = round % 2 === 0 ? "off" : "on"
      const a = await load(first === "off" ? off : on)
      const b = await load(first === "off" ? on : off)
      runs.push(first === "off" ? { off: a, on: b } : { off: b, on: a })
    }
    const ratio = median(runs.map((r) => r.on.rps / r.off.rps))
    const summary = {
      measuredAt: new Date().toISOString(),
      loadAverage: Os.loadavg(),
      settings: { rounds, sampleRatio, ...settings },
      rpsOff: runs.map((r) => Math.round(r.off.rps)),
      rpsOn: runs.map((r) => Math.round(r.on.rps)),
      p99Off: runs.map((r) => r.off.p99),
      p99On: runs.map((r) => r.on.p99),
      ratio,
      spansExported: sink.stats().spans,
      exports: sink.stats().exports
    }
    Fs.writeFileSync(Path.join(RESULTS, `tracing-${sampleRatio}.json`), JSON.stringify(summary, null, 2) + "\n")
    process.stdout.write(
      `HTTP generate with tracing on (sample ratio ${sampleRatio}) / off: ${ratio.toFixed(3)} (median of ${rounds} paired rounds)\n` +
        `  off req/s: ${summary.rpsOff.join(", ")}\n  on  req/s: ${summary.rpsOn.join(", ")}\n` +
        `  spans exported: ${summary.spansExported} in ${summary.exports} exports\n`
    )
  } finally {
    await Promise.all([off.stop(), on.stop()])
    sink.close()
    for (const db of databases) db.drop()
    Fs.rmSync(tmp, { recursive: true, force: true })
  }
}

await main()
