/**
 * A program of a project that installed idgen's packed tarballs (test/client/packaging.test.ts
 * copies it there): both ID clients and both operator API clients against a live server,
 * printing what they got as JSON. It closes nothing explicitly but the Promise client's
 * `await using`, so the process ends on its own only if that released the connections.
 *
 *   node consumer.ts <server url> <api key> <workspace> <another workspace> <admin token>
 */
import { IdgenAdminClient, IdgenAdminPromiseClient, IdgenClient, IdgenPromiseClient } from "@idgen/client"
import { Errors } from "@idgen/core"
import { Effect } from "effect"

const [url = "", apiKey = "", workspace = "", other = "", adminToken = ""] = process.argv.slice(2)
const tag = `${workspace}/shop/orders`

const describe = (error: unknown) =>
  error instanceof Errors.Forbidden || error instanceof Errors.InvalidRequest || error instanceof Errors.Conflict
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

const adminViaPromises = async () => {
  const admin = IdgenAdminPromiseClient.make({ url, adminToken })
  const created = await admin.admin.createWorkspace({ payload: { name: "packed-admin" } })
  const key = await admin.admin.createApiKey({ params: { ws: created.name }, payload: { name: "consumer" } })
  const error = await admin.admin.createWorkspace({ payload: { name: "packed-admin" } }).then(() => undefined, (e: unknown) => e)
  return { workspace: created.name, key: key.id, error: describe(error) }
}

const adminViaEffect = Effect.gen(function*() {
  const admin = yield* IdgenAdminClient
  const page = yield* admin.admin.listApiKeys({ params: { ws: "packed-admin" }, query: {} })
  const workspaces = yield* admin.admin.listWorkspaces()
  return { keys: page.items.map((k) => k.id), workspaces: workspaces.map((w) => w.name) }
}).pipe(Effect.provide(IdgenAdminClient.layer({ url, adminToken })))

console.log(JSON.stringify({
  promise: await viaPromises(),
  effect: await Effect.runPromise(viaEffect),
  adminPromise: await adminViaPromises(),
  adminEffect: await Effect.runPromise(adminViaEffect)
}))
