/**
 * A misspelled environment variable (IDGEN_HTTP_PROT) is warned of once at start — by the
 * primary of worker processes too, not once per worker — with the setting it is close to;
 * the node starts anyway.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { ServerProcess } from "../support/ServerProcess.ts"

const env = { IDGEN_HTTP_PROT: "19099", IDGEN_WORKERS: "2", IDGEN_WORKER_ID: "60" }

layer(ServerProcess.layer({ env }), { timeout: "120 seconds", excludeTestServices: true })("unknown IDGEN_* variables", (it) => {
  it.effect("IDGEN_HTTP_PROT: one warning, 'did you mean IDGEN_HTTP_PORT?', and the node serves", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const warned = server.output().split("\n").filter((line) => line.includes("IDGEN_HTTP_PROT"))
      assert.strictEqual(warned.length, 1, server.output())
      assert.include(warned[0], "WARN")
      assert.include(warned[0], "environment variable IDGEN_HTTP_PROT is not read by idgen (no setting has it); did you mean IDGEN_HTTP_PORT?")
      assert.strictEqual((yield* server.request("GET", "/live")).status, 200)
    }))
})
