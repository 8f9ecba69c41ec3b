/**
 * A private `redis-server` for tests that stop Redis or must not share its keys with other
 * suites: a free loopback port, no persistence, stopped (SIGTERM, then SIGKILL) when the
 * scope closes. `stop` and `start` simulate an outage on the same port; `make` starts
 * another one (a replica, say) in the current scope.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { Redis } from "ioredis"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, wait } from "./ServerProcess.ts"

export interface OwnRedisShape {
  readonly url: string
  readonly port: number
  /** Kills the server and waits for its exit. */
  readonly stop: Effect.Effect<void>
  /** Starts it again on the same port and waits until it answers PING. */
  readonly start: Effect.Effect<void>
  /** Runs one command against it (a fresh connection each time). */
  readonly command: (name: string, ...args: Array<string | Buffer>) => Effect.Effect<unknown>
  /** The same, with bulk replies as `Buffer`s (binary values such as a `DUMP` payload). */
  readonly commandBuffer: (name: string, ...args: Array<string | Buffer>) => Effect.Effect<unknown>
}

/** A running redis-server, stopped when the scope closes. */
export const make: Effect.Effect<OwnRedisShape, never, Scope.Scope> = Effect.gen(function*() {
  const port = yield* freePort
  const url = `redis://127.0.0.1:${port}`
  // Its own working directory: a replica's full sync writes an RDB file there.
  const dir = mkdtempSync(join(tmpdir(), "idgen-redis-"))
  let child: ChildProcess | undefined

  const send = (run: (client: Redis) => Promise<unknown>) =>
    Effect.promise(async () => {
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      client.on("error", () => {})
      try {
        await client.connect()
        return await run(client)
      } finally {
        client.disconnect()
      }
    })
  const command = (name: string, ...args: Array<string | Buffer>) => send((client) => client.call(name, ...args))
  const commandBuffer = (name: string, ...args: Array<string | Buffer>) =>
    send((client) => client.callBuffer(name, ...args))

  const ping = Effect.promise(() =>
    Effect.runPromise(command("PING")).then((r) => r === "PONG", () => false)
  )

  const stop = Effect.callback<void>((resume) => {
    const proc = child
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return resume(Effect.void)
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000)
    proc.once("exit", () => {
      clearTimeout(timer)
      resume(Effect.void)
    })
    proc.kill("SIGTERM")
  })

  const start = Effect.gen(function*() {
    // No persistence; a replica's full sync starts at once (the default waits 5 s for more replicas).
    const settings = ["--save", "", "--appendonly", "no", "--dir", dir, "--repl-diskless-sync-delay", "0"]
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", ...settings], { stdio: "ignore" })
    const deadline = Date.now() + 15_000
    while (!(yield* ping)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`redis-server on ${port} did not answer PING`))
      yield* wait(50)
    }
  })

  yield* Effect.addFinalizer(() => Effect.andThen(stop, Effect.sync(() => rmSync(dir, { recursive: true, force: true }))))
  yield* start
  return { url, port, stop, start, command, commandBuffer }
})

export class OwnRedis extends Context.Service<OwnRedis, OwnRedisShape>()("test/support/OwnRedis") {
  static readonly layer: Layer.Layer<OwnRedis> = Layer.effect(OwnRedis, make)
}
