/**
 * One chaos run: starts the cluster, runs the load over every interface and biz_tag kind
 * while the profile's faults hit it, then counts duplicates exactly over every ID received
 * and reports (`report.json` and `report.txt` in a fresh folder under `resultsRoot`).
 * Judges nothing itself: the smoke test and `npm run chaos` decide what the report means.
 */
import { Effect, Fiber, type Scope } from "effect"
import { createReadStream, mkdirSync, rmSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { wait } from "../support/ServerProcess.ts"
import { type Caller, grpcCaller, httpCaller, rpcCaller } from "./Callers.ts"
import * as ChaosCluster from "./ChaosCluster.ts"
import * as Faults from "./Faults.ts"
import { IdLedger } from "./IdLedger.ts"
import { kinds } from "./Kinds.ts"
import { LineFile } from "./LineFile.ts"
import { type Lane, REQUEST_LOG_HEADER, runLoad } from "./Load.ts"
import type { Profile, ScheduledFault } from "./Profiles.ts"
import * as Readiness from "./Readiness.ts"
import { type ChaosReport, kindReports, progressLine, table } from "./Report.ts"
import { Tally } from "./Tally.ts"
import { faultKinds, Timeline } from "./Timeline.ts"

/** A request no node answers within this is a hang (the server's own bounds are ≤ 3 s). */
export const REQUEST_TIMEOUT_MS = 10_000
/** Every node must be ready this soon after its dependencies are back. */
export const READY_WITHIN_MS = 5_000
const PROGRESS_EVERY_MS = 5_000

export interface RunOptions {
  readonly resultsRoot: string
  /** Keep the ID files even when there is no duplicate (they are kept as evidence otherwise). */
  readonly keepIds?: boolean
  readonly log?: (line: string) => void
}

export const run = (profile: Profile, options: RunOptions): Effect.Effect<ChaosReport, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const log = options.log ?? ((line: string) => console.log(line))
    const loadAverageAtStart = loadavg()
    const startedAt = new Date()
    const dir = join(options.resultsRoot, `${profile.name}-${startedAt.toISOString().replace(/[:.]/g, "-")}`)
    mkdirSync(dir, { recursive: true })
    log(`chaos run "${profile.name}": starting the cluster (results in ${dir})`)
    const cluster = yield* ChaosCluster.make({ secondDatacenter: profile.secondDatacenter })
    const { nodes, apiKey } = cluster

    const timeline = new Timeline(Date.now())
    const ledger = new IdLedger(join(dir, "ids"))
    const requests = new LineFile(join(dir, "requests.tsv"))
    requests.write(REQUEST_LOG_HEADER)
    const tally = new Tally(kinds.map((k) => k.tag))
    const faults = Faults.make(cluster, timeline, join(dir, "redis-snapshot.rdb"))
    const addresses = nodes.map((n) => ({ baseUrl: n.server.baseUrl, grpcPort: n.server.grpcPort }))
    const http = httpCaller(addresses, apiKey, REQUEST_TIMEOUT_MS)
    const grpc = yield* grpcCaller(addresses, apiKey, REQUEST_TIMEOUT_MS)
    const lanes: Array<Lane> = []
    for (const spec of profile.lanes) {
      for (let i = 0; i < spec.count; i++) {
        const caller: Caller = spec.via === "http"
          ? http
          : spec.via === "grpc"
          ? grpc
          : yield* rpcCaller(addresses, apiKey, REQUEST_TIMEOUT_MS, lanes.length)
        lanes.push({ via: spec.via, size: spec.size, perSecond: spec.perSecond, caller })
      }
    }

    let loadStopped = false
    let faultsStopped = false
    let samplingStopped = false
    const samples = new Map<number, Array<Readiness.Sample>>()
    const crashes: Array<Readiness.Crash> = []
    const load = yield* Effect.forkChild(
      runLoad(lanes, kinds.map((k) => k.tag), { tally, ledger, requests, started: timeline.started }, () => loadStopped)
    )
    const sampler = yield* Effect.forkChild(
      Readiness.sample(nodes, faults.restarting, timeline, () => samplingStopped, samples, crashes)
    )
    const progress = yield* Effect.forkChild(Effect.gen(function*() {
      while (!loadStopped) {
        yield* wait(PROGRESS_EVERY_MS)
        log(progressLine(timeline, tally, ledger.repeats))
      }
    }))

    // Node kills on their own beat, rotating; the clock node's chosen kill restarts it behind.
    const clockNode = nodes.find((n) => n.clock !== undefined)
    const kills = yield* Effect.forkChild(Effect.gen(function*() {
      const inFlight: Array<Fiber.Fiber<void>> = []
      const killsOf = new Map<number, number>()
      for (let k = 0; !faultsStopped; k++) {
        yield* waitUntil(timeline, (k + 1) * profile.killEveryMs, () => faultsStopped)
        if (faultsStopped) break
        const node = nodes[k % nodes.length]!
        if (faults.restarting.has(node.index)) continue
        const nth = killsOf.get(node.index) ?? 0
        killsOf.set(node.index, nth + 1)
        const behind = node === clockNode && nth === profile.behindOnKill ? 2_000 : undefined
        inFlight.push(yield* Effect.forkChild(faults.killNode(node, behind)))
      }
      yield* Fiber.joinAll(inFlight)
    }))

    const scheduled = (fault: ScheduledFault): Effect.Effect<void> => {
      switch (fault.kind) {
        case "postgres-restart":
          return faults.restartPostgres(fault.downMs)
        case "postgres-failover":
          return faults.failoverPostgres(fault.lagMs)
        case "etcd-leader-kill":
          return faults.killEtcdLeader(fault.downMs)
        case "etcd-quorum-loss":
          return faults.loseEtcdQuorum(fault.downMs)
        case "redis-snapshot":
          return Effect.orDie(faults.snapshotRedis)
        case "redis-kill":
          return faults.killRedis
        case "redis-restore":
          return faults.restoreRedis
        case "clock-step":
          return clockNode === undefined
            ? Effect.void
            : faults.stepClock(clockNode, fault.byMs === "reset" ? -clockNode.clock!.offset() : fault.byMs)
      }
    }
    const schedule = yield* Effect.forkChild(Effect.gen(function*() {
      const inFlight: Array<Fiber.Fiber<void>> = []
      for (const fault of profile.schedule) {
        yield* waitUntil(timeline, fault.at, () => faultsStopped)
        if (faultsStopped) break
        inFlight.push(yield* Effect.forkChild(scheduled(fault)))
      }
      yield* Fiber.joinAll(inFlight)
    }))

    // Load until the profile's time and IDs are reached (bounded), faults finished first.
    while (
      (timeline.now() < profile.loadMs || tally.ids < profile.minIds) && timeline.now() < profile.maxLoadMs
    ) yield* wait(200)
    faultsStopped = true
    yield* Fiber.join(kills)
    yield* Fiber.join(schedule)
    loadStopped = true
    yield* Fiber.join(load)
    const loadMs = timeline.now()
    tally.finish(Date.now())
    yield* Fiber.interrupt(progress)

    // Every node ready again once nothing is broken any more.
    const allReadyAtEnd = yield* Effect.map(
      Effect.forEach(nodes, (node) => Effect.exit(ChaosCluster.awaitReady(node.server, 30_000))),
      (exits) => exits.every((exit) => exit._tag === "Success")
    )
    samplingStopped = true
    yield* Fiber.join(sampler)

    log("chaos run: counting duplicates")
    const { spaces, evidence } = yield* Effect.promise(() => ledger.finish())
    requests.close()
    const requestLines = yield* Effect.promise(() => linesOf(requests.path, new Set(evidence.flatMap((e) => e.requests))))
    const duplicates = spaces.reduce((n, s) => n + s.duplicates, 0)
    if (duplicates === 0 && ledger.malformed.length === 0 && !options.keepIds) rmSync(join(dir, "ids"), { recursive: true, force: true })

    const afterDependencies = Readiness.readyAfterDependencies(timeline, nodes, samples, READY_WITHIN_MS)
    const known = afterDependencies.flatMap((r) => (r.readyAfterMs === undefined ? [] : [r.readyAfterMs]))
    const report: ChaosReport = {
      profile: profile.name,
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      loadMs,
      machine: { cpus: cpus().length, loadAverageAtStart, node: process.version },
      nodes: nodes.map((n) => ({ name: n.name, datacenter: n.datacenter, fakeClock: n.clock !== undefined })),
      ids: tally.ids,
      duplicates,
      idsPerSecond: tally.ids / (loadMs / 1000),
      keySetBytes: ledger.memoryBytes,
      spaces,
      duplicateEvidence: evidence.map((e) => ({ ...e, requestLines: e.requests.map((r) => requestLines.get(r) ?? `request ${r}: not logged`) })),
      malformedIds: ledger.malformed,
      requests: tally.requests,
      kinds: kindReports(tally, timeline, (tag) => kinds.find((k) => k.tag === tag)?.minSuccessRatio),
      interfaces: [...tally.interfaces].map(([via, c]) => ({ via, ...c })),
      errorsByCode: tally.errors,
      requestsThatSkippedANode: tally.skippedNodes,
      breaches: tally.breaches,
      readiness: {
        afterDependencies,
        worstAfterDependencyMs: known.length === 0 ? undefined : Math.max(...known),
        notReadyAgain: afterDependencies.filter((r) => r.readyAfterMs === undefined),
        afterRestarts: Readiness.readyAfterRestarts(timeline, nodes, samples),
        allReadyAtEnd
      },
      crashes,
      logProblems: nodes.flatMap((n) =>
        n.server.output().split("\n").filter((line) => /uncaught|unhandled/i.test(line)).slice(0, 20).map((line) => `${n.name}: ${line}`)
      ),
      faults: timeline.faults,
      faultKindsMissing: faultKinds.filter((kind) => !timeline.faults.some((f) => f.kind === kind && f.error === undefined)),
      resultsDir: dir
    }
    writeFileSync(join(dir, "report.json"), JSON.stringify(report, null, 2))
    writeFileSync(join(dir, "report.txt"), `${table(report)}\n`)
    return report
  })

/** Waits until `at` ms into the run, or until `stop()`. */
const waitUntil = (timeline: Timeline, at: number, stop: () => boolean) =>
  Effect.gen(function*() {
    for (let left = at - timeline.now(); !stop() && left > 0; left = at - timeline.now()) yield* wait(Math.min(200, left))
  })

/** The lines of the request log whose request number is in `wanted`. */
const linesOf = async (path: string, wanted: ReadonlySet<number>): Promise<Map<number, string>> => {
  const found = new Map<number, string>()
  if (wanted.size === 0) return found
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    const request = Number(line.slice(0, line.indexOf("\t")))
    if (wanted.has(request)) found.set(request, line)
  }
  return found
}
