/**
 * The workers part of `npm run bench` (issue 13 §2): single-ID HTTP generate against idgen
 * with 2 worker processes (`IDGEN_WORKERS=2`, PostgreSQL: the embedded store runs one) and
 * against a bare `node:cluster` server with 2 workers, then both with 1, in alternating
 * rounds of the same load generator and settings as the HTTP section:
 *
 * - idgen with 2 workers over the bare server with 2 workers (target ≥ 0.8×);
 * - scaling from 1 to 2 workers, idgen's ratio beside the bare server's own.
 *
 * On a machine with 2 cores the load generator takes one of them, so neither server can
 * scale to 2×; the two ratios side by side say whether idgen scales like a bare server does.
 */
import * as Path from "node:path"
import type { Check } from "../report.ts"
import { startBare } from "./bare.ts"
import { checkResponse, type IdgenServer, startIdgen } from "./idgen-server.ts"
import type { LoadResult } from "./load.ts"

export interface Target {
  readonly name: string
  readonly baseUrl: string
  readonly headers: Record<string, string>
  readonly pid: number
}

export interface Context {
  readonly repoRoot: string
  readonly results: string
  readonly rounds: number
  /** A fresh PostgreSQL store, or undefined when none answers. */
  readonly postgres: (name: string) => { databaseUrl: string | undefined; dataDir: string; kind: string } | undefined
  /** One measured single-ID run against `target` (the HTTP section's load). */
  readonly load: (target: Target) => Promise<LoadResult & { readonly serverCpuShare: number | null }>
  readonly readyTimeoutMs: number
  readonly log: (message: string) => void
}

const PATH = "/api/v1/generate"
const BODY = JSON.stringify({ workspace: "bench", group: "bench", biz_tag: "http-single" })
const WORKERS = [2, 1] as const

const best = (runs: ReadonlyArray<LoadResult>) => Math.max(...runs.map((r) => r.rps))
const errorsOf = (runs: ReadonlyArray<LoadResult>) => runs.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0)
const perRound = (runs: ReadonlyArray<LoadResult>) => runs.map((r) => r.rps.toFixed(0)).join(", ")

/** One row of scaling from 1 to 2 workers: idgen's, and beside it the bare server's own. */
const scaling = (who: "idgen" | "bare", two: ReadonlyArray<LoadResult>, one: ReadonlyArray<LoadResult>, cpu: string): Check => ({
  id: `workers.scaling.${who}`,
  section: "workers",
  metric: `scaling 1 → 2 workers, ${who === "idgen" ? "idgen" : "bare node:cluster"}`,
  value: best(two),
  unit: "req/s",
  baseline: { name: `${who} ×1`, value: best(one) },
  ratio: best(two) / best(one),
  target: "(info)",
  verdict: "info",
  notes: [`req/s per round: ${who} ×1 ${perRound(one)}; ${cpu}`]
})

export const workersBench = async (context: Context): Promise<{ checks: Array<Check>; raw: unknown; store: string }> => {
  const stores = WORKERS.map((n) => context.postgres(`workers-${n}`))
  if (stores.some((s) => s === undefined)) throw new Error("needs PostgreSQL (the embedded store runs one worker)")
  const started: Array<{ stop: () => Promise<void> }> = []
  try {
    const targets: Array<Target> = []
    for (const [i, workers] of WORKERS.entries()) {
      const store = stores[i]!
      context.log(`workers: starting idgen with ${workers} worker(s) (${store.kind}) and a bare server with ${workers}`)
      const idgen: IdgenServer = await startIdgen({
        repoRoot: context.repoRoot,
        databaseUrl: store.databaseUrl,
        dataDir: store.dataDir,
        logFile: Path.join(context.results, `workers-idgen-${workers}.log`),
        readyTimeoutMs: context.readyTimeoutMs,
        env: { IDGEN_WORKERS: String(workers) }
      })
      started.push(idgen)
      const bare = await startBare(Path.join(context.results, `workers-bare-${workers}.log`), workers)
      started.push(bare.process)
      targets.push(
        { name: `idgen ×${workers}`, baseUrl: idgen.baseUrl, headers: { "x-api-key": idgen.apiKey }, pid: idgen.pid },
        { name: `bare ×${workers}`, baseUrl: bare.baseUrl, headers: {}, pid: bare.pid }
      )
    }
    // Shape check (and the biz_tag's creation) before any load.
    for (const target of targets) await checkResponse(target.baseUrl + PATH, target.headers, BODY, 1)
    const runs: Record<string, Array<LoadResult & { readonly serverCpuShare: number | null }>> = Object.fromEntries(
      targets.map((t) => [t.name, []])
    )
    for (let round = 0; round < context.rounds; round++) {
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        context.log(`workers: ${target.name} (round ${round + 1}/${context.rounds})`)
        runs[target.name]!.push(await context.load(target))
      }
    }
    const [idgen2, bare2, idgen1, bare1] = targets.map((t) => runs[t.name]!)
    const ratio = best(idgen2!) / best(bare2!)
    const errors = errorsOf([...idgen2!, ...idgen1!])
    const cpu = (name: string) =>
      `${name} ${runs[name]!.map((r) => (r.serverCpuShare === null ? "?" : `${(r.serverCpuShare * 100).toFixed(0)}%`)).join(" ")}`
    const checks: Array<Check> = [
      {
        id: "workers.vs-bare",
        section: "workers",
        metric: "HTTP generate (single), 2 workers",
        value: best(idgen2!),
        unit: "req/s",
        runs: [Math.min(...idgen2!.map((r) => r.rps)), best(idgen2!)],
        baseline: { name: "bare node:cluster ×2", value: best(bare2!) },
        ratio,
        target: "≥ 0.80× bare",
        verdict: errors > 0 ? "MISS" : ratio >= 0.8 ? "PASS" : "MISS",
        notes: [
          `req/s per round: idgen ×2 ${perRound(idgen2!)}, bare ×2 ${perRound(bare2!)}; ` +
          `server CPU (cores, all processes) ${cpu("idgen ×2")}; ${cpu("bare ×2")}`,
          ...(errors > 0 ? [`idgen: ${errors} non-2xx/errors/timeouts — measurement invalid`] : [])
        ]
      },
      scaling("idgen", idgen2!, idgen1!, cpu("idgen ×1")),
      scaling("bare", bare2!, bare1!, cpu("bare ×1"))
    ]
    return { checks, raw: runs, store: stores[0]!.kind }
  } finally {
    for (const server of started) await server.stop()
  }
}
