/**
 * `/metrics` as served: gzip when the scraper asks for it, the runtime series a Node service
 * is expected to expose, and — when configured — a port of its own behind a bearer token
 * (the HTTP port then answers 404), each page clean under `promtool check metrics`.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { type IncomingHttpHeaders, request } from "node:http"
import { gunzipSync } from "node:zlib"
import { make as startServer, ServerProcess } from "../support/ServerProcess.ts"
import { PROMTOOL_BINARY } from "../support/SystemPackages.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

/** A GET whose body comes back as sent (fetch would unpack gzip). */
const get = (url: string, headers: Record<string, string> = {}) =>
  Effect.callback<{ readonly status: number; readonly headers: IncomingHttpHeaders; readonly body: Buffer }>((resume) => {
    request(url, { headers }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) })))
    }).on("error", (error) => resume(Effect.die(error))).end()
  })

/** Family name → type, from the `# TYPE` lines. */
const families = (text: string) =>
  new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const))

const promtool = (text: string) => {
  const lint = spawnSync(PROMTOOL_BINARY, ["check", "metrics"], { input: text, encoding: "utf8" })
  return `${lint.stdout}${lint.stderr}`
}

layer(ServerProcess.layer(), { timeout: "120 seconds", excludeTestServices: true })("/metrics on the HTTP port", (it) => {
  it.effect("is gzip-compressed when the scraper accepts gzip, identical once unpacked, and plain otherwise", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const gzipped = yield* get(`${server.baseUrl}/metrics`, { "accept-encoding": "gzip, deflate" })
      assert.strictEqual(gzipped.status, 200)
      assert.strictEqual(gzipped.headers["content-encoding"], "gzip")
      assert.include(gzipped.headers["vary"] ?? "", "accept-encoding")
      const unpacked = gunzipSync(gzipped.body).toString()
      const plain = yield* get(`${server.baseUrl}/metrics`)
      assert.strictEqual(plain.status, 200)
      assert.isUndefined(plain.headers["content-encoding"])
      assert.strictEqual(plain.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
      assert.isBelow(gzipped.body.length, plain.body.length / 3, `gzip ${gzipped.body.length} B vs ${plain.body.length} B`)
      // Two scrapes differ in values (CPU, memory), not in their series.
      const series = (text: string) => text.split("\n").filter((line) => !line.startsWith("#")).map((line) => line.split(" ")[0])
      assert.deepStrictEqual(series(unpacked), series(plain.body.toString()))
      const declined = yield* get(`${server.baseUrl}/metrics`, { "accept-encoding": "gzip;q=0, identity" })
      assert.isUndefined(declined.headers["content-encoding"])
    }))

  it.effect("carries the process and Node runtime series and idgen_build_info", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const text = (yield* server.request("GET", "/metrics")).text
      const types = families(text)
      const expected: Record<string, string> = {
        process_cpu_seconds_total: "counter",
        process_cpu_user_seconds_total: "counter",
        process_cpu_system_seconds_total: "counter",
        process_start_time_seconds: "gauge",
        process_resident_memory_bytes: "gauge",
        process_open_fds: "gauge",
        process_max_fds: "gauge",
        nodejs_heap_size_total_bytes: "gauge",
        nodejs_heap_size_used_bytes: "gauge",
        nodejs_heap_size_limit_bytes: "gauge",
        nodejs_external_memory_bytes: "gauge",
        nodejs_active_resources: "gauge",
        nodejs_eventloop_lag_seconds: "gauge",
        nodejs_eventloop_lag_p99_seconds: "gauge",
        nodejs_gc_duration_seconds: "histogram",
        idgen_build_info: "gauge"
      }
      for (const [name, type] of Object.entries(expected)) assert.strictEqual(types.get(name), type, name)
      const value = (series: string) => Number(new RegExp(`^${series} (\\S+)$`, "m").exec(text)?.[1])
      assert.isAbove(value("process_resident_memory_bytes"), 10_000_000)
      assert.isAbove(value("process_cpu_seconds_total"), 0)
      assert.isAbove(value("nodejs_heap_size_used_bytes"), 0)
      assert.isAbove(value("process_open_fds"), 3)
      const startedAt = value("process_start_time_seconds")
      assert.isTrue(Math.abs(startedAt - Date.now() / 1000) < 600, `start time ${startedAt}`)
      assert.match(text, /^idgen_build_info\{version="\d+\.\d+\.\d+[^"]*",node_version="\d+\.\d+\.\d+"\} 1$/m)
      for (const kind of ["minor", "major", "incremental", "weakcb"]) {
        assert.match(text, new RegExp(`^nodejs_gc_duration_seconds_count\\{kind="${kind}"\\} \\d+$`, "m"), kind)
      }
    }))
})

describe("/metrics on a port of its own, behind a bearer token", () => {
  const token = "metrics-token-0123456789abcdef"

  it.effect("is refused without the token, served with it, and gone from the HTTP port", () =>
    Effect.gen(function*() {
      const server = yield* startServer(yield* TestDatabase.make, {
        env: { IDGEN_METRICS_PORT: "0", IDGEN_METRICS_BEARER_TOKEN: token }
      })
      const base = `http://127.0.0.1:${server.metricsPort}`

      const onHttpPort = yield* server.request("GET", "/metrics")
      assert.strictEqual(onHttpPort.status, 404)
      assert.strictEqual(onHttpPort.json?.error?.code, "IDGEN-COMMON-0007")

      const missing = yield* get(`${base}/metrics`)
      assert.strictEqual(missing.status, 401)
      assert.strictEqual(JSON.parse(missing.body.toString()).error.code, "IDGEN-COMMON-0002")
      const wrong = yield* get(`${base}/metrics`, { authorization: `Bearer ${token}x` })
      assert.strictEqual(wrong.status, 401)

      const served = yield* get(`${base}/metrics`, { authorization: `Bearer ${token}` })
      assert.strictEqual(served.status, 200)
      const text = served.body.toString()
      assert.include(text, "# TYPE idgen_health_status gauge")
      assert.strictEqual(promtool(text), "")

      const elsewhere = yield* get(`${base}/api/v1/generate`, { authorization: `Bearer ${token}` })
      assert.strictEqual(elsewhere.status, 404)
      assert.strictEqual(JSON.parse(elsewhere.body.toString()).error.code, "IDGEN-COMMON-0007")
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.effect("a token shorter than 16 characters is refused at start", () =>
    Effect.gen(function*() {
      const failure = yield* Effect.flip(startServer(yield* TestDatabase.make, {
        env: { IDGEN_METRICS_BEARER_TOKEN: "short" },
        readyTimeoutMillis: 30_000
      }))
      assert.include(failure.output, "invalid configuration")
      assert.include(failure.output, "metrics.bearer_token (IDGEN_METRICS_BEARER_TOKEN)")
    }).pipe(Effect.scoped), { timeout: 60_000 })
})
