/**
 * The tail part of `npm run bench` (issue 13 §1): single-ID HTTP generate at a fixed rate of
 * half the bare node:http server's maximum (measured first, in the same run), idgen against
 * the bare server in alternating rounds, on the embedded store and on PostgreSQL:
 *
 * - p99 of idgen over p99 of the bare server (target ≤ 2×);
 * - the longest event-loop stall under that load, read from idgen's own
 *   `idgen_event_loop_delay_max_seconds` (the last 10 s) right after each measured run of
 *   `BENCH_TAIL_SECONDS` (10) (target ≤ 10 ms);
 * - the same load after 2,000 other biz_tags were served by the node (p99 within noise).
 */
import * as Path from "node:path"
import { runNode, sleep } from "../lib/children.ts"
import { envNumber } from "../lib/measure.ts"
import { sampleValue } from "../lib/metricsText.ts"
import type { Check } from "../report.ts"
import { startBare } from "./bare.ts"
import { checkResponse, type IdgenServer, startIdgen } from "./idgen-server.ts"
import type { LoadResult, LoadSpec } from "./load.ts"

export interface Context {
  readonly repoRoot: string
  readonly results: string
  /** A fresh store of the given kind, or undefined when that kind is not available. */
  readonly store: (
    name: string,
    kind: "embedded" | "postgres"
  ) => { databaseUrl: string | undefined; dataDir: string; kind: string } | undefined
  readonly log: (message: string) => void
}

const settings = {
  rounds: envNumber("BENCH_TAIL_ROUNDS", 2),
  connections: envNumber("BENCH_TAIL_CONNECTIONS", 64),
  warmupSeconds: envNumber("BENCH_TAIL_WARMUP_S", 2),
  seconds: envNumber("BENCH_TAIL_SECONDS", 10),
  tags: envNumber("BENCH_TAIL_TAGS", 2000),
  idleSeconds: envNumber("BENCH_TAIL_IDLE_S", 10),
  // V8 collects the garbage of the load that just ended during the first idle seconds (its
  // memory reducer): not the node's periodic work, so it is let pass before measuring.
  idleSettleSeconds: envNumber("BENCH_TAIL_IDLE_SETTLE_S", 10)
}

interface TailRun extends LoadResult {
  /** The server's longest event-loop delay over the run, in ms (idgen's own metric; the bare server's monitor). */
  readonly stallMs: number
}

const body = (bizTag: string) => JSON.stringify({ workspace: "bench", group: "bench", biz_tag: bizTag })
const PATH = "/api/v1/generate"

const load = (context: Context, url: string, headers: Record<string, string>, rate: number | undefined) => {
  const spec: LoadSpec = {
    url,
    headers,
    body: body("tail-hot"),
    connections: settings.connections,
    pipelining: 1,
    warmupSeconds: rate === undefined ? 1 : settings.warmupSeconds,
    durationSeconds: rate === undefined ? 4 : settings.seconds,
    ...(rate === undefined ? {} : { rate })
  }
  return runNode<LoadResult>(Path.join(import.meta.dirname, "load.ts"), [JSON.stringify(spec)], {
    logFile: Path.join(context.results, "tail-load.log"),
    timeoutMs: (spec.warmupSeconds + spec.durationSeconds) * 1000 + 60_000
  })
}

/** The bare server's longest loop delay since the previous call (`bare-server.ts`, GET /stall). */
const bareStallMs = async (baseUrl: string) =>
  ((await (await fetch(`${baseUrl}/stall`)).json()) as { maxMs: number }).maxMs

const stallMs = async (server: IdgenServer) => {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text()
  return sampleValue(text, "idgen_event_loop_delay_max_seconds") * 1000
}

interface Idle {
  /** Loop busy time per second of an idle node (its periodic work), in ms. */
  readonly busyMsPerSecond: number
  /** The longest loop delay over the idle window, in ms. */
  readonly stallMs: number
}

/**
 * An idle node's periodic work: its loop busy time over `settings.idleSeconds` after
 * `settings.idleSettleSeconds` without requests (the counter is published once a second).
 */
const idle = async (server: IdgenServer): Promise<Idle> => {
  const busy = async () => sampleValue(await (await fetch(`${server.baseUrl}/metrics`)).text(), "idgen_event_loop_busy_seconds_total")
  await sleep(settings.idleSettleSeconds * 1000)
  const before = await busy()
  await sleep(settings.idleSeconds * 1000)
  const after = await busy()
  return { busyMsPerSecond: ((after - before) * 1000) / settings.idleSeconds, stallMs: await stallMs(server) }
}

