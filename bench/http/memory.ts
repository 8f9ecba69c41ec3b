/**
 * The memory part of `npm run bench` (issue 13 §3): the resident memory of one node
 * (`IDGEN_WORKERS=1`) idle, at its peak under load and after it, on PostgreSQL and on the
 * embedded store, beside the bare node:http server under the same load in the same run and
 * beside a Node process that only imported the node's modules (`imports-only.ts`):
 *
 * - every idgen node and the imports-only process load their modules from the compile cache
 *   (`main.js`), filled by a first imports-only run and the embedded node's first start;
 * - load: single-ID generate, then batch-1000 generate, `BENCH_MEMORY_SECONDS` (8) each after
 *   a 1 s warm-up, autocannon with `BENCH_HTTP_CONNECTIONS` (32) connections;
 * - RSS is VmRSS of `/proc/<pid>/status`, read every 100 ms (RssAnon and RssFile of the
 *   highest sample in the notes); idle = `BENCH_MEMORY_IDLE_S` (3) after the node answered,
 *   after = `BENCH_MEMORY_AFTER_S` (5) after the load; the node's V8 heap and external memory
 *   from its own `/metrics` after the load;
 * - the embedded store is measured on its second start (a data directory already set up, as
 *   a node is after its first start); the first start's peak (VmHWM when ready) is a row;
 * - PostgreSQL once more with V8's own young generation instead of `npm start`'s
 *   (`--max-semi-space-size=BENCH_MEMORY_SEMI_SPACE_MB`, 64: V8's default on this build):
 *   its RSS and the req/s of the same load (info).
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { runNode, sleep, startNode } from "../lib/children.ts"
import { envNumber } from "../lib/measure.ts"
import { sampleValue } from "../lib/metricsText.ts"
import type { Check } from "../report.ts"
import { startBare } from "./bare.ts"
import { checkResponse, startIdgen } from "./idgen-server.ts"
import type { LoadResult, LoadSpec } from "./load.ts"
import type { Context } from "./tail.ts"
import type { Target } from "./workers.ts"

const settings = {
  seconds: envNumber("BENCH_MEMORY_SECONDS", 8),
  connections: envNumber("BENCH_HTTP_CONNECTIONS", 32),
  idleSeconds: envNumber("BENCH_MEMORY_IDLE_S", 3),
  afterSeconds: envNumber("BENCH_MEMORY_AFTER_S", 5),
  semiSpaceMb: envNumber("BENCH_MEMORY_SEMI_SPACE_MB", 64),
  readyTimeoutMs: envNumber("BENCH_READY_TIMEOUT_MS", 90_000)
}

/** Memory of a process from `/proc/<pid>/status`, in MB. */
interface Status {
  readonly rss: number
  readonly anon: number
  readonly file: number
  /** VmHWM: the highest RSS since the process started. */
  readonly hwm: number
}

const status = (pid: number): Status => {
  const text = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const mb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? Number.NaN) / 1024
  return { rss: mb("VmRSS"), anon: mb("RssAnon"), file: mb("RssFile"), hwm: mb("VmHWM") }
}

/** Reads `pid`'s status every 100 ms until the returned function is called; it returns the highest sample. */
const sampler = (pid: number): (() => Status) => {
  let peak = status(pid)
  const timer = setInterval(() => {
    const now = status(pid)
    if (now.rss > peak.rss) peak = now
  }, 100)
  return () => {
    clearInterval(timer)
    return peak
  }
}

interface Phase extends LoadResult {
  readonly peak: Status
}

interface Heap {
  readonly usedMb: number
  readonly totalMb: number
  readonly externalMb: number
}

interface Profile {
  readonly idle: Status
  readonly single: Phase
  readonly batch: Phase
  readonly after: Status
  /** The node's own view after the load (idgen only). */
  readonly heap: Heap | undefined
}

const scenarios = {
  single: { path: "/api/v1/generate", body: JSON.stringify({ workspace: "bench", group: "bench", biz_tag: "memory-single" }) },
  batch: {
    path: "/api/v1/generate/batch",
    body: JSON.stringify({ workspace: "bench", group: "bench", biz_tag: "memory-batch", size: 1000 })
  }
} as const

const loaded = async (context: Context, target: Target, scenario: keyof typeof scenarios): Promise<Phase> => {
  const spec: LoadSpec = {
    url: target.baseUrl + scenarios[scenario].path,
    headers: target.headers,
    body: scenarios[scenario].body,
    connections: settings.connections,
    pipelining: 1,
    warmupSeconds: 1,
    durationSeconds: settings.seconds
  }
  const stop = sampler(target.pid)
  const result = await runNode<LoadResult>(Path.join(import.meta.dirname, "load.ts"), [JSON.stringify(spec)], {
    logFile: Path.join(context.results, "memory-load.log"),
    timeoutMs: (spec.warmupSeconds + spec.durationSeconds) * 1000 + 60_000
  })
  return { ...result, peak: stop() }
}

