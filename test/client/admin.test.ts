/**
 * The operator API's typed client (`IdgenAdminClient`, `IdgenAdminPromiseClient` of
 * @idgen/client, derived from the HTTP contract) against a real server process: answers
 * decoded to the contract's shapes, every failure an IDGEN error with its `_tag` and `.code`
 * (the server's own validation, naming the field) or `AdminRequestFailed` naming the URL.
 */
import { assert, layer } from "@effect/vitest"
import { type AdminError, AdminRequestFailed, IdgenAdminClient, IdgenAdminPromiseClient } from "@idgen/client"
import { Errors } from "@idgen/core"
import { type Duration, Effect } from "effect"
import { createServer as createHttpServer } from "node:http"
import { createServer, type Socket } from "node:net"
import { ADMIN_TOKEN, refusedPort, rfc3339, ServerProcess } from "../support/ServerProcess.ts"

const clientFor = (url: string, adminToken = ADMIN_TOKEN, timeout?: Duration.Input) =>
  IdgenAdminClient.pipe(Effect.provide(IdgenAdminClient.layer({ url, adminToken, timeout })))

/** A port that accepts connections and never answers, for the test's scope. */
const blackHole = Effect.acquireRelease(
  Effect.callback<{ readonly server: ReturnType<typeof createServer>; readonly sockets: Array<Socket> }>((resume) => {
    const sockets: Array<Socket> = []
    const server = createServer((socket) => sockets.push(socket))
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, sockets })))
  }),
  ({ server, sockets }) =>
    Effect.sync(() => {
      for (const socket of sockets) socket.destroy()
      server.close()
    })
).pipe(Effect.map(({ server }) => (server.address() as { readonly port: number }).port))

/** A port that answers every request with `status` and `body` (JSON), for the test's scope. */
const answering = (status: number, body: unknown) =>
  Effect.acquireRelease(
    Effect.callback<ReturnType<typeof createHttpServer>>((resume) => {
      const server = createHttpServer((_, response) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body)))
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.sync(() => server.close())
  ).pipe(Effect.map((server) => (server.address() as { readonly port: number }).port))

/** The IDGEN code of an error (AdminRequestFailed has none). */
const codeOf = (error: AdminError) => (error instanceof AdminRequestFailed ? undefined : error.code)

