/**
 * A private `redis-server` for tests that stop Redis or must not share its keys with other
 * suites: a free loopback port, no persistence, stopped (SIGTERM, then SIGKILL) when the
 * scope closes. `stop` and `start` simulate an outage on the same port.
 */
import { Context, Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { type ChildProcess, spawn } from "node:child_process"
import { freePort, wait } from "./ServerProcess.ts"

export interface OwnRedisShape {
  readonly url: string
  readonly port: number
  /** Kills the server and waits for its exit. */
  readonly stop: Effect.Effect<void>
  /** Starts it again on the same port and waits until it answers PING. */
  readonly start: Effect.Effect<void>
  /** Runs one command against it (a fresh connection each time). */
  readonly command: (name: string, ...args: Array<string>) => Effect.Effect<unknown>
}

export class OwnRedis extends Context.Service<OwnRedis, OwnRedisShape>()("test/support/OwnRedis") {
  static readonly layer: Layer.Layer<OwnRedis> = Layer.effect(
    OwnRedis,
    Effect.gen(function*() {
      const port = yield* freePort
      const url = `redis://127.0.0.1:${port}`
      let child: ChildProcess | undefined

      const command = (name: string, ...args: Array<string>) =>
        Effect.promise(async () => {
          const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
          client.on("error", () => {})
          try {
            await client.connect()
            return await client.call(name, ...args)
          } finally {
            client.disconnect()
          }
        })

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
        child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
          stdio: "ignore"
        })
        const deadline = Date.now() + 15_000
        while (!(yield* ping)) {
          if (Date.now() > deadline) return yield* Effect.die(new Error(`redis-server on ${port} did not answer PING`))
          yield* wait(50)
        }
      })

      yield* Effect.addFinalizer(() => stop)
      yield* start
      return { url, port, stop, start, command }
    })
  )
}
