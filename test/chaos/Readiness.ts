/**
 * `/ready` of every node sampled through the run, and what the samples say: how long each
 * node took to be ready again after its dependencies (PostgreSQL, etcd) came back, how long
 * a restarted node took, and whether a node process died without being killed.
 */
import { Effect } from "effect"
import { alive } from "../support/ProcessAlive.ts"
import { wait } from "../support/ServerProcess.ts"
import type { ChaosNode } from "./ChaosCluster.ts"
import { dependencyFaults, type Fault, type Timeline } from "./Timeline.ts"

export interface Sample {
  readonly at: number
  readonly ready: boolean
}

export interface Crash {
  readonly node: string
  readonly at: number
  readonly detail: string
}

export interface ReadyAfter {
  readonly node: string
  /** The fault whose end brought the last missing dependency back. */
  readonly fault: string
  readonly returnedAt: number
  /** Undefined: not ready again before the run ended. */
  readonly readyAfterMs: number | undefined
}

const SAMPLE_EVERY_MS = 200

/** Samples every node until `stop()`, noting processes that vanished while nobody killed them. */
export const sample = (
  nodes: ReadonlyArray<ChaosNode>,
  restarting: ReadonlySet<number>,
  timeline: Timeline,
  stop: () => boolean,
  samples: Map<number, Array<Sample>>,
  crashes: Array<Crash>
): Effect.Effect<void> =>
  Effect.forEach(nodes, (node) =>
    Effect.gen(function*() {
      const mine: Array<Sample> = []
      samples.set(node.index, mine)
      let reportedDead = false
      while (!stop()) {
        const ready = yield* Effect.promise(() =>
          fetch(`${node.server.baseUrl}/ready`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status === 200, () => false)
        )
        const at = timeline.now()
        mine.push({ at, ready })
        const pid = node.server.pid()
        if (!restarting.has(node.index) && !reportedDead && (pid === undefined || !alive(pid))) {
          reportedDead = true
          crashes.push({ node: node.name, at, detail: `process gone:\n${node.server.output().slice(-2000)}` })
        } else if (alive(pid ?? -1)) {
          reportedDead = false
        }
        yield* wait(SAMPLE_EVERY_MS)
      }
    }), { concurrency: "unbounded", discard: true })

const firstReady = (samples: ReadonlyArray<Sample>, from: number) => samples.find((s) => s.at >= from && s.ready)

/**
 * For every moment a dependency fault ended with no other dependency fault still going on,
 * each node's time from then (or from its own restart, when it was being restarted) to its
 * next ready sample. A node that another fault (a dependency fault, or a kill of the node)
 * hits again before it is ready and before `windowMs` passed is left out: that says nothing
 * about recovery. One that is not ready within `windowMs` counts with its real time (or
 * undefined: never ready again before the run ended or the next fault).
 */
export const readyAfterDependencies = (
  timeline: Timeline,
  nodes: ReadonlyArray<ChaosNode>,
  samples: ReadonlyMap<number, ReadonlyArray<Sample>>,
  windowMs: number
): ReadonlyArray<ReadyAfter> => {
  const dependency = timeline.faults.filter((f) => dependencyFaults.has(f.kind) && f.end !== undefined)
  const returns = dependency.filter((f) => !dependency.some((other) => other !== f && other.start <= f.end! && other.end! > f.end!))
  const killsOf = (node: ChaosNode) => timeline.faults.filter((f) => f.kind.startsWith("node-kill") && f.target === node.name)
  return returns.flatMap((fault: Fault) =>
    nodes.flatMap((node) => {
      const restart = killsOf(node).find((k) => k.start <= fault.end! && (k.end ?? Infinity) >= fault.end!)
      if (restart !== undefined && restart.end === undefined) return []
      const from = restart?.end ?? fault.end!
      const next = Math.min(
        ...dependency.filter((f) => f.start > fault.end!).map((f) => f.start),
        ...killsOf(node).filter((k) => k.start > from).map((k) => k.start)
      )
      const ready = firstReady(samples.get(node.index) ?? [], from)
      const readyAfterMs = ready !== undefined && ready.at < next ? ready.at - from : undefined
      if (readyAfterMs === undefined && next - from < windowMs) return []
      return [{ node: node.name, fault: `${fault.kind} ${fault.target}`, returnedAt: from, readyAfterMs }]
    })
  )
}

/** For every node restart: from the process answering `/live` to its next ready sample. */
export const readyAfterRestarts = (
  timeline: Timeline,
  nodes: ReadonlyArray<ChaosNode>,
  samples: ReadonlyMap<number, ReadonlyArray<Sample>>
): ReadonlyArray<{ readonly node: string; readonly kind: string; readonly at: number; readonly readyAfterMs: number | undefined }> =>
  timeline.faults.filter((f) => f.kind.startsWith("node-kill") && f.end !== undefined).map((f) => {
    const node = nodes.find((n) => n.name === f.target)!
    const ready = firstReady(samples.get(node.index) ?? [], f.end!)
    return { node: f.target, kind: f.kind, at: f.start, readyAfterMs: ready === undefined ? undefined : ready.at - f.end! }
  })
