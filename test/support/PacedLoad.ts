/**
 * Steady client load for fault drills: callers that each send one generate request per
 * interval to one node and biz_tag until told to stop, recording every answer, including
 * requests that got no HTTP answer at all (status 0).
 */
import { Cause, Effect, Exit } from "effect"
import { contractViolation } from "./ContractErrors.ts"
import { type ServerProcessShape, wait } from "./ServerProcess.ts"

export interface Shot {
  readonly node: number
  readonly tag: string
  /** Real time the request was sent and answered (test process clock, ms). */
  readonly sent: number
  readonly at: number
  readonly status: number
  readonly code: string | undefined
  /** The error's message, for failure reports. */
  readonly message: string | undefined
  readonly algorithm: string | undefined
  readonly ids: ReadonlyArray<string>
  /** Why the answer is neither a success nor a contract error (see `contractViolation`). */
  readonly violation: string | undefined
}

export interface Target {
  readonly node: number
  readonly server: ServerProcessShape
  readonly apiKey: string
  readonly workspace: string
  readonly group: string
  readonly tag: string
}

/** One request to `target` (a batch of `size` when size > 1), as a recorded shot. */
export const shoot = (target: Target, size = 1): Effect.Effect<Shot> =>
  Effect.gen(function*() {
    const key = { workspace: target.workspace, group: target.group, biz_tag: target.tag }
    const sent = Date.now()
    const exit = yield* Effect.exit(
      size === 1
        ? target.server.request("POST", "/api/v1/generate", { apiKey: target.apiKey, json: key })
        : target.server.request("POST", "/api/v1/generate/batch", { apiKey: target.apiKey, json: { ...key, size } })
    )
    const at = Date.now()
    const base = { node: target.node, tag: target.tag, sent, at }
    if (Exit.isFailure(exit)) {
      return { ...base, status: 0, code: undefined, message: undefined, algorithm: undefined, ids: [], violation: `no answer: ${Cause.pretty(exit.cause)}` }
    }
    const response = exit.value
    const ok = response.status === 200
    return {
      ...base,
      status: response.status,
      code: response.json?.error?.code,
      message: response.json?.error?.message,
      algorithm: response.json?.algorithm,
      ids: ok ? (size === 1 ? [response.json.id] : response.json.ids) : [],
      violation: contractViolation(response)
    }
  })

/**
 * `callers` concurrent callers per target, each sending a request (a batch of `size`, default
 * 1) every `intervalMs` (or as soon as the previous one is answered, when that takes longer)
 * until `stop()`.
 */
export const pacedLoad = (
  targets: ReadonlyArray<Target>,
  options: {
    readonly callers: number
    readonly intervalMs: number
    readonly stop: () => boolean
    readonly shots: Array<Shot>
    readonly size?: number
  }
): Effect.Effect<void> =>
  Effect.forEach(
    targets.flatMap((target) => Array.from({ length: options.callers }, () => target)),
    (target) =>
      Effect.gen(function*() {
        while (!options.stop()) {
          const shot = yield* shoot(target, options.size)
          options.shots.push(shot)
          yield* wait(Math.max(0, options.intervalMs - (shot.at - shot.sent)))
        }
      }),
    { concurrency: "unbounded", discard: true }
  )
