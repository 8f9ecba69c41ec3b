/**
 * Helpers of the snowflake-cluster suites: server environments on etcd, an in-process
 * view of the worker registry, and a client that generates snowflake IDs continuously
 * and records every answer.
 */
import { Snowflake } from "@idgen/core"
import { Effect, Exit, Layer, type Scope } from "effect"
import { load } from "@idgen/server/config/ConfigLoader"
import { ServerConfig } from "@idgen/server/config/ServerConfig"
import {
  EtcdWorkerRegistry,
  type EtcdWorkerRegistryShape
} from "@idgen/server/snowflake/EtcdWorkerRegistry"
import type { ServerProcessShape } from "./ServerProcess.ts"

/** Environment of a server that leases its worker id from etcd under `prefix`. */
export const etcdEnv = (
  endpoints: ReadonlyArray<string>,
  prefix: string,
  extra: Record<string, string> = {}
): Record<string, string> => ({
  IDGEN_ETCD_ENDPOINTS: endpoints.join(","),
  IDGEN_ETCD_PREFIX: prefix,
  ...extra
})

/** An in-process registry on `prefix` (its own etcd client), for the lifetime of the scope. */
export const registry = (
  endpoints: ReadonlyArray<string>,
  prefix: string,
  env: Record<string, string> = {}
): Effect.Effect<EtcdWorkerRegistryShape, never, Scope.Scope> =>
  EtcdWorkerRegistry.make.pipe(
    Effect.provide(Layer.effect(ServerConfig, Effect.orDie(load(etcdEnv(endpoints, prefix, env)))))
  )

export const decode = (id: string) => Snowflake.decompose(BigInt(id))

/** One answer of the server to a batch request. */
export interface Answer {
  /** Real time the request was sent (test process clock). */
  readonly sent: number
  /** Real time the answer arrived. */
  readonly at: number
  readonly tag: string
  readonly status: number
  readonly code: string | undefined
  readonly algorithm: string | undefined
  readonly ids: ReadonlyArray<string>
}

/**
 * Requests batches of `size` for each tag in turn until `stop()` says so (or the server
 * dies), recording every answer. Sequential: each request starts after the previous
 * answer, so the IDs one client receives must be strictly increasing.
 */
export const generateWhile = (
  server: ServerProcessShape,
  apiKey: string,
  body: { readonly workspace: string; readonly group: string },
  tags: ReadonlyArray<string>,
  size: number,
  stop: () => boolean,
  answers: Array<Answer>
) =>
  Effect.gen(function*() {
    while (!stop()) {
      for (const tag of tags) {
        const sent = Date.now()
        const response = yield* Effect.exit(
          server.request("POST", "/api/v1/generate/batch", { apiKey, json: { ...body, biz_tag: tag, size } })
        )
        if (Exit.isFailure(response)) return
        const { status, json } = response.value
        answers.push({
          sent,
          at: Date.now(),
          tag,
          status,
          code: json?.error?.code,
          algorithm: json?.algorithm,
          ids: status === 200 ? (json.ids as Array<string>) : []
        })
      }
    }
  })

/** An answer without its IDs (for readable assertion messages). */
export const summary = ({ ids, ...answer }: Answer) => ({ ...answer, count: ids.length })

/** The snowflake IDs of `answers`, in the order they arrived. */
export const snowflakeIds = (answers: ReadonlyArray<Answer>) =>
  answers.flatMap((a) => (a.algorithm === "snowflake" ? a.ids : []))

/** Index of the first ID that is not above its predecessor, or -1. */
export const firstNonIncreasing = (ids: ReadonlyArray<string>): number => {
  for (let i = 1; i < ids.length; i++) if (BigInt(ids[i]!) <= BigInt(ids[i - 1]!)) return i
  return -1
}

/** How many IDs occur more than once. */
export const duplicatesIn = (ids: ReadonlyArray<string>): number => ids.length - new Set(ids).size

/** A value of a Prometheus sample line (`name{labels} value`), or 0 when absent. */
export const metricValue = (text: string, sample: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `))
  return line === undefined ? 0 : Number(line.slice(sample.length + 1))
}
