/**
 * A program of a project that installed idgen's packed tarballs (test/client/packaging.test.ts
 * copies it there): both clients against a live server, printing what they got as JSON. It
 * closes nothing explicitly but the Promise client's `await using`, so the process ends on
 * its own only if that released the connections.
 *
 *   node consumer.ts <server url> <api key> <workspace> <another workspace>
 */
import { IdgenClient, IdgenPromiseClient } from "@idgen/client"
import { Errors } from "@idgen/core"
import { Effect } from "effect"

const [url = "", apiKey = "", workspace = "", other = ""] = process.argv.slice(2)
const tag = `${workspace}/shop/orders`

const describe = (error: unknown) =>
  error instanceof Errors.Forbidden || error instanceof Errors.InvalidRequest
    ? { tag: error._tag, code: error.code }
    : { unexpected: String(error) }

const viaPromises = async () => {
  await using idgen = await IdgenPromiseClient.connect({ endpoints: [url], apiKey })
  const ids = [await idgen.next(tag), ...(await idgen.batch(tag, 3)).ids]
  const error = await idgen.generate(`${other}/shop/orders`).then(() => undefined, (e: unknown) => e)
  return { ids, error: describe(error) }
}

const viaEffect = Effect.gen(function*() {
  const idgen = yield* IdgenClient
  const { id } = yield* idgen.generate(tag)
  const error = yield* Effect.flip(idgen.batch(tag, 0))
  return { ids: [id], error: describe(error) }
}).pipe(Effect.provide(IdgenClient.layer({ endpoints: [url], apiKey })))

console.log(JSON.stringify({ promise: await viaPromises(), effect: await Effect.runPromise(viaEffect) }))
