/**
 * The start-up part of `npm run bench` (issue 13 §3): how long a node takes from its spawn
 * (`node packages/server/src/main.js`) until it listens (its port file appears), on the
 * embedded store, in alternating rounds of:
 *
 * - a first start on an empty data directory with the template (`storage/EmbeddedTemplate.ts`;
 *   one made for the run by `scripts/embedded-template.ts`), target ≤ 2 s, beside the same first
 *   start without a template (a fresh empty template cache each round: initdb, as before);
 * - a restart on the data directory of an earlier round;
 * - the same restart through `npm start`: npm's own share is the difference;
 * - a first start with a cold compile cache (what the very first start after an install sees);
 * - with `BENCH_STARTUP_BEFORE=<checkout>` (another tree with its own `npm ci`), its first
 *   start and restart in the same rounds.
 *
 * Each node runs as its tree's `npm start` runs it (its Node options), with its own temp data
 * directory and ports the kernel picks, `IDGEN_WORKERS=1` and a given admin token. The compile cache of the warm rows is the run's own, warmed by a
 * discarded first start. The notes give when `/ready` answered 200 and the server's CPU time
 * (all threads) up to listening, which a busy machine inflates less than the wall time.
 */
import * as PortFile from "@idgen/server/ports/PortFile"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { startFlags } from "../../scripts/start-flags.ts"
import { NODE, sleep, startProcess } from "../lib/children.ts"
import { envNumber } from "../lib/measure.ts"
import type { Check } from "../report.ts"

export interface Context {
  readonly repoRoot: string
  readonly results: string
  /** A directory of the run's own (removed at its end). */
  readonly tmp: string
  readonly log: (message: string) => void
}

const settings = {
  rounds: envNumber("BENCH_STARTUP_ROUNDS", 5),
  timeoutMs: envNumber("BENCH_READY_TIMEOUT_MS", 90_000),
  targetMs: 2000
}

interface Start {
  /** Spawn → port file (listening). */
  readonly listeningMs: number
  /** Spawn → `/ready` 200. */
  readonly readyMs: number
  /** CPU time of the server process (every thread) at listening; undefined through npm. */
  readonly cpuMs: number | undefined
}

interface Variant {
  readonly name: string
  /** Where the tree is. */
  readonly root: string
  /** Through `npm start` rather than `node …/main.js`. */
  readonly npm?: boolean
  /** The data directory of this round's start (fresh for a first start). */
  readonly dataDir: (round: number) => string
  readonly env: (round: number) => NodeJS.ProcessEnv
}

/** CPU milliseconds (user + system, every thread) a process has used, from /proc (Linux). */
const cpuMs = (pid: number): number | undefined => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return undefined
  }
}

/** The server's entry point in a tree (`main.ts` in trees before it became `main.js`). */
const entry = (root: string) => {
  const js = Path.join(root, "packages/server/src/main.js")
  return Fs.existsSync(js) ? js : Path.join(root, "packages/server/src/main.ts")
}

