/**
 * Child process of `npm run bench`: IDs delivered by the client SDK in-process, with a live
 * server behind it. A consumer loop takes IDs (`takeSync`, awaiting `next` only when the
 * local stock is empty) while the SDK refills in the background with batch RPCs:
 * - "stock": from a full stock (high watermark) until it has been taken once over — what an
 *   application sees per call while its average rate stays below the refill rate;
 * - "sustained": for `seconds`, as fast as possible — bounded by the refill rate, i.e. by
 *   the server and the wire.
 * Every ID taken is checked against its predecessor (segment: strictly increasing), so a
 * duplicate or a reordering would show. Prints `BENCH_RESULT`.
 */
import { IdgenPromiseClient } from "@idgen/client"
import { emit } from "../lib/protocol.ts"

interface Spec {
  readonly server: string
  readonly apiKey: string
  readonly tag: string
  readonly seconds: number
  readonly batchSize: number
  readonly highWatermark: number
  readonly concurrency: number
}

const spec = JSON.parse(process.argv[2]!) as Spec
const client = await IdgenPromiseClient.connect({
  endpoints: [spec.server],
  apiKey: spec.apiKey,
  prefetch: {
    batchSize: spec.batchSize,
    lowWatermark: spec.highWatermark / 2,
    highWatermark: spec.highWatermark,
    concurrency: spec.concurrency
  }
})
const tag = spec.tag
const take = client.taker(tag)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let last = 0
let orderViolations = 0
/** Takes `n` IDs as fast as possible; checks order on a sample-free basis (every ID). */
const consume = async (n: number, until: number): Promise<number> => {
  let taken = 0
  while (taken < n && (taken & 0xfff || performance.now() < until)) {
    let id = take()
    if (id === undefined) id = await client.next(tag)
    const value = Number(id)
    if (!(value > last)) orderViolations++
    last = value
    taken++
  }
  return taken
}

const fill = async () => {
  await client.warm(tag)
  // The stock fills in the background; wait until it is (nearly) at the high watermark.
  for (let i = 0; i < 2000 && client.prefetchStats(tag).buffered < spec.highWatermark - spec.batchSize; i++) await sleep(5)
}

// Warm-up round (JIT, connection, biz_tag creation)
await fill()
await consume(spec.highWatermark, Number.POSITIVE_INFINITY)

const stockRuns: Array<number> = []
for (let round = 0; round < 3; round++) {
  await fill()
  const dryBefore = client.prefetchStats(tag).dryTakes
  const began = performance.now()
  const taken = await consume(spec.highWatermark, Number.POSITIVE_INFINITY)
  const seconds = (performance.now() - began) / 1000
  stockRuns.push(taken / seconds)
  if (client.prefetchStats(tag).dryTakes !== dryBefore) process.stderr.write(`stock round ${round}: ran dry\n`)
}

await fill()
const cpuBefore = process.cpuUsage()
const began = performance.now()
const dryBefore = client.prefetchStats(tag).dryTakes
const taken = await consume(Number.POSITIVE_INFINITY, began + spec.seconds * 1000)
const seconds = (performance.now() - began) / 1000
const cpu = process.cpuUsage(cpuBefore)
const stats = client.prefetchStats(tag)
await client.close()
emit({
  stock: { best: Math.max(...stockRuns), runs: stockRuns, ids: spec.highWatermark },
  sustained: {
    idsPerSecond: taken / seconds,
    ids: taken,
    seconds,
    dryTakes: stats.dryTakes - dryBefore,
    cpuShare: (cpu.user + cpu.system) / 1000 / (seconds * 1000)
  },
  orderViolations,
  refills: stats.refills,
  failedRefills: stats.failedRefills
})
process.exit(0)