const heapOf = async (baseUrl: string): Promise<Heap> => {
  const text = await (await fetch(`${baseUrl}/metrics`)).text()
  const mb = (sample: string) => sampleValue(text, sample) / 1048576
  return {
    usedMb: mb("nodejs_heap_size_used_bytes"),
    totalMb: mb("nodejs_heap_size_total_bytes"),
    externalMb: mb("nodejs_external_memory_bytes")
  }
}

/** Idle, then single-ID and batch load, then idle again: one target's profile. */
const profile = async (context: Context, target: Target, idgen: boolean): Promise<Profile> => {
  for (const scenario of Object.values(scenarios)) {
    await checkResponse(target.baseUrl + scenario.path, target.headers, scenario.body, scenario === scenarios.single ? 1 : 1000)
  }
  await sleep(settings.idleSeconds * 1000)
  const idle = status(target.pid)
  context.log(`memory: ${target.name} single-ID load`)
  const single = await loaded(context, target, "single")
  context.log(`memory: ${target.name} batch-1000 load`)
  const batch = await loaded(context, target, "batch")
  await sleep(settings.afterSeconds * 1000)
  return { idle, single, batch, after: status(target.pid), heap: idgen ? await heapOf(target.baseUrl) : undefined }
}

const peakOf = (p: Profile) => (p.single.peak.rss >= p.batch.peak.rss ? p.single.peak : p.batch.peak)
const errorsOf = (p: Profile) => [p.single, p.batch].reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0)
const mb = (x: number) => `${x.toFixed(0)} MB`
const rates = (p: Profile) => `single ${p.single.rps.toFixed(0)} req/s, batch ${p.batch.rps.toFixed(0)} req/s`
const detail = (p: Profile) => {
  const peak = peakOf(p)
  return `idle ${mb(p.idle.rss)}, peak ${mb(peak.rss)} (anon ${mb(peak.anon)}, file ${mb(peak.file)}), ` +
    `after ${mb(p.after.rss)}; ${rates(p)}` +
    (p.heap === undefined
      ? ""
      : `; V8 heap after ${mb(p.heap.usedMb)} used of ${mb(p.heap.totalMb)}, external ${mb(p.heap.externalMb)}`)
}

/** Starts an idgen node on `store` and profiles it; `restart`: the store served a start already. */
const idgenProfile = async (
  context: Context,
  name: string,
  store: { databaseUrl: string | undefined; dataDir: string },
  options: { readonly nodeFlags?: ReadonlyArray<string>; readonly restart?: boolean } = {}
) => {
  context.log(`memory: starting ${name}`)
  const server = await startIdgen({
    repoRoot: context.repoRoot,
    databaseUrl: store.databaseUrl,
    dataDir: store.dataDir,
    logFile: Path.join(context.results, `memory-${name.replace(/[^a-z0-9]+/gi, "-")}.log`),
    readyTimeoutMs: settings.readyTimeoutMs,
    ...options
  })
  try {
    const target = { name, baseUrl: server.baseUrl, headers: { "x-api-key": server.apiKey }, pid: server.pid }
    return await profile(context, target, true)
  } finally {
    await server.stop()
  }
}

/**
 * The imports-only process's RSS once it has imported everything and idled `idleSeconds`,
 * with the compile cache a node uses (`main.js`: `os.tmpdir()/node-compile-cache` unless
 * NODE_COMPILE_CACHE says otherwise), so that it loads its modules as a node does.
 */
const importsOnly = async (context: Context): Promise<Status> => {
  const child = startNode(Path.join(import.meta.dirname, "imports-only.ts"), [], {
    logFile: Path.join(context.results, "memory-imports-only.log"),
    cwd: context.repoRoot,
    env: { NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? Path.join(Os.tmpdir(), "node-compile-cache") }
  })
  try {
    for (let i = 0; i < 1200 && !child.stdout().includes("IMPORTED"); i++) await sleep(50)
    if (!child.stdout().includes("IMPORTED")) throw new Error("imports-only.ts did not finish importing")
    await sleep(settings.idleSeconds * 1000)
    return status(child.child.pid!)
  } finally {
    await child.stop()
  }
}

/** One row of the section; informational unless a target and its verdict are given. */
const row = (
  id: string,
  metric: string,
  value: number,
  baseline: { readonly name: string; readonly value: number } | null,
  notes: ReadonlyArray<string> = [],
  judged: { readonly target: string; readonly verdict: Check["verdict"] } = { target: "(info)", verdict: "info" }
): Check => ({
  id: `memory.${id}`,
  section: "memory",
  metric,
  value,
  unit: "MB",
  baseline,
  ratio: baseline === null ? null : value / baseline.value,
  ...judged,
  notes
})

