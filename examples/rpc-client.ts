/**
 * The typed Effect client (`@idgen/client`): Effect RPC over WebSocket, failover between
 * servers, and a local stock of prefetched IDs per biz_tag.
 *
 *   IDGEN_URL=http://127.0.0.1:8080 IDGEN_API_KEY=idgen_acme_… npm exec -- node examples/rpc-client.ts acme/orders/order-id
 */
import { IdgenClient } from "@idgen/client"
import { Errors } from "@idgen/core"
import { Console, Effect } from "effect"

const tag = process.argv[2] ?? "acme/orders/order-id"

const program = Effect.gen(function*() {
  const idgen = yield* IdgenClient
  // Prefetched: after the first refill, next() is a local take (no round trip).
  const first = yield* idgen.next(tag)
  const second = yield* idgen.nextBigInt(tag)
  yield* Console.log(`next: ${first}, then ${second} (bigint)`)
  const batch = yield* idgen.batch(tag, 5)
  yield* Console.log(`batch: ${batch.ids.join(" ")} (${batch.algorithm})`)
  // Server errors are the typed IDGEN errors of @idgen/core.
  const refused = yield* idgen.generate("someone-else/orders/order-id").pipe(
    Effect.catchTag("Forbidden", (error) => Effect.succeed(`refused: ${error.message}`))
  )
  yield* Console.log(refused)
  const info = yield* idgen.parse(first, tag)
  yield* Console.log(info)
})

Effect.runPromise(
  program.pipe(
    Effect.provide(IdgenClient.layer({
      endpoints: (process.env.IDGEN_URL ?? "http://127.0.0.1:8080").split(","), // several: failover in order
      apiKey: process.env.IDGEN_API_KEY ?? "",
      timeout: "5 seconds" // no call waits longer; then AllServersUnavailable
    })),
    Effect.catchIf((error) => error instanceof Errors.Unauthorized, (error) => Console.error(`bad key: ${error.message}`))
  )
)
