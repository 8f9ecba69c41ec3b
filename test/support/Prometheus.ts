/**
 * A real Prometheus (Debian `prometheus`, installed by the global setup) scraping the
 * given targets every second, on a free loopback port with a throw-away TSDB; stopped and
 * removed with the scope. `waitFor` polls its HTTP query API until a condition holds
 * (bounded by a deadline), which is how a test learns that a scrape has happened.
 */
import { Data, Effect, type Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { stringify } from "yaml"
import { freePort, wait } from "./ServerProcess.ts"
import { PROMETHEUS_BINARY } from "./SystemPackages.ts"

export class PrometheusError extends Data.TaggedError("PrometheusError")<{ readonly message: string; readonly output: string }> {}

export interface QueryResult {
  readonly metric: Record<string, string>
  readonly value: readonly [number, string]
}

export interface PrometheusShape {
  readonly url: string
  readonly output: () => string
  /** An instant query; fails on an API error. */
  readonly query: (promql: string) => Effect.Effect<ReadonlyArray<QueryResult>, PrometheusError>
  /** Polls `promql` until `until` holds for its result (default: non-empty), within `timeoutMillis`. */
  readonly waitFor: (
    promql: string,
    until?: (result: ReadonlyArray<QueryResult>) => boolean,
    timeoutMillis?: number
  ) => Effect.Effect<ReadonlyArray<QueryResult>, PrometheusError>
}

export const start = (options: {
  /** `host:port` of each target, scraped at `/metrics` over HTTP. */
  readonly targets: ReadonlyArray<string>
  readonly ruleFiles?: ReadonlyArray<string>
}): Effect.Effect<PrometheusShape, PrometheusError, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "idgen-prometheus-"))),
      (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
    )
    const port = yield* freePort
    const url = `http://127.0.0.1:${port}`
    const configFile = join(dir, "prometheus.yml")
    writeFileSync(
      configFile,
      stringify({
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        ...(options.ruleFiles === undefined ? {} : { rule_files: options.ruleFiles }),
        scrape_configs: [{ job_name: "idgen", metrics_path: "/metrics", static_configs: [{ targets: options.targets }] }]
      })
    )
    let output = ""
    const child: ChildProcess = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const proc = spawn(PROMETHEUS_BINARY, [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${port}`,
          "--log.level=warn"
        ], { stdio: ["ignore", "pipe", "pipe"] })
        proc.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()))
        proc.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
        return proc
      }),
      (proc) =>
        Effect.callback<void>((resume) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resume(Effect.void)
          const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000)
          proc.once("exit", () => {
            clearTimeout(timer)
            resume(Effect.void)
          })
          proc.kill("SIGTERM")
        })
    )

    const deadline = Date.now() + 60_000
    while (true) {
      if (child.exitCode !== null) return yield* new PrometheusError({ message: "prometheus exited at start", output })
      const ready = yield* Effect.promise(() => fetch(`${url}/-/ready`).then((r) => r.status === 200, () => false))
      if (ready) break
      if (Date.now() > deadline) return yield* new PrometheusError({ message: "prometheus not ready within 60 s", output })
      yield* wait(100)
    }

    const query = (promql: string) =>
      Effect.tryPromise({
        try: async () => {
          const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)
          const body = (await response.json()) as { status: string; error?: string; data?: { result: Array<QueryResult> } }
          if (body.status !== "success") throw new Error(body.error ?? `HTTP ${response.status}`)
          return body.data!.result
        },
        catch: (error) => new PrometheusError({ message: `query ${promql}: ${String(error)}`, output })
      })

    const waitFor = (
      promql: string,
      until: (result: ReadonlyArray<QueryResult>) => boolean = (result) => result.length > 0,
      timeoutMillis = 30_000
    ) =>
      Effect.gen(function*() {
        const end = Date.now() + timeoutMillis
        while (true) {
          const result = yield* query(promql)
          if (until(result)) return result
          if (Date.now() > end) {
            return yield* new PrometheusError({
              message: `${promql}: condition not met within ${timeoutMillis} ms; last result ${JSON.stringify(result)}`,
              output
            })
          }
          yield* wait(250)
        }
      })

    return { url, output: () => output, query, waitFor }
  })
