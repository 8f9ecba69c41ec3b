/**
 * `npm run bench`: in-process take rates and HTTP throughput of idgen side by side with
 * their baselines, as one table plus `bench/results/latest.json`. Reports only; asserts
 * nothing (the exit code is 0 unless the bench itself breaks).
 *
 * Every measurement runs in its own process: in-process benches one at a time, and for
 * HTTP the server under test, the bare node:http baseline and the autocannon load
 * generator each in a separate process. Environment knobs (defaults in brackets):
 * BENCH_ONLY=inprocess|http|tail|workers|interfaces|allocations|memory|startup, BENCH_STORE=postgres|embedded [postgres when reachable],
 * BENCH_ROUNDS [10], BENCH_ROUND_MS [300], BENCH_SNOWFLAKE_ROUNDS [3], BENCH_SNOWFLAKE_ROUND_MS [2000],
 * BENCH_HTTP_ROUNDS [3], BENCH_HTTP_CONNECTIONS [32], BENCH_HTTP_PIPELINING [1],
 * BENCH_HTTP_WARMUP_S [1], BENCH_HTTP_DURATION_S [4], BENCH_READY_TIMEOUT_MS [90000],
 * BENCH_STARTUP_ROUNDS [5], BENCH_STARTUP_BEFORE [unset: a checkout to measure beside this tree].
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { startBare as startBareServer } from "./http/bare.ts"
import { checkResponse, type IdgenServer, startIdgen } from "./http/idgen-server.ts"
import type { LoadResult, LoadSpec } from "./http/load.ts"
import { runNode, type Started, NODE } from "./lib/children.ts"
import { envNumber, pairedRatio, type Series } from "./lib/measure.ts"
import { interfacesBench } from "./interfaces/section.ts"
import { allocationsBench } from "./segment/allocations.ts"
import { memoryBench } from "./http/memory.ts"
import { tailBench } from "./http/tail.ts"
import { startupBench } from "./startup/startup.ts"
import { type Target, workersBench } from "./http/workers.ts"
import { createDatabase, type ThrowawayDb } from "./lib/postgres.ts"
import { type Check, table, writeJson } from "./report.ts"

const BENCH = import.meta.dirname
const ROOT = Path.resolve(BENCH, "..")
const RESULTS = Path.join(BENCH, "results")
Fs.mkdirSync(RESULTS, { recursive: true })
for (const file of Fs.readdirSync(RESULTS)) if (file.endsWith(".log")) Fs.rmSync(Path.join(RESULTS, file))
const loadAtStart = Os.loadavg()
const only = process.env.BENCH_ONLY
const started = new Date()
const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "idgen-bench-"))
const databases: Array<ThrowawayDb> = []

const cleanup = () => {
  for (const db of databases) db.drop()
  databases.length = 0
  Fs.rmSync(tmp, { recursive: true, force: true })
}
process.on("exit", cleanup)

/** A fresh store of one kind: a throw-away database (undefined when no PostgreSQL answers), or a temp data dir. */
const storeOfKind = (name: string, kind: "embedded" | "postgres") => {
  const dataDir = Path.join(tmp, name)
  Fs.mkdirSync(dataDir, { recursive: true })
  if (kind === "embedded") return { databaseUrl: undefined, dataDir, kind: "embedded (PGlite)" }
  const db = createDatabase()
  if (db === undefined) return undefined
  databases.push(db)
  return { databaseUrl: db.url, dataDir, kind: `postgresql (${db.name})` }
}