const startOnce = async (variant: Variant, round: number, logFile: string): Promise<Start> => {
  const dataDir = variant.dataDir(round)
  Fs.mkdirSync(dataDir, { recursive: true })
  const portFile = Path.join(dataDir, "ports.json")
  Fs.rmSync(portFile, { force: true })
  const env: NodeJS.ProcessEnv = {
    IDGEN_DATABASE_URL: "",
    IDGEN_DATA_DIR: dataDir,
    IDGEN_HTTP_HOST: "127.0.0.1",
    IDGEN_HTTP_PORT: "0",
    IDGEN_GRPC_PORT: "0",
    IDGEN_PORT_FILE: portFile,
    IDGEN_ADMIN_TOKEN: "bench-admin-token-0123456789abcdef",
    IDGEN_NODE_NAME: "bench",
    IDGEN_CONFIG: "",
    IDGEN_WORKERS: "1",
    ...variant.env(round)
  }
  const spawned = performance.now()
  const started = variant.npm === true
    ? startProcess("npm", ["start", "--silent"], { env, logFile, cwd: variant.root, group: true })
    : startProcess(NODE, [...startFlags(variant.root), entry(variant.root)], { env, logFile, cwd: variant.root })
  try {
    const deadline = spawned + settings.timeoutMs
    let exited = false
    void started.exited.then(() => (exited = true))
    let ports: PortFile.BoundPorts | undefined
    while ((ports = PortFile.read(portFile)) === undefined) {
      if (exited) throw new Error(`${variant.name}: the server exited before listening; see ${logFile}`)
      if (performance.now() > deadline) throw new Error(`${variant.name}: not listening after ${settings.timeoutMs} ms`)
      await sleep(2)
    }
    const listeningMs = performance.now() - spawned
    const cpu = variant.npm === true ? undefined : cpuMs(started.child.pid ?? -1)
    while (true) {
      const ok = await fetch(`http://127.0.0.1:${ports.http}/ready`).then((r) => r.status === 200, () => false)
      if (ok) break
      if (performance.now() > deadline) throw new Error(`${variant.name}: not ready after ${settings.timeoutMs} ms`)
      await sleep(5)
    }
    return { listeningMs, readyMs: performance.now() - spawned, cpuMs: cpu }
  } finally {
    await started.stop(10_000)
  }
}

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const spread = (starts: ReadonlyArray<Start>) =>
  [Math.min(...starts.map((s) => s.listeningMs)), Math.max(...starts.map((s) => s.listeningMs))] as const
const listening = (starts: ReadonlyArray<Start>) => median(starts.map((s) => s.listeningMs))
const describe = (starts: ReadonlyArray<Start>) => {
  const cpu = starts.flatMap((s) => (s.cpuMs === undefined ? [] : [s.cpuMs]))
  return `listening ${starts.map((s) => s.listeningMs.toFixed(0)).join(", ")} ms; /ready median ` +
    `${median(starts.map((s) => s.readyMs)).toFixed(0)} ms` +
    (cpu.length === 0 ? "" : `; server CPU at listening median ${median(cpu).toFixed(0)} ms`)
}

/** Makes the template for the run under `cache` with the tree's own script; how long it took. */
const makeTemplate = (root: string, cache: string): number => {
  const started = performance.now()
  const result = spawnSync(NODE, [Path.join(root, "scripts/embedded-template.ts"), cache], { cwd: root, encoding: "utf8" })
  if (result.status !== 0 || !/ready|made|already/.test(result.stdout)) {
    throw new Error(`scripts/embedded-template.ts: ${result.stdout}${result.stderr}`)
  }
  return performance.now() - started
}

