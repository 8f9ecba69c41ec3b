/**
 * A node loads what its configuration needs when it starts, and what is rarely used when it
 * is first used: each module loaded stays in memory (its source, its compiled code) for the
 * life of the process.
 */
import { afterAll, assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import * as ModuleLog from "../support/ModuleLog.ts"
import { ServerProcess } from "../support/ServerProcess.ts"

const log = join(mkdtempSync(join(tmpdir(), "idgen-module-log-")), "modules.log")

/** Effect's Scalar page script (`HttpApiScalar`), 3 MB. */
const docsScript = /\/effect\/dist\/http-api\/internal\/httpApiScalar\.js$/

layer(ServerProcess.layer({ env: ModuleLog.env(log) }), { timeout: "120 seconds", excludeTestServices: true })(
  "modules a node loads",
  (it) => {
    it.effect("the /docs page's script is loaded by the first request for /docs, not at start", () =>
      Effect.gen(function*() {
        const server = yield* ServerProcess
        const atStart = yield* ModuleLog.loaded(log)
        assert.isTrue(atStart.some((url) => url.endsWith("/packages/server/src/App.ts")), "the hook records the node's modules")
        assert.isFalse(atStart.some((url) => docsScript.test(url)), "Scalar's script loaded at start")

        const docs = yield* server.request("GET", "/docs")
        assert.strictEqual(docs.status, 200)
        assert.include(docs.text, "createApiReference")
        assert.isTrue((yield* ModuleLog.loaded(log)).some((url) => docsScript.test(url)))
        const again = yield* server.request("GET", "/docs")
        assert.strictEqual(again.text, docs.text)
      }))

    it.effect("without redis.url no Redis client is loaded (node-redis, via @effect/platform-node's index, nor ioredis)", () =>
      Effect.gen(function*() {
        const clients = (yield* ModuleLog.loaded(log)).filter((url) => /\/node_modules\/(@redis\/|redis\/|ioredis\/)/.test(url))
        assert.deepStrictEqual(clients, [])
      }))
  }
)

/** Node's TypeScript stripper (SWC in WebAssembly), loaded to strip the types of a `.ts` file not in the compile cache. */
const typeStripper = "node:internal/deps/amaro/dist/index"
const restartLog = join(mkdtempSync(join(tmpdir(), "idgen-module-log-")), "modules.log")
/** The server's os.tmpdir(), so that its compile cache (`main.js`) is its own and cold at the first start. */
const serverTmp = mkdtempSync(join(tmpdir(), "idgen-compile-cache-"))

afterAll(() => {
  for (const dir of [dirname(log), dirname(restartLog), serverTmp]) rmSync(dir, { recursive: true, force: true })
})

layer(ServerProcess.layer({ env: { ...ModuleLog.env(restartLog), TMPDIR: serverTmp } }), {
  timeout: "120 seconds",
  excludeTestServices: true
})("modules a restarted node loads", (it) => {
  it.effect("a start after the first loads no TypeScript compiler: every module comes from the compile cache", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      assert.include(yield* ModuleLog.loaded(restartLog), typeStripper, "the first start (cold cache) strips types")
      writeFileSync(restartLog, "")
      yield* server.restart
      const atRestart = yield* ModuleLog.loaded(restartLog)
      assert.isTrue(atRestart.some((url) => url.endsWith("/packages/server/src/App.ts")), "the hook records the restart")
      assert.notInclude(atRestart, typeStripper)
    }))
})