/** A fresh store for one consumer: PostgreSQL when one answers (unless BENCH_STORE=embedded), else embedded. */
const store = (name: string): { databaseUrl: string | undefined; dataDir: string; kind: string } => {
  if (process.env.BENCH_STORE !== "embedded") {
    const postgres = storeOfKind(name, "postgres")
    if (postgres !== undefined) return postgres
    if (process.env.BENCH_STORE === "postgres") throw new Error("BENCH_STORE=postgres but no PostgreSQL answers")
  }
  return storeOfKind(name, "embedded")!
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`)
const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error))

// ---------------------------------------------------------------------------------------
// In-process

interface SegmentRaw {
  readonly store: string
  readonly series: Record<string, Series>
  readonly finalStep: { numeric: number; string: number }
  readonly slowTakes: { numeric: number; string: number; l1: number; l2: number }
  readonly l1: { capacity: number; chunk: number; l1Hits: number; l2Fallbacks: number; waits: number; timeouts: number }
}
interface SnowflakeRaw {
  readonly cap: number
  readonly idgen: Series & { issued: number; duplicates: number; duplicatesExact: boolean; orderViolations: number }
  readonly sapphire: Series & { duplicates: number; capacityReached: boolean }
}
interface UuidRaw {
  readonly series: Record<string, Series>
}

const checks: Array<Check> = []
const raw: Record<string, unknown> = {}
const stores: Record<string, string> = {}

const spread = (s: Series): readonly [number, number] => [s.min, s.best]
const stalls = (s: Series) => s.runs.reduce((n, r) => n + r.stalls, 0)
/** CPU share of the run that gave a series its best rate. */
const bestShare = (s: Series) => s.runs.find((r) => r.rate === s.best)?.cpuShare ?? 1
const medianShare = (s: Series) => {
  const xs = s.runs.map((r) => r.cpuShare).sort((a, b) => a - b)
  return xs[xs.length >> 1] ?? 1
}
/** PASS, MISS, or MISS? when the deciding runs were starved of CPU. */
const verdict = (pass: boolean, share: number): Check["verdict"] => (pass ? "PASS" : share < 0.9 ? "MISS?" : "MISS")

/** A note when some run of these series got clearly less than a whole core. */
const cpuNote = (series: ReadonlyArray<Series>): Array<string> => {
  const shares = series.flatMap((s) => s.runs.map((r) => r.cpuShare))
  const worst = Math.min(...shares)
  return worst < 0.9
    ? [`busy machine: a run got only ${(worst * 100).toFixed(0)}% of a core (min–max spread is mostly noise)`]
    : []
}

const failed = (id: string, section: Check["section"], metric: string, target: string, error: unknown): Check => ({
  id,
  section,
  metric,
  value: null,
  unit: "ops/s",
  baseline: null,
  ratio: null,
  target,
  verdict: "n/a",
  notes: [`not measured: ${errorText(error)}`]
})

const segmentBench = async () => {
  const s = store("segment")
  stores.segment = s.kind
  log(`segment (store: ${s.kind})`)
  try {
    const r = await runNode<SegmentRaw>(Path.join(BENCH, "inprocess/segment.ts"), [], {
      env: { IDGEN_DATABASE_URL: s.databaseUrl ?? "", IDGEN_DATA_DIR: s.dataDir, IDGEN_NODE_NAME: "bench" },
      logFile: Path.join(RESULTS, "segment.log")
    })
    raw.segment = r
    const num = r.series["segment takeOneNow()"]!
    const numBase = r.series["++n"]!
    const str = r.series["String(segment takeOneNow())"]!
    const strBase = r.series["String(++n)"]!
    const big = r.series["String(++n) from 1e10"]!
    checks.push({
      id: "segment.number",
      section: "in-process",
      metric: "segment takeOneNow() (number)",
      value: num.best,
      unit: "ops/s",
      runs: spread(num),
      baseline: { name: "++n", value: numBase.best },
      ratio: pairedRatio(num, numBase),
      target: "(info)",
      verdict: "info",
      notes: []
    })
    const ratio = pairedRatio(str, strBase)
    checks.push({
      id: "segment.string",
      section: "in-process",
      metric: "segment String(takeOneNow())",
      value: str.best,
      unit: "ops/s",
      runs: spread(str),
      baseline: { name: "String(++n)", value: strBase.best },
      ratio,
      target: "≥ 0.90× base",
      verdict: verdict(ratio >= 0.9, Math.min(medianShare(str), medianShare(strBase))),
      notes: [
        `store ${s.kind}; refills measured: dry takes via actor.take(1): numeric ${r.slowTakes.numeric}, ` +
        `string ${r.slowTakes.string}; short chunks ${stalls(num) + stalls(str)}; ` +
        `final step ${r.finalStep.numeric} / ${r.finalStep.string}`,
        `String(++n) above 1e10 (datacenters 1–7 ranges): ${(big.best / 1e6).toFixed(1)} M/s = ` +
        `${pairedRatio(big, strBase).toFixed(2)}× String(++n) from 0`,
        ...cpuNote([num, numBase, str, strBase])
      ]
    })
    const l1 = r.series["L1 ring takeOneNow()"]!
    const l2 = r.series["L2 takeOneNow()"]!
    const l1Ratio = pairedRatio(l1, l2)
    const served = r.l1.l1Hits + r.l1.l2Fallbacks
    checks.push({
      id: "segment.l1",
      section: "in-process",
      metric: "L1 ring takeOneNow() (number)",
      value: l1.best,
      unit: "ops/s",
      runs: spread(l1),
      baseline: { name: "L2-only takeOneNow()", value: l2.best },
      ratio: l1Ratio,
      target: "≥ 0.90× base",
      verdict: verdict(l1Ratio >= 0.9, Math.min(medianShare(l1), medianShare(l2))),
      notes: [
        `ring ${r.l1.capacity} slots, chunks of ${r.l1.chunk} with a yield between (the ring refills asynchronously); ` +
        `${served === 0 ? 0 : ((100 * r.l1.l1Hits) / served).toFixed(1)}% of numbers from the ring ` +
        `(${r.l1.l1Hits} hits, ${r.l1.l2Fallbacks} L2 fallbacks); takes that waited for a refill ${r.l1.waits} ` +
        `(dry chunks ${r.slowTakes.l1} vs ${r.slowTakes.l2} L2-only), timeouts ${r.l1.timeouts}`,
        `L1 vs ++n: ${pairedRatio(l1, numBase).toFixed(2)}×`,
        ...cpuNote([l1, l2])
      ]
    })
  } catch (error) {
    checks.push(failed("segment.string", "in-process", "segment String(takeOneNow())", "≥ 0.90× base", error))
  }
}

const snowflakeBench = async () => {
  log("snowflake")
  try {
    const r = await runNode<SnowflakeRaw>(Path.join(BENCH, "inprocess/snowflake.ts"), [], {
      logFile: Path.join(RESULTS, "snowflake.log")
    })
    raw.snowflake = r
    const ratio = r.idgen.best / r.cap
    const ok = ratio >= 0.97 && r.idgen.duplicates === 0 && r.idgen.orderViolations === 0
    checks.push({
      id: "snowflake.sustained",
      section: "in-process",
      metric: `snowflake next(1000), ${envNumber("BENCH_SNOWFLAKE_ROUND_MS", 2000) / 1000} s`,
      value: r.idgen.best,
      unit: "ids/s",
      runs: spread(r.idgen),
      baseline: { name: "cap 1024/ms", value: r.cap },
      ratio,
      target: "≥ 0.97× cap, 0 dup",
      verdict: r.idgen.duplicates > 0 || r.idgen.orderViolations > 0 ? "MISS" : verdict(ok, bestShare(r.idgen)),
      notes: [
        `${r.idgen.duplicatesExact ? "" : "≥ "}${r.idgen.duplicates} duplicates, ${r.idgen.orderViolations} ` +
        `order violations among all ${r.idgen.issued} IDs of the run (each compared with its predecessor; ` +
        `strictly increasing ⇒ the duplicate count is exact); ` +
        `CPU share per window ${r.idgen.runs.map((x) => `${(x.cpuShare * 100).toFixed(0)}%`).join(" ")}`,
        ...cpuNote([r.idgen])
      ]
    })
    checks.push({
      id: "snowflake.vs-sapphire",
      section: "in-process",
      metric: `snowflake vs @sapphire generate()`,
      value: r.idgen.best,
      unit: "ids/s",
      runs: spread(r.sapphire),
      baseline: { name: `sapphire (${r.sapphire.duplicates} dup)`, value: r.sapphire.best },
      ratio: r.idgen.best / r.sapphire.best,
      target: "(info)",
      verdict: "info",
      notes: [
        `@sapphire/snowflake: ${r.sapphire.duplicates} duplicates among ` +
        `${r.sapphire.runs.reduce((n, x) => n + x.ops, 0)} IDs (12-bit increment wraps, no wait); ` +
        `runs column = sapphire` + (r.sapphire.capacityReached ? "; buffer full, rounds cut short" : "")
      ]
    })
  } catch (error) {
    checks.push(failed("snowflake.sustained", "in-process", "snowflake next(1000)", "≥ 0.97× cap, 0 dup", error))
  }
}

const uuidBench = async () => {
  log("uuid v7")
  try {
    const r = await runNode<UuidRaw>(Path.join(BENCH, "inprocess/uuid.ts"), [], {
      logFile: Path.join(RESULTS, "uuid.log")
    })
    raw.uuid = r
    const base = r.series["uuid.v7()"]!
    const rows: Array<[string, string, string]> = [
      ["uuid.core", "uuid v7 core next()", "core UuidV7Generator.next"],
      ["uuid.server-single", "uuid v7 server v7(1)", "server UuidGenerator.v7(1)"],
      ["uuid.server-batch", "uuid v7 server v7(1000)", "server UuidGenerator.v7(1000)"]
    ]
    for (const [id, metric, name] of rows) {
      const s = r.series[name]!
      checks.push({
        id,
        section: "in-process",
        metric,
        value: s.best,
        unit: "ids/s",
        runs: spread(s),
        baseline: { name: "uuid.v7()", value: base.best },
        ratio: pairedRatio(s, base),
        target: "≥ 2 M/s",
        verdict: verdict(s.best >= 2e6, bestShare(s)),
        notes: cpuNote([s, base])
      })
    }
  } catch (error) {
    checks.push(failed("uuid.core", "in-process", "uuid v7", "≥ 2 M/s", error))
  }
}

// ---------------------------------------------------------------------------------------
// HTTP

const http = {
  rounds: envNumber("BENCH_HTTP_ROUNDS", 3),
  connections: envNumber("BENCH_HTTP_CONNECTIONS", 32),
  pipelining: envNumber("BENCH_HTTP_PIPELINING", 1),
  warmupSeconds: envNumber("BENCH_HTTP_WARMUP_S", 1),
  durationSeconds: envNumber("BENCH_HTTP_DURATION_S", 4)
}


/**
 * CPU seconds (user + system) a process and its children (a cluster's workers) have used
 * so far, from /proc (Linux).
 */
const cpuSeconds = (pid: number): number | undefined => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    // Fields 14 and 15 of stat(5) (utime, stime), counted from the state field (3).
    const own = (Number(fields[11]) + Number(fields[12])) / 100
    const children = Fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter((x) => x !== "")
    return children.reduce((sum, child) => sum + (cpuSeconds(Number(child)) ?? 0), own)
  } catch {
    return undefined
  }
}

export interface HttpRun extends LoadResult {
  /** CPU share of the server process over the warm-up and the measured run. */
  readonly serverCpuShare: number | null
}

const scenarios = [
  { id: "single", path: "/api/v1/generate", bizTag: "http-single", idsPerRequest: 1 },
  { id: "batch", path: "/api/v1/generate/batch", bizTag: "http-batch", idsPerRequest: 1000 }
] as const

const bodyOf = (scenario: (typeof scenarios)[number]) =>
  JSON.stringify({
    workspace: "bench",
    group: "bench",
    biz_tag: scenario.bizTag,
    ...(scenario.idsPerRequest > 1 ? { size: scenario.idsPerRequest } : {})
  })

const load = async (target: Target, scenario: (typeof scenarios)[number]): Promise<HttpRun> => {
  const spec: LoadSpec = {
    url: target.baseUrl + scenario.path,
    headers: target.headers,
    body: bodyOf(scenario),
    connections: http.connections,
    pipelining: http.pipelining,
    warmupSeconds: http.warmupSeconds,
    durationSeconds: http.durationSeconds
  }
  const cpuBefore = cpuSeconds(target.pid)
  const wallBefore = performance.now()
  const result = await runNode<LoadResult>(Path.join(BENCH, "http/load.ts"), [JSON.stringify(spec)], {
    logFile: Path.join(RESULTS, "load.log"),
    timeoutMs: (http.warmupSeconds + http.durationSeconds) * 1000 + 60_000
  })
  const cpuAfter = cpuSeconds(target.pid)
  const wall = (performance.now() - wallBefore) / 1000
  const serverCpuShare = cpuBefore === undefined || cpuAfter === undefined ? null : (cpuAfter - cpuBefore) / wall
  return { ...result, serverCpuShare }
}

const startBare = async (): Promise<{ target: Target; process: Started }> => {
  const bare = await startBareServer(Path.join(RESULTS, "bare-server.log"))
  return { target: { name: "bare", baseUrl: bare.baseUrl, headers: {}, pid: bare.pid }, process: bare.process }
}

const best = (runs: ReadonlyArray<HttpRun>) => runs.reduce((a, b) => (b.rps > a.rps ? b : a))

const httpBench = async () => {
  let bare: Awaited<ReturnType<typeof startBare>> | undefined
  let idgen: IdgenServer | undefined
  let idgenError: unknown
  try {
    bare = await startBare()
    const s = store("http")
    stores.http = s.kind
    log(`http: starting idgen server (store: ${s.kind})`)
    try {
      idgen = await startIdgen({
        repoRoot: ROOT,
        databaseUrl: s.databaseUrl,
        dataDir: s.dataDir,
        logFile: Path.join(RESULTS, "idgen-server.log"),
        readyTimeoutMs: envNumber("BENCH_READY_TIMEOUT_MS", 90_000)
      })
    } catch (error) {
      idgenError = error
      log(`http: idgen server unavailable: ${errorText(error)}`)
    }
    const candidates: Array<Target> = [bare.target]
    if (idgen) {
      candidates.unshift({ name: "idgen", baseUrl: idgen.baseUrl, headers: { "x-api-key": idgen.apiKey }, pid: idgen.pid })
    }
    // Shape check (and biz_tag auto-creation) before any load.
    const targets: Array<Target> = []
    for (const target of candidates) {
      try {
        for (const scenario of scenarios) {
          await checkResponse(target.baseUrl + scenario.path, target.headers, bodyOf(scenario), scenario.idsPerRequest)
        }
        targets.push(target)
      } catch (error) {
        if (target.name === "bare") throw error
        idgenError = error
        log(`http: idgen answers wrongly: ${errorText(error)}`)
      }
    }
    const results: Record<string, Record<string, Array<HttpRun>>> = {}
    for (const scenario of scenarios) {
      results[scenario.id] = Object.fromEntries(targets.map((t) => [t.name, []]))
      for (let round = 0; round < http.rounds; round++) {
        const order = round % 2 === 0 ? targets : [...targets].reverse()
        for (const target of order) {
          log(`http: ${scenario.id} → ${target.name} (round ${round + 1}/${http.rounds})`)
          results[scenario.id]![target.name]!.push(await load(target, scenario))
        }
      }
    }
    raw.http = { settings: http, results }

    for (const scenario of scenarios) {
      const r = results[scenario.id]!
      const b = best(r.bare!)
      const i = r.idgen && r.idgen.length > 0 ? best(r.idgen) : undefined
      const single = scenario.id === "single"
      const k = scenario.idsPerRequest
      const value = i ? i.rps * k : null
      const ratio = i ? i.rps / b.rps : null
      const errors = i ? r.idgen!.reduce((n, x) => n + x.non2xx + x.errors + x.timeouts, 0) : 0
      const bareErrors = r.bare!.reduce((n, x) => n + x.non2xx + x.errors + x.timeouts, 0)
      const pass = i !== undefined && errors === 0 && (single ? ratio! >= 0.7 : value! >= 2e6)
      const notes: Array<string> = []
      if (!i) notes.push(`idgen not measured: ${errorText(idgenError)}`)
      if (errors > 0) notes.push(`idgen: ${errors} non-2xx/errors/timeouts — measurement invalid`)
      if (bareErrors > 0) notes.push(`bare: ${bareErrors} non-2xx/errors/timeouts`)
      if (i && !single) notes.push(`${i.rps.toFixed(0)} req/s vs bare ${b.rps.toFixed(0)} req/s`)
      const share = (x: HttpRun) =>
        `server ${x.serverCpuShare === null ? "?" : `${(x.serverCpuShare * 100).toFixed(0)}%`}, ` +
        `autocannon ${(x.loadCpuShare * 100).toFixed(0)}%`
      notes.push(`CPU (of one core) in the best runs: idgen ${i ? share(i) : "–"}; bare ${share(b)}`)
      checks.push({
        id: `http.${scenario.id}`,
        section: "http",
        metric: single ? "HTTP generate (single)" : "HTTP batch-1000",
        value,
        unit: single ? "req/s" : "ids/s",
        ...(i && r.idgen!.length > 1
          ? { runs: [Math.min(...r.idgen!.map((x) => x.rps * k)), Math.max(...r.idgen!.map((x) => x.rps * k))] as const }
          : {}),
        baseline: { name: "bare node:http", value: b.rps * k },
        ratio,
        target: single ? "≥ 0.70× bare" : "≥ 2 M IDs/s",
        verdict: i ? (pass ? "PASS" : "MISS") : "n/a",
        latency: { p50: i?.p50 ?? Number.NaN, p99: i?.p99 ?? Number.NaN, baselineP50: b.p50, baselineP99: b.p99 },
        notes
      })
    }
  } catch (error) {
    checks.push(failed("http.single", "http", "HTTP generate", "≥ 0.70× bare", error))
  } finally {
    await idgen?.stop()
    await bare?.process.stop()
  }
}

// ---------------------------------------------------------------------------------------

const ifaceBench = async () => {
  try {
    const r = await interfacesBench({ repoRoot: ROOT, results: RESULTS, store, log })
    checks.push(...r.checks)
    raw.interfaces = r.raw
    stores.interfaces = r.store
  } catch (error) {
    checks.push(failed("interfaces.grpc-batch", "interfaces", "gRPC batch-1000", "≥ 3 M IDs/s", error))
  }
}

const tailSection = async () => {
  try {
    const r = await tailBench({ repoRoot: ROOT, results: RESULTS, store: storeOfKind, log })
    checks.push(...r.checks)
    raw.tail = r.raw
  } catch (error) {
    checks.push(failed("tail.p99", "tail", "HTTP single p99 at half the bare maximum", "≤ 2× bare", error))
  }
}

const workersSection = async () => {
  try {
    const r = await workersBench({
      repoRoot: ROOT,
      results: RESULTS,
      rounds: http.rounds,
      postgres: (name) => storeOfKind(name, "postgres"),
      load: (target) => load(target, scenarios[0]),
      readyTimeoutMs: envNumber("BENCH_READY_TIMEOUT_MS", 90_000),
      log
    })
    checks.push(...r.checks)
    raw.workers = r.raw
    stores.workers = r.store
  } catch (error) {
    checks.push(failed("workers.vs-bare", "workers", "HTTP generate (single), 2 workers", "≥ 0.80× bare", error))
  }
}

const memorySection = async () => {
  try {
    const r = await memoryBench({ repoRoot: ROOT, results: RESULTS, store: storeOfKind, log })
    checks.push(...r.checks)
    raw.memory = r.raw
  } catch (error) {
    checks.push(failed("memory.postgres.peak", "memory", "RSS peak under load, PostgreSQL", "≤ 200 MB", error))
  }
}

const startupSection = async () => {
  try {
    const r = await startupBench({ repoRoot: ROOT, results: RESULTS, tmp, log })
    checks.push(...r.checks)
    raw.startup = r.raw
  } catch (error) {
    checks.push(failed("startup.first", "startup", "embedded first start (template), spawn → listening", "≤ 2000 ms", error))
  }
}

const allocBench = async () => {
  try {
    const r = await allocationsBench({ repoRoot: ROOT, results: RESULTS, store, log })
    checks.push(...r.checks)
    raw.allocations = r.raw
  } catch (error) {
    checks.push(failed("allocations.pool", "allocations", "database allocations per minute", "≤ 1 /min", error))
  }
}

try {
  if (only === undefined || only === "" || only === "inprocess") {
    await segmentBench()
    await snowflakeBench()
    await uuidBench()
  }
  if (only === undefined || only === "" || only === "http") await httpBench()
  if (only === undefined || only === "" || only === "tail") await tailSection()
  if (only === undefined || only === "" || only === "workers") await workersSection()
  if (only === undefined || only === "" || only === "interfaces") await ifaceBench()
  if (only === undefined || only === "" || only === "allocations") await allocBench()
  if (only === undefined || only === "" || only === "memory") await memorySection()
  if (only === undefined || only === "" || only === "startup") await startupSection()
} finally {
  cleanup()
}

const finished = new Date()
const header = [
  `idgen bench — ${finished.toISOString()} — node ${process.version} (${NODE}), ${Os.cpus().length} CPUs ` +
  `(${Os.cpus()[0]?.model ?? "?"}), load avg (1/5/15 min) at start ${loadAtStart.map((x) => x.toFixed(2)).join(" ")}, ` +
  `at end ${Os.loadavg().map((x) => x.toFixed(2)).join(" ")}`,
  `in-process: best of ${envNumber("BENCH_ROUNDS", 10)} rounds × ${envNumber("BENCH_ROUND_MS", 300)} ms, ` +
  `ratio = median of the per-round ratios (candidate and baseline run in the same rounds) ` +
  `(snowflake: best of ${envNumber("BENCH_SNOWFLAKE_ROUNDS", 3)} × ${envNumber("BENCH_SNOWFLAKE_ROUND_MS", 2000)} ms windows); http: autocannon ${http.connections} ` +
  `connections, pipelining ${http.pipelining}, ${http.warmupSeconds} s warm-up + ${http.durationSeconds} s, ` +
  `best of ${http.rounds} alternating rounds; stores: ${Object.entries(stores).map(([k, v]) => `${k} ${v}`).join(", ")}`
]
if (Math.max(loadAtStart[0]!, Os.loadavg()[0]!) > Os.cpus().length * 0.5) {
  header.push(
    "WARNING: other processes were using the CPUs (load average above); expect low and noisy numbers, " +
    "especially for the clock-bound snowflake rate and for HTTP (server and load generator share the cores)."
  )
}
console.log(`${header.join("\n")}\n\n${table(checks)}`)
const jsonFile = Path.join(RESULTS, "latest.json")
writeJson(jsonFile, {
  version: 1,
  startedAt: started.toISOString(),
  finishedAt: finished.toISOString(),
  environment: {
    node: process.version,
    cpus: Os.cpus().length,
    cpuModel: Os.cpus()[0]?.model,
    loadAverage: { start: loadAtStart, end: Os.loadavg() },
    stores
  },
  settings: {
    inProcess: {
      rounds: envNumber("BENCH_ROUNDS", 10),
      roundMs: envNumber("BENCH_ROUND_MS", 300),
      snowflakeRounds: envNumber("BENCH_SNOWFLAKE_ROUNDS", 3),
      snowflakeRoundMs: envNumber("BENCH_SNOWFLAKE_ROUND_MS", 2000)
    },
    http
  },
  checks,
  raw
})
console.log(`\nJSON summary: ${Path.relative(process.cwd(), jsonFile)}`)
