/**
 * UUID v7 take rate: the core generator (as the server builds it, CSPRNG-fed) and the
 * server's UuidGenerator service (per request: v7(1); per batch: v7(1000)) against the
 * `uuid` package's v7(). Prints one BENCH_RESULT line.
 */
import { UuidV7Generator } from "@idgen/core/uuid/UuidV7"
import { UuidGenerator } from "@idgen/server/uuid/UuidGenerator"
import { Effect } from "effect"
import { getRandomValues } from "node:crypto"
import { v7 as uuidV7 } from "uuid"
import { type Body, compare, envNumber, ring } from "../lib/measure.ts"
import { emit } from "../lib/protocol.ts"

const roundMs = envNumber("BENCH_ROUND_MS", 300)
const rounds = envNumber("BENCH_ROUNDS", 10)

const core = new UuidV7Generator((bytes) => void getRandomValues(bytes))
const service = Effect.runSync(Effect.provide(UuidGenerator.useSync((s) => s), UuidGenerator.layer))

const SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
for (const sample of [core.next(Date.now()), service.v7(1)[0]!, service.v7(1000)[999]!, uuidV7()]) {
  if (!SHAPE.test(sample)) throw new Error(`not a UUID v7: ${sample}`)
}

const s1: Array<string> = ring("")
const coreNext: Body = (k) => {
  for (let i = 0; i < k; i++) s1[i & 1023] = core.next(Date.now())
  return k
}
const s2: Array<string> = ring("")
const serviceOne: Body = (k) => {
  for (let i = 0; i < k; i++) s2[i & 1023] = service.v7(1)[0]!
  return k
}
// A short ring: holding 1024 batches (a million strings) would measure the GC instead.
const s3: Array<ReadonlyArray<string>> = ring([], 8)
const serviceBatch: Body = (k) => {
  for (let i = 0; i < k; i += 1000) s3[(i / 1000) & 7] = service.v7(1000)
  return k
}
const s4: Array<string> = ring("")
const pkg: Body = (k) => {
  for (let i = 0; i < k; i++) s4[i & 1023] = uuidV7()
  return k
}

const series = await compare(
  [
    { name: "uuid.v7()", body: pkg },
    { name: "core UuidV7Generator.next", body: coreNext },
    { name: "server UuidGenerator.v7(1)", body: serviceOne },
    { name: "server UuidGenerator.v7(1000)", body: serviceBatch, chunk: 16_000 }
  ],
  { warmupMs: 500, roundMs, rounds }
)
emit({ series })
