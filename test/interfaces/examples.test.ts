/**
 * The README's gRPC and RPC-client examples (`examples/*.ts`) run as documented against a
 * real server, and print what the README says they print.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { join, resolve } from "node:path"
import { ServerProcess, workspaceWithKey } from "../support/ServerProcess.ts"

const repoRoot = resolve(import.meta.dirname, "../..")

const runExample = (file: string, args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.callback<{ code: number; stdout: string; stderr: string }>((resume) => {
    // As the README runs them: through npm, which brings Node 24 and the source condition (.npmrc)
    const child = execFile("npm", ["exec", "--", "node", join("examples", file), ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      timeout: 60_000
    }, (error, stdout, stderr) => resume(Effect.succeed({ code: error === null ? 0 : (error.code as number) ?? 1, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

layer(ServerProcess.layer(), { timeout: "120 seconds", excludeTestServices: true })("README examples", (it) => {
  it.effect("examples/grpc-client.ts and examples/rpc-client.ts", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "acme" })

      const grpc = yield* runExample("grpc-client.ts", ["acme/orders/order-id"], {
        IDGEN_GRPC: `127.0.0.1:${server.grpcPort}`,
        IDGEN_API_KEY: apiKey
      })
      assert.strictEqual(grpc.code, 0, grpc.stderr)
      const [batch, ...rest] = grpc.stdout.trim().split("\n")
      assert.match(batch!, /^segment \d+ \d+ \d+$/)
      assert.include(grpc.stdout, "algorithm: 'segment'")
      assert.include(rest.join("\n"), "INVALID_ARGUMENT IDGEN-COMMON-0001: Invalid request message: size")

      const rpc = yield* runExample("rpc-client.ts", ["acme/orders/order-id"], {
        IDGEN_URL: server.baseUrl,
        IDGEN_API_KEY: apiKey
      })
      assert.strictEqual(rpc.code, 0, rpc.stderr)
      const next = /^next: (\d+), then \d+ \(bigint\)$/m.exec(rpc.stdout)
      const batched = /^batch: (\d+) \d+ \d+ \d+ \d+ \(segment\)$/m.exec(rpc.stdout)
      assert.isNotNull(next, rpc.stdout)
      assert.isNotNull(batched, rpc.stdout)
      // As the README explains the jump: the stock's first two refills of 1000 went before `batch`.
      assert.strictEqual(Number(batched![1]) - Number(next![1]), 2000, rpc.stdout)
      assert.match(rpc.stdout, /^refused: The API key belongs to workspace acme, not someone-else$/m)
      assert.include(rpc.stdout, "algorithm: 'segment'")
    }))
})
