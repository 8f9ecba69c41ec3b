/**
 * Snowflake: the server's SnowflakeGenerator (next(1000) repeatedly, waits included)
 * against its 1,024,000/s cap, and @sapphire/snowflake generate() over the same duration.
 *
 * Duplicates. idgen: every ID is compared with the one issued before it, over the whole
 * run (warm-up and all windows), without keeping the IDs — retaining millions of strings
 * would make the measured rate a GC benchmark. A strictly increasing stream has no
 * duplicates, so the count is exact whenever there is no order violation (otherwise it
 * is a lower bound and says so). Sapphire: all IDs of a window as int64, sorted and
 * compared (exact). Prints one BENCH_RESULT line.
 */
import { Snowflake as Sapphire } from "@sapphire/snowflake"
import { load } from "@idgen/server/config/ConfigLoader"
import { ServerConfig } from "@idgen/server/config/ServerConfig"
import { SnowflakeGenerator } from "@idgen/server/snowflake/SnowflakeGenerator"
import { WorkerIdentity } from "@idgen/server/snowflake/WorkerIdentity"
import { Effect, Layer, ManagedRuntime } from "effect"
import { cpuMeter, envNumber, type Run, summarize } from "../lib/measure.ts"
import { emit } from "../lib/protocol.ts"

const roundMs = envNumber("BENCH_SNOWFLAKE_ROUND_MS", 2000)
const rounds = envNumber("BENCH_SNOWFLAKE_ROUNDS", 3)
const warmupMs = 500

const config = await Effect.runPromise(load({}))
// A managed runtime keeps the layer (and the generator's clock-catcher fiber) alive for
// the whole run; it ends with the process.
const runtime = ManagedRuntime.make(
  SnowflakeGenerator.layer.pipe(
    Layer.provide(WorkerIdentity.layerUnpersisted),
    Layer.provide(Layer.succeed(ServerConfig, config))
  )
)
const generator = await runtime.runPromise(SnowflakeGenerator.useSync((s) => s))

/** Sorted in place → number of values that equal their predecessor. */
const duplicatesOf = (values: BigInt64Array): number => {
  values.sort()
  let dups = 0
  for (let i = 1; i < values.length; i++) if (values[i] === values[i - 1]) dups++
  return dups
}

/** Decimal strings without leading zeros: shorter is smaller; equally long compare as text. */
const less = (a: string, b: string) => a.length < b.length || (a.length === b.length && a < b)

let last = ""
let issued = 0
let equalToPrevious = 0
let orderViolations = 0

const idgenRound = (ms: number) =>
  Effect.gen(function*() {
    const cpu = cpuMeter()
    const start = performance.now()
    const end = start + ms
    let ops = 0
    let now = start
    while (now < end) {
      const ids = yield* generator.next(1000)
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!
        if (id === last) equalToPrevious++
        else if (!less(last, id) && last !== "") orderViolations++
        last = id
      }
      ops += ids.length
      now = performance.now()
    }
    issued += ops
    const elapsed = now - start
    const run: Run = { ops, ms: elapsed, rate: (ops * 1000) / elapsed, stalls: 0, stallMs: 0, cpuShare: cpu() }
    return run
  })

const sapphire = new Sapphire(config.snowflake.epochMs)
const CAPACITY = 32 * 1024 * 1024
const sapphireIds = new BigInt64Array(CAPACITY)
let sapphireDuplicates = 0
let sapphireFull = false

const sapphireRound = (ms: number, record: boolean): Run => {
  const cpu = cpuMeter()
  const start = performance.now()
  const end = start + ms
  let n = 0
  let now = start
  while (now < end && n + 4096 <= CAPACITY) {
    for (let i = 0; i < 4096; i++) sapphireIds[n++] = sapphire.generate()
    now = performance.now()
  }
  if (now < end) sapphireFull = true
  const elapsed = now - start
  const cpuShare = cpu()
  const dups = duplicatesOf(sapphireIds.subarray(0, n))
  if (record) sapphireDuplicates += dups
  return { ops: n, ms: elapsed, rate: (n * 1000) / elapsed, stalls: 0, stallMs: 0, cpuShare }
}

const idgenRuns: Array<Run> = []
const sapphireRuns: Array<Run> = []
await Effect.runPromise(idgenRound(warmupMs))
sapphireRound(warmupMs, false)
for (let round = 0; round < rounds; round++) {
  // Alternate which one runs first.
  if (round % 2 === 0) {
    idgenRuns.push(await Effect.runPromise(idgenRound(roundMs)))
    sapphireRuns.push(sapphireRound(roundMs, true))
  } else {
    sapphireRuns.push(sapphireRound(roundMs, true))
    idgenRuns.push(await Effect.runPromise(idgenRound(roundMs)))
  }
}

emit({
  cap: 1_024_000,
  idgen: {
    ...summarize("SnowflakeGenerator.next(1000)", idgenRuns),
    issued,
    duplicates: equalToPrevious,
    duplicatesExact: orderViolations === 0,
    orderViolations
  },
  sapphire: {
    ...summarize("@sapphire/snowflake generate()", sapphireRuns),
    duplicates: sapphireDuplicates,
    capacityReached: sapphireFull
  }
})