export const startupBench = async (context: Context): Promise<{ checks: Array<Check>; raw: unknown }> => {
  const dir = (...parts: Array<string>) => Path.join(context.tmp, "startup", ...parts)
  const templates = dir("templates")
  context.log("startup: making the run's template (scripts/embedded-template.ts)")
  const templateMs = makeTemplate(context.repoRoot, templates)
  const compileCache = dir("compile-cache")
  const warm = { NODE_COMPILE_CACHE: compileCache, IDGEN_DATABASE_EMBEDDED_TEMPLATE_DIR: templates }
  const before = process.env.BENCH_STARTUP_BEFORE
  const variants: Array<Variant> = [
    { name: "first", root: context.repoRoot, dataDir: (r) => dir("first", String(r)), env: () => warm },
    {
      name: "first-initdb",
      root: context.repoRoot,
      dataDir: (r) => dir("first-initdb", String(r)),
      env: (r) => ({ ...warm, IDGEN_DATABASE_EMBEDDED_TEMPLATE_DIR: dir("empty-cache", String(r)) })
    },
    { name: "restart", root: context.repoRoot, dataDir: () => dir("first", "0"), env: () => warm },
    { name: "restart-npm", root: context.repoRoot, npm: true, dataDir: () => dir("first", "0"), env: () => warm },
    {
      name: "first-cold-cache",
      root: context.repoRoot,
      dataDir: (r) => dir("first-cold", String(r)),
      env: (r) => ({ ...warm, NODE_COMPILE_CACHE: dir("cold-cache", String(r)) })
    },
    ...(before === undefined ? [] : [
      // The other tree as it is: no variable of this run's compile cache or template.
      { name: "before-first", root: before, dataDir: (r: number) => dir("before-first", String(r)), env: () => ({}) },
      { name: "before-restart", root: before, dataDir: () => dir("before-first", "0"), env: () => ({}) }
    ])
  ]
  const logFile = Path.join(context.results, "startup.log")
  // Discarded: warms the compile cache, the page cache and each data directory restarts use.
  context.log("startup: warm-up starts")
  for (const variant of variants.filter((v) => v.name === "first" || v.name === "before-first")) {
    await startOnce(variant, 0, logFile)
  }
  const starts: Record<string, Array<Start>> = Object.fromEntries(variants.map((v) => [v.name, []]))
  for (let round = 1; round <= settings.rounds; round++) {
    for (const variant of round % 2 === 1 ? variants : [...variants].reverse()) {
      context.log(`startup: ${variant.name} (round ${round}/${settings.rounds})`)
      starts[variant.name]!.push(await startOnce(variant, round, logFile))
    }
  }

  const first = starts["first"]!
  const initdb = starts["first-initdb"]!
  const restart = starts["restart"]!
  const npm = starts["restart-npm"]!
  const cold = starts["first-cold-cache"]!
  const checks: Array<Check> = [
    {
      id: "startup.first",
      section: "startup",
      metric: "embedded first start (template), spawn → listening",
      value: listening(first),
      unit: "ms",
      runs: spread(first),
      baseline: { name: "without the template (initdb)", value: listening(initdb) },
      ratio: listening(first) / listening(initdb),
      target: `≤ ${settings.targetMs} ms`,
      verdict: listening(first) <= settings.targetMs ? "PASS" : "MISS",
      notes: [
        `with the template: ${describe(first)}`,
        `without: ${describe(initdb)}`,
        `the run's template made in ${(templateMs / 1000).toFixed(1)} s (scripts/embedded-template.ts)`
      ]
    },
    {
      id: "startup.restart",
      section: "startup",
      metric: "embedded restart, spawn → listening",
      value: listening(restart),
      unit: "ms",
      runs: spread(restart),
      baseline: null,
      ratio: null,
      target: "(info)",
      verdict: "info",
      notes: [describe(restart)]
    },
    {
      id: "startup.npm",
      section: "startup",
      metric: "npm start's own share of a restart",
      value: listening(npm) - listening(restart),
      unit: "ms",
      baseline: { name: "npm start → listening", value: listening(npm) },
      ratio: null,
      target: "(info)",
      verdict: "info",
      notes: [`npm start: ${describe(npm)}`]
    },
    {
      id: "startup.cold-cache",
      section: "startup",
      metric: "embedded first start (template), cold compile cache",
      value: listening(cold),
      unit: "ms",
      runs: spread(cold),
      baseline: { name: "warm", value: listening(first) },
      ratio: listening(cold) / listening(first),
      target: "(info)",
      verdict: "info",
      notes: [describe(cold)]
    }
  ]
  if (before !== undefined) {
    for (const [id, mine, metric] of [["first", first, "first start"], ["restart", restart, "restart"]] as const) {
      const theirs = starts[`before-${id}`]!
      checks.push({
        id: `startup.before-${id}`,
        section: "startup",
        metric: `embedded ${metric}: this tree vs ${Path.basename(before)}`,
        value: listening(mine),
        unit: "ms",
        runs: spread(mine),
        baseline: { name: Path.basename(before), value: listening(theirs) },
        ratio: listening(mine) / listening(theirs),
        target: "(info)",
        verdict: "info",
        notes: [`${Path.basename(before)}: ${describe(theirs)}`]
      })
    }
  }
  return { checks, raw: { settings, templateMs, starts } }
}
