/**
 * A legitimate client beside an attack: while `attack` runs, it generates IDs over HTTP
 * every 20 ms with a valid key (`keyFor`); afterwards every one of its requests must have
 * been served (at least one before the attack and two after it).
 */
import { assert } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { type ServerProcessShape, wait, workspaceWithKey } from "./ServerProcess.ts"

const keys = new WeakMap<ServerProcessShape, Map<string, string>>()

/** A key of `workspace` on `server`, the workspace and key created at the first call. */
export const keyFor = (server: ServerProcessShape, workspace: string) =>
  Effect.suspend(() => {
    let known = keys.get(server)
    if (known === undefined) keys.set(server, known = new Map())
    const key = known.get(workspace)
    if (key !== undefined) return Effect.succeed(key)
    return Effect.tap(workspaceWithKey(server, { name: workspace }), (created) => Effect.sync(() => known.set(workspace, created)))
  })

export const whileServing = <A, E, R>(
  server: ServerProcessShape,
  legit: { readonly apiKey: string; readonly json: unknown },
  attack: Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const statuses: Array<number> = []
    const client = yield* Effect.forkChild(Effect.forever(
      Effect.andThen(
        Effect.map(server.request("POST", "/api/v1/generate", legit), (res) => statuses.push(res.status)),
        wait(20)
      )
    ))
    const served = (n: number) =>
      Effect.gen(function*() {
        const deadline = Date.now() + 10_000
        while (statuses.length < n && Date.now() < deadline) yield* wait(10)
      })
    yield* served(1)
    const before = statuses.length
    const result = yield* attack
    yield* served(before + 2)
    yield* Fiber.interrupt(client)
    assert.isAtLeast(statuses.length, before + 2, "the legitimate client was not answered after the attack")
    assert.deepStrictEqual(statuses.filter((status) => status !== 200), [], "legitimate requests refused")
    return result
  })