/** Serves one ID of each of `count` new biz_tags (auto-created), a few requests in flight. */
const knowTags = async (server: IdgenServer, count: number) => {
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      await checkResponse(server.baseUrl + PATH, { "x-api-key": server.apiKey }, body(`tail-tag-${i}`), 1)
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
}

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const errorsOf = (runs: ReadonlyArray<LoadResult>) => runs.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0)
const list = (runs: ReadonlyArray<LoadResult>) => runs.map((r) => `${r.p99}`).join(", ")

export const tailBench = async (context: Context): Promise<{ checks: Array<Check>; raw: unknown }> => {
  const checks: Array<Check> = []
  const raw: Record<string, unknown> = { settings }
  const bare = await startBare(Path.join(context.results, "tail-bare-server.log"))
  try {
    context.log("tail: bare server maximum")
    const max = await load(context, bare.baseUrl + PATH, {}, undefined)
    const rate = Math.round(max.rps / 2)
    raw.bareMaximum = max
    raw.rate = rate
    for (const kind of ["embedded", "postgres"] as const) {
      const s = context.store(`tail-${kind}`, kind)
      if (s === undefined) {
        context.log(`tail: no ${kind} store, skipped`)
        continue
      }
      context.log(`tail: ${kind} — starting idgen (${s.kind}), ${rate} req/s`)
      const server = await startIdgen({
        repoRoot: context.repoRoot,
        databaseUrl: s.databaseUrl,
        dataDir: s.dataDir,
        logFile: Path.join(context.results, `tail-${kind}-server.log`),
        readyTimeoutMs: envNumber("BENCH_READY_TIMEOUT_MS", 90_000)
      })
      try {
        const headers = { "x-api-key": server.apiKey }
        await checkResponse(server.baseUrl + PATH, headers, body("tail-hot"), 1)
        // A fresh process compiles its request path under the first traffic (stalls of 50 ms
        // and more in its first seconds): one unmeasured run at the rate first, as for the bare
        // server, whose maximum was measured before.
        context.log(`tail: ${kind} warm-up run (not measured)`)
        await load(context, server.baseUrl + PATH, headers, rate)
        const runIdgen = async (): Promise<TailRun> => {
          const r = await load(context, server.baseUrl + PATH, headers, rate)
          return { ...r, stallMs: await stallMs(server) }
        }
        const runBare = async (): Promise<TailRun> => {
          await bareStallMs(bare.baseUrl)
          const r = await load(context, bare.baseUrl + PATH, {}, rate)
          return { ...r, stallMs: await bareStallMs(bare.baseUrl) }
        }
        const phase = async (name: string) => {
          const runs = { idgen: [] as Array<TailRun>, bare: [] as Array<TailRun> }
          for (let round = 0; round < settings.rounds; round++) {
            context.log(`tail: ${kind} ${name} round ${round + 1}/${settings.rounds}`)
            if (round % 2 === 0) {
              runs.idgen.push(await runIdgen())
              runs.bare.push(await runBare())
            } else {
              runs.bare.push(await runBare())
              runs.idgen.push(await runIdgen())
            }
          }
          return runs
        }
        const plain = await phase("one biz_tag")
        context.log(`tail: ${kind} idle, one biz_tag`)
        const idlePlain = await idle(server)
        context.log(`tail: ${kind} serving ${settings.tags} biz_tags`)
        await knowTags(server, settings.tags)
        const tagged = await phase(`${settings.tags} biz_tags`)
        context.log(`tail: ${kind} idle, ${settings.tags} biz_tags`)
        const idleTagged = await idle(server)
        raw[kind] = { plain, tagged, idlePlain, idleTagged }

        const p99 = median(plain.idgen.map((r) => r.p99))
        const bareP99 = median(plain.bare.map((r) => r.p99))
        const ratio = p99 / bareP99
        const errors = errorsOf([...plain.idgen, ...tagged.idgen])
        const rates = (runs: ReadonlyArray<LoadResult>) => runs.map((r) => r.rps.toFixed(0)).join(", ")
        checks.push({
          id: `tail.p99.${kind}`,
          section: "tail",
          metric: `HTTP single p99 at ${rate} req/s, ${kind}`,
          value: p99,
          unit: "ms",
          baseline: { name: "bare node:http", value: bareP99 },
          ratio,
          target: "≤ 2× bare",
          verdict: errors > 0 ? "MISS" : ratio <= 2 ? "PASS" : "MISS",
          latency: {
            p50: median(plain.idgen.map((r) => r.p50)),
            p99,
            baselineP50: median(plain.bare.map((r) => r.p50)),
            baselineP99: bareP99
          },
          notes: [
            `bare maximum ${max.rps.toFixed(0)} req/s (${settings.connections} connections); p99 per round idgen ` +
            `${list(plain.idgen)} ms, bare ${list(plain.bare)} ms; max latency idgen ` +
            `${plain.idgen.map((r) => r.max).join(", ")} ms, bare ${plain.bare.map((r) => r.max).join(", ")} ms; ` +
            `req/s held idgen ${rates(plain.idgen)}, bare ${rates(plain.bare)}`,
            ...(errors > 0 ? [`idgen: ${errors} non-2xx/errors/timeouts — measurement invalid`] : [])
          ]
        })
        const stall = Math.max(...plain.idgen.map((r) => r.stallMs))
        const bareStall = Math.max(...plain.bare.map((r) => r.stallMs))
        const taggedStall = Math.max(...tagged.idgen.map((r) => r.stallMs))
        const stalls = (runs: ReadonlyArray<TailRun>) => runs.map((r) => r.stallMs.toFixed(1)).join(", ")
        checks.push({
          id: `tail.stall.${kind}`,
          section: "tail",
          metric: `max event-loop stall under that load, ${kind}`,
          value: stall,
          unit: "ms",
          baseline: { name: "bare node:http", value: bareStall },
          ratio: stall / bareStall,
          target: "≤ 10 ms",
          verdict: stall <= 10 ? "PASS" : "MISS",
          notes: [
            `idgen_event_loop_delay_max_seconds after each run: ${stalls(plain.idgen)} ms (bare ${stalls(plain.bare)} ms); ` +
            `with ${settings.tags} biz_tags ${stalls(tagged.idgen)} ms (bare ${stalls(tagged.bare)} ms)`
          ]
        })
        const taggedP99 = median(tagged.idgen.map((r) => r.p99))
        const taggedBare = median(tagged.bare.map((r) => r.p99))
        const tagRatio = taggedP99 / p99
        checks.push({
          id: `tail.tags.${kind}`,
          section: "tail",
          metric: `same with ${settings.tags} biz_tags known, ${kind}`,
          value: taggedP99,
          unit: "ms",
          baseline: { name: "one biz_tag", value: p99 },
          ratio: tagRatio,
          target: "≈ 1× (noise ≤ 1.3×)",
          verdict: tagRatio <= 1.3 && taggedStall <= 10 ? "PASS" : "MISS",
          latency: { p50: median(tagged.idgen.map((r) => r.p50)), p99: taggedP99, baselineP50: null, baselineP99: taggedBare },
          notes: [
            `p99 per round idgen ${list(tagged.idgen)} ms, bare ${list(tagged.bare)} ms (${(taggedP99 / taggedBare).toFixed(2)}× bare); ` +
            `max stall ${taggedStall.toFixed(1)} ms`
          ]
        })
        checks.push({
          id: `tail.idle.${kind}`,
          section: "tail",
          metric: `idle node's loop busy time with ${settings.tags} biz_tags, ${kind}`,
          value: idleTagged.busyMsPerSecond,
          unit: "ms/s",
          baseline: { name: "one biz_tag", value: idlePlain.busyMsPerSecond },
          ratio: idleTagged.busyMsPerSecond / idlePlain.busyMsPerSecond,
          target: "≈ 1× (periodic work independent of biz_tags)",
          verdict: idleTagged.busyMsPerSecond / idlePlain.busyMsPerSecond <= 1.3 ? "PASS" : "MISS",
          notes: [
            `${settings.idleSeconds} s with no requests after ${settings.idleSettleSeconds} s of rest; longest loop delay meanwhile ${idlePlain.stallMs.toFixed(1)} ms ` +
            `(one biz_tag), ${idleTagged.stallMs.toFixed(1)} ms (${settings.tags} biz_tags)`
          ]
        })
      } finally {
        await server.stop()
      }
    }
  } finally {
    await bare.process.stop()
  }
  return { checks, raw }
}