/** An embedded node's first start on an empty data directory: its status when ready. */
const embeddedFirstStart = async (context: Context, dataDir: string): Promise<Status> => {
  const first = await startIdgen({
    repoRoot: context.repoRoot,
    databaseUrl: undefined,
    dataDir,
    logFile: Path.join(context.results, "memory-embedded-first.log"),
    readyTimeoutMs: settings.readyTimeoutMs
  })
  try {
    return status(first.pid)
  } finally {
    await first.stop()
  }
}

export const memoryBench = async (context: Context): Promise<{ checks: Array<Check>; raw: unknown }> => {
  const raw: Record<string, unknown> = { settings, loadAtStart: Os.loadavg()[0] }
  // Both fill the compile cache too (the node's own modules; then main.js's and Launch.ts).
  context.log("memory: a process that only imports the node's modules (a first run fills the compile cache)")
  await importsOnly(context)
  const embedded = context.store("memory-embedded", "embedded")!
  context.log("memory: embedded store, first start")
  const firstStart = await embeddedFirstStart(context, embedded.dataDir)
  raw.embeddedFirstStart = firstStart
  const imports = await importsOnly(context)
  raw.importsOnly = imports

  const bareServer = await startBare(Path.join(context.results, "memory-bare-server.log"))
  let bare: Profile
  try {
    bare = await profile(context, { name: "bare", baseUrl: bareServer.baseUrl, headers: {}, pid: bareServer.pid }, false)
  } finally {
    await bareServer.process.stop()
  }
  raw.bare = bare
  const barePeak = peakOf(bare)
  const checks: Array<Check> = [
    row("imports-only", "RSS, a process that only imported the node's modules", imports.rss, {
      name: "bare node:http idle",
      value: bare.idle.rss
    }, [`anon ${mb(imports.anon)}, file ${mb(imports.file)}; bare node:http under the same load: ${detail(bare)}`])
  ]

  const postgres = context.store("memory-postgres", "postgres")
  if (postgres === undefined) {
    context.log("memory: no PostgreSQL, skipped")
  } else {
    const node = await idgenProfile(context, "PostgreSQL", postgres)
    raw.postgres = node
    const peak = peakOf(node)
    const errors = errorsOf(node)
    checks.push(
      row("postgres.idle", "RSS idle, PostgreSQL", node.idle.rss, { name: "imports only", value: imports.rss }),
      row(
        "postgres.peak",
        "RSS peak under load, PostgreSQL",
        peak.rss,
        { name: "bare node:http", value: barePeak.rss },
        [detail(node), ...(errors > 0 ? [`idgen: ${errors} non-2xx/errors/timeouts — measurement invalid`] : [])],
        { target: "≤ 200 MB", verdict: errors === 0 && peak.rss <= 200 ? "PASS" : "MISS" }
      ),
      row("postgres.after", "RSS after load, PostgreSQL", node.after.rss, { name: "bare node:http", value: bare.after.rss })
    )

    const semi = context.store("memory-postgres-semi", "postgres")!
    const flag = `--max-semi-space-size=${settings.semiSpaceMb}`
    const other = await idgenProfile(context, `PostgreSQL ${flag}`, semi, { nodeFlags: [flag] })
    raw.postgresOtherYoung = other
    checks.push(
      row("postgres.semi-space", `RSS peak, PostgreSQL, ${flag}`, peakOf(other).rss, { name: "npm start's", value: peak.rss }, [
        `${detail(other)}; npm start's flags: ${rates(node)} (one run each)`
      ])
    )
  }

  const node = await idgenProfile(context, "embedded", embedded, { restart: true })
  raw.embedded = node
  checks.push(
    row("embedded.first-start", "RSS peak of the first start, embedded", firstStart.hwm, null, [
      `VmHWM when ready on an empty data directory (PGlite's template copied or initdb run, migrations); ` +
        `RSS then ${mb(firstStart.rss)}`
    ]),
    row("embedded.idle", "RSS idle, embedded (restarted)", node.idle.rss, { name: "imports only", value: imports.rss }),
    row("embedded.peak", "RSS peak under load, embedded", peakOf(node).rss, { name: "bare node:http", value: barePeak.rss }, [
      detail(node),
      `start-up peak of this (second) start: VmHWM ${mb(node.idle.hwm)}`
    ]),
    row("embedded.after", "RSS after load, embedded", node.after.rss, { name: "bare node:http", value: bare.after.rss })
  )
  raw.loadAtEnd = Os.loadavg()[0]
  return { checks, raw }
}