layer(ServerProcess.layer(), { timeout: "120 seconds", excludeTestServices: true })("operator API client", (it) => {
  it.effect("workspaces, biz_tags, API keys, audit, degradation and config through the Effect client", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const idgen = yield* clientFor(server.baseUrl)

      const created = yield* idgen.admin.createWorkspace({ payload: { name: "typed", rate_limit: { per_second: 100, burst: 200 } } })
      assert.strictEqual(created.name, "typed")
      assert.strictEqual(created.default_algorithm, "segment")
      assert.deepStrictEqual(created.rate_limit, { per_second: 100, burst: 200 })
      assert.match(created.created_at, rfc3339)
      const updated = yield* idgen.admin.updateWorkspace({ params: { ws: "typed" }, payload: { default_fallback: ["uuid_v7"] } })
      assert.deepStrictEqual(updated.default_fallback, ["uuid_v7"])
      assert.include((yield* idgen.admin.listWorkspaces()).map((w) => w.name), "typed")

      const tag = yield* idgen.admin.createBizTag({ params: { ws: "typed" }, payload: { group: "g", name: "orders", algorithm: "snowflake" } })
      assert.strictEqual(tag.algorithm, "snowflake")
      const tags = yield* idgen.admin.listBizTags({ params: { ws: "typed" } })
      assert.deepStrictEqual(tags.map((t) => [t.name, t.remaining]), [["orders", null]])
      yield* idgen.admin.deleteBizTag({ params: { ws: "typed", group: "g", name: "orders" } })

      const keys = yield* Effect.forEach(["a", "b", "c"], (name) =>
        idgen.admin.createApiKey({ params: { ws: "typed" }, payload: { name } }))
      assert.match(keys[0]!.key, /^idgen_typed_[0-9a-f]{32}$/)
      const first = yield* idgen.admin.listApiKeys({ params: { ws: "typed" }, query: { limit: 2 } })
      assert.strictEqual(first.items.length, 2)
      assert.isNotNull(first.next_cursor)
      const rest = yield* idgen.admin.listApiKeys({ params: { ws: "typed" }, query: { cursor: first.next_cursor! } })
      assert.sameMembers([...first.items, ...rest.items].map((k) => k.id), keys.map((k) => k.id))
      yield* idgen.admin.revokeApiKey({ params: { ws: "typed", id: keys[0]!.id } })

      const audit = yield* idgen.admin.listAudit({ query: { workspace: "typed", action: "create_workspace" } })
      assert.isArray(audit.items)
      const degradation = yield* idgen.degradation.getDegradation()
      assert.strictEqual(degradation.mode, "Normal")
      const config = yield* idgen.operations.getConfig()
      assert.include(config.live_settings, "log.level")
    }))

  it.effect("failures: IDGEN errors with tag and code (the server's 400 names the field, any status; an unencodable input before sending); no server, no answer in time or a non-contract answer: AdminRequestFailed", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const idgen = yield* clientFor(server.baseUrl)
      yield* idgen.admin.createWorkspace({ payload: { name: "twice" } })

      const conflict = yield* Effect.flip(idgen.admin.createWorkspace({ payload: { name: "twice" } }))
      assert.instanceOf(conflict, Errors.Conflict)
      assert.strictEqual(conflict._tag, "Conflict")
      assert.strictEqual(codeOf(conflict), "IDGEN-COMMON-0008")
      const missing = yield* Effect.flip(idgen.admin.getWorkspace({ params: { ws: "nowhere" } }))
      assert.strictEqual(codeOf(missing), "IDGEN-COMMON-0007")

      // Sent as given: the server judges, and says where
      const badName = yield* Effect.flip(idgen.admin.getWorkspace({ params: { ws: "Not A Name" } }))
      assert.instanceOf(badName, Errors.InvalidRequest)
      assert.strictEqual((badName as Errors.InvalidRequest).details?.location, "path")
      const badSince = yield* Effect.flip(idgen.admin.listAudit({ query: { since: "yesterday" } }))
      assert.strictEqual(codeOf(badSince), "IDGEN-COMMON-0001")
      assert.include(badSince.message, "since")
      const badLimit = yield* Effect.flip(idgen.admin.listApiKeys({ params: { ws: "twice" }, query: { limit: 0 } }))
      assert.strictEqual(codeOf(badLimit), "IDGEN-COMMON-0001")
      assert.include(badLimit.message, "limit")

      const wrongToken = yield* clientFor(server.baseUrl, "not-the-token")
      const refused = yield* Effect.flip(wrongToken.admin.listWorkspaces())
      assert.instanceOf(refused, Errors.Unauthorized)
      assert.strictEqual(codeOf(refused), "IDGEN-COMMON-0002")

      // An IDGEN body with a status the endpoint does not list (an unknown route's 404) is still its error
      const misrouted = yield* Effect.flip((yield* clientFor(`${server.baseUrl}/elsewhere`)).admin.listWorkspaces())
      assert.instanceOf(misrouted, Errors.NotFound)
      assert.strictEqual(codeOf(misrouted), "IDGEN-COMMON-0007")

      const closed = `http://127.0.0.1:${yield* refusedPort}`
      const unreachable = yield* Effect.flip((yield* clientFor(closed)).admin.listWorkspaces())
      assert.instanceOf(unreachable, AdminRequestFailed)
      assert.strictEqual(unreachable.message, `request to ${closed} failed: ECONNREFUSED`)

      // The caller's own bad input (a type the contract cannot encode) is its 400, before any request
      const unencodable = yield* Effect.flip((yield* clientFor(closed)).admin.listApiKeys({
        params: { ws: "twice" },
        query: { limit: "ten" as unknown as number }
      }))
      assert.instanceOf(unencodable, Errors.InvalidRequest)
      assert.strictEqual(codeOf(unencodable), "IDGEN-COMMON-0001")
      assert.match(unencodable.message, /^request not sent: .*limit/s)

      // An answer that is not the contract's is the server's fault
      const odd = `http://127.0.0.1:${yield* answering(200, { not: "a workspace list" })}`
      const unexpected = yield* Effect.flip((yield* clientFor(odd)).admin.listWorkspaces())
      assert.instanceOf(unexpected, AdminRequestFailed)
      assert.match(unexpected.message, new RegExp(`^unexpected answer from ${odd}: `))

      const silent = `http://127.0.0.1:${yield* blackHole}`
      const unanswered = yield* Effect.flip((yield* clientFor(silent, ADMIN_TOKEN, "300 millis")).admin.listWorkspaces())
      assert.instanceOf(unanswered, AdminRequestFailed)
      assert.match(unanswered.message, new RegExp(`^no answer from ${silent} within `))
    }))

  it.effect("the Promise client: the same calls, rejecting with the same errors", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const idgen = IdgenAdminPromiseClient.make({ url: `${server.baseUrl}/`, adminToken: ADMIN_TOKEN })
      const created = yield* Effect.promise(() => idgen.admin.createWorkspace({ payload: { name: "promised" } }))
      assert.strictEqual(created.name, "promised")
      const key = yield* Effect.promise(() => idgen.admin.createApiKey({ params: { ws: "promised" }, payload: null }))
      assert.isNull(key.expires_at)
      const page = yield* Effect.promise(() => idgen.admin.listApiKeys({ params: { ws: "promised" }, query: {} }))
      assert.deepStrictEqual(page.items.map((k) => k.id), [key.id])
      const rejected: unknown = yield* Effect.promise(() => idgen.admin.createWorkspace({ payload: { name: "promised" } }).then(() => undefined, (e: unknown) => e))
      assert.instanceOf(rejected, Errors.Conflict)
      assert.strictEqual((rejected as Errors.Conflict).code, "IDGEN-COMMON-0008")
    }))
})
