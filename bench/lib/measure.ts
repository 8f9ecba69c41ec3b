/**
 * Fixed-duration throughput measurement for in-process generators.
 *
 * A measured operation is given as a `Body`: a function that performs up to `k` operations
 * in a tight loop written for that operation only (so each loop is monomorphic) and returns
 * how many it performed; fewer than `k` means "nothing available right now" (a segment
 * buffer waiting for its refill), and the harness yields to the event loop until the body
 * can make progress again. Between chunks the harness always yields once (setImmediate),
 * for every candidate alike, so background fibers (refill loops) get to run as they would
 * between requests in the server.
 */

/** Performs up to `k` operations; returns how many were performed. */
export type Body = (k: number) => number

/**
 * A ring a measured loop writes its results into (`ring[i & (size - 1)] = result`), so the
 * loop cannot be optimised away and its results are materialised like a consumer's.
 */
export const ring = <A>(fill: A, size = 1024): Array<A> => Array.from({ length: size }, () => fill)

export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

export interface Run {
  readonly ops: number
  readonly ms: number
  /** Operations per second. */
  readonly rate: number
  /** Chunks that came back short (the body had nothing to hand out). */
  readonly stalls: number
  /** Time spent yielding after short chunks, ms. */
  readonly stallMs: number
  /**
   * CPU time of this process over wall time (1 = a whole core). Well below 1 for a busy
   * loop means the machine was busy and the process was descheduled: noise, not the code.
   */
  readonly cpuShare: number
}

/** Starts a CPU-share measurement; call the result at the end of the window. */
export const cpuMeter = () => {
  const cpu = process.cpuUsage()
  const start = performance.now()
  return () => {
    const used = process.cpuUsage(cpu)
    return (used.user + used.system) / 1000 / (performance.now() - start)
  }
}

/**
 * Runs `body` in chunks for `durationMs`. After a short chunk, `onStall` (when given) takes
 * the slow path and returns how many operations it performed; otherwise the harness yields.
 */
export const runFor = async (
  body: Body,
  durationMs: number,
  chunk: number,
  onStall?: () => Promise<number>
): Promise<Run> => {
  const cpu = cpuMeter()
  const start = performance.now()
  const end = start + durationMs
  let ops = 0
  let stalls = 0
  let stallMs = 0
  let now = start
  while (now < end) {
    const done = body(chunk)
    ops += done
    if (done < chunk) {
      stalls++
      const s = performance.now()
      if (onStall) ops += await onStall()
      else await tick()
      stallMs += performance.now() - s
    } else {
      await tick()
    }
    now = performance.now()
  }
  const ms = now - start
  return { ops, ms, rate: (ops * 1000) / ms, stalls, stallMs, cpuShare: cpu() }
}

export interface Candidate {
  readonly name: string
  readonly body: Body
  /** Operations per chunk; default 16 384. */
  readonly chunk?: number
  /** The slow path after a short chunk (see `runFor`). */
  readonly onStall?: () => Promise<number>
}

export interface Series {
  readonly name: string
  readonly runs: ReadonlyArray<Run>
  /** Best (highest) rate of the runs. */
  readonly best: number
  readonly median: number
  readonly min: number
}

export interface CompareOptions {
  readonly warmupMs: number
  readonly roundMs: number
  readonly rounds: number
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export const summarize = (name: string, runs: ReadonlyArray<Run>): Series => {
  const rates = runs.map((r) => r.rate)
  return { name, runs, best: Math.max(...rates), median: median(rates), min: Math.min(...rates) }
}

/**
 * Warms every candidate up, then runs `rounds` rounds of every candidate, rotating the
 * order each round so that no candidate always runs first (or right after the same one).
 * `runs[i]` of every series belongs to round `i` (see `pairedRatio`).
 */
export const compare = async (
  candidates: ReadonlyArray<Candidate>,
  options: CompareOptions
): Promise<Record<string, Series>> => {
  for (const c of candidates) await runFor(c.body, options.warmupMs, c.chunk ?? 16_384, c.onStall)
  const runs = new Map<string, Array<Run>>(candidates.map((c) => [c.name, []]))
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[(i + round) % candidates.length]!
      runs.get(c.name)!.push(await runFor(c.body, options.roundMs, c.chunk ?? 16_384, c.onStall))
    }
  }
  return Object.fromEntries(candidates.map((c) => [c.name, summarize(c.name, runs.get(c.name)!)]))
}

/** Numbers from the environment, for shortening or lengthening runs. */
export const envNumber = (name: string, fallback: number): number => {
  const raw = process.env[name]
  const value = raw === undefined || raw === "" ? Number.NaN : Number(raw)
  return Number.isFinite(value) && value > 0 ? value : fallback
}

/**
 * The median over rounds of `candidate`'s rate divided by `baseline`'s rate in the same
 * round. Rounds are short and adjacent, so a neighbour that slows the machine for a while
 * slows both sides of a pair: the ratio is much steadier than a ratio of two bests.
 */
export const pairedRatio = (candidate: Series, baseline: Series): number =>
  median(candidate.runs.map((run, i) => run.rate / baseline.runs[i]!.rate))
