/**
 * Database allocations per minute for one biz_tag at a steady 20 k IDs/s: an idgen server
 * (child process, real PostgreSQL) with the Redis segment pool (its own redis-server), next
 * to the same server without Redis (every segment is a database allocation, sized by the
 * dynamic step). The load is paced batch-1000 requests; allocations are the biz_tag's rows
 * in `segment_allocations` over the whole run, warm-up included (every allocation counts).
 * Knobs: BENCH_ALLOC_SECONDS [60], BENCH_ALLOC_RATE [20000].
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as Path from "node:path"
import { startIdgen } from "../http/idgen-server.ts"
import { freePort, sleep } from "../lib/children.ts"
import { envNumber } from "../lib/measure.ts"
import type { Check } from "../report.ts"
import type { Context } from "../interfaces/section.ts"

const seconds = envNumber("BENCH_ALLOC_SECONDS", 60)
const idsPerSecond = envNumber("BENCH_ALLOC_RATE", 20_000)
const BATCH = 1000
const BIZ_TAG = "alloc"

interface Run {
  readonly allocations: number
  readonly perMinute: number
  readonly ids: number
  readonly seconds: number
  readonly errors: number
}

const startRedis = async (): Promise<{ url: string; child: ChildProcess }> => {
  const port = await freePort()
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore"
  })
  const deadline = Date.now() + 15_000
  while (spawnSync("redis-cli", ["-p", String(port), "PING"], { encoding: "utf8" }).stdout.trim() !== "PONG") {
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not answer PING`)
    await sleep(50)
  }
  return { url: `redis://127.0.0.1:${port}`, child }
}

const countAllocations = (databaseUrl: string): number => {
  const r = spawnSync("psql", [databaseUrl, "-qAtc",
    `SELECT count(*) FROM segment_allocations a JOIN biz_tags t ON t.id = a.biz_tag_id WHERE t.name = '${BIZ_TAG}'`], {
    encoding: "utf8"
  })
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`)
  return Number(r.stdout.trim())
}

/** One server, paced at `idsPerSecond` for `seconds`. */
const runOnce = async (context: Context, name: string, env: NodeJS.ProcessEnv): Promise<Run> => {
  const s = context.store(`alloc-${name}`)
  if (s.databaseUrl === undefined) throw new Error("needs PostgreSQL (segment_allocations is counted with psql)")
  const server = await startIdgen({
    repoRoot: context.repoRoot,
    databaseUrl: s.databaseUrl,
    dataDir: s.dataDir,
    logFile: Path.join(context.results, `alloc-${name}-server.log`),
    readyTimeoutMs: envNumber("BENCH_READY_TIMEOUT_MS", 90_000),
    env
  })
  try {
    const url = `${server.baseUrl}/api/v1/generate/batch`
    const body = JSON.stringify({ workspace: server.workspace, group: "bench", biz_tag: BIZ_TAG, size: BATCH })
    const headers = { "content-type": "application/json", "x-api-key": server.apiKey }
    const intervalMs = (BATCH / idsPerSecond) * 1000
    let ids = 0
    let errors = 0
    const inFlight = new Set<Promise<void>>()
    const started = performance.now()
    for (let i = 0; performance.now() - started < seconds * 1000; i++) {
      const request = fetch(url, { method: "POST", headers, body }).then(
        async (response) => {
          const json = (await response.json()) as { count?: number }
          if (response.status === 200 && json.count === BATCH) ids += BATCH
          else errors++
        },
        () => void errors++
      ).finally(() => inFlight.delete(request))
      inFlight.add(request)
      // Paced by schedule, not by responses: a slow response does not lower the rate.
      const due = started + (i + 1) * intervalMs
      await sleep(Math.max(0, due - performance.now()))
    }
    await Promise.all(inFlight)
    const elapsed = (performance.now() - started) / 1000
    const allocations = countAllocations(s.databaseUrl)
    return { allocations, perMinute: (allocations / elapsed) * 60, ids, seconds: elapsed, errors }
  } finally {
    await server.stop()
  }
}

export const allocationsBench = async (context: Context): Promise<{ checks: Array<Check>; raw: unknown }> => {
  context.log(`allocations: pool off (no Redis), ${idsPerSecond} IDs/s for ${seconds} s`)
  const off = await runOnce(context, "direct", {})
  const redis = await startRedis()
  let on: Run
  try {
    context.log(`allocations: Redis segment pool on, ${idsPerSecond} IDs/s for ${seconds} s`)
    on = await runOnce(context, "pool", { IDGEN_REDIS_URL: redis.url })
  } finally {
    redis.child.kill("SIGKILL")
  }
  const note = (r: Run, what: string) =>
    `${what}: ${r.allocations} allocations in ${r.seconds.toFixed(1)} s, ${(r.ids / r.seconds / 1000).toFixed(1)} k IDs/s delivered, ${r.errors} failed requests`
  const checks: Array<Check> = [{
    id: "allocations.pool",
    section: "allocations",
    metric: `database allocations per minute, one biz_tag at ${idsPerSecond / 1000} k IDs/s`,
    value: on.perMinute,
    unit: "allocs/min",
    baseline: { name: "no pool", value: off.perMinute },
    ratio: off.perMinute > 0 ? on.perMinute / off.perMinute : null,
    target: "≤ 1 /min",
    verdict: on.errors > 0 || on.ids < idsPerSecond * on.seconds * 0.9 ? "n/a" : on.perMinute <= 1 ? "PASS" : "MISS",
    notes: [note(on, "pool"), note(off, "no pool")]
  }]
  return { checks, raw: { on, off, seconds, idsPerSecond } }
}
