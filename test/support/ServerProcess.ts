/**
 * The real server as a child process, for black-box tests: `node packages/server/src/main.js`
 * on ports the kernel picks when it binds (port 0, read back from its port file), with a
 * throw-away PostgreSQL database, its own data directory and a known admin token. `make`
 * waits until `/ready` answers 200 (bounded), keeps the process output for failure
 * messages, and kills the process when the scope closes.
 *
 *   layer(ServerProcess.layer())("...", (it) => {
 *     it.effect("...", () => Effect.gen(function*() {
 *       const server = yield* ServerProcess
 *       const res = yield* server.request("POST", "/api/v1/generate", { json: {...}, apiKey })
 *     }))
 *   })
 */
import { assert } from "@effect/vitest"
import * as PortFile from "@idgen/server/ports/PortFile"
import { Context, Data, Effect, Layer, type Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { startFlags } from "../../scripts/start-flags.ts"
import { mkdtempSync, rmSync } from "node:fs"
import { request as httpsRequest } from "node:https"
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import * as TestDatabase from "./TestDatabase.ts"

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef"

const repoRoot = resolve(import.meta.dirname, "../..")
const mainPath = join(repoRoot, "packages/server/src/main.js")

export class ServerStartError extends Data.TaggedError("ServerStartError")<{
  readonly message: string
  readonly output: string
}> {}

export interface Response {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: any
}

export interface RequestOptions {
  /** Sent as JSON with `Content-Type: application/json`. */
  readonly json?: unknown
  /** Sent as is (set the content type yourself through `headers`). */
  readonly body?: string | Uint8Array
  readonly headers?: Record<string, string>
  /** `X-API-Key`. */
  readonly apiKey?: string
  /** `Authorization: Bearer <admin token>`; true for the suite's token. */
  readonly admin?: boolean | string
}

export interface Options {
  /** Extra environment, e.g. `{ IDGEN_SEGMENT_RANGE_SIZE: "5" }`. */
  readonly env?: Record<string, string>
  /** How long to wait for `/ready` (default 60 s). */
  readonly readyTimeoutMillis?: number
  /**
   * What a start waits for: `"ready"` (default, `/ready` 200) or `"live"` (`/live` 200 —
   * for servers expected to come up not ready, e.g. without a worker id).
   */
  readonly waitFor?: "ready" | "live"
  /**
   * The server speaks HTTPS (give it `IDGEN_TLS_CERT_FILE`/`IDGEN_TLS_KEY_FILE` in `env`):
   * `baseUrl` is `https://…` and requests trust `ca` (PEM).
   */
  readonly https?: { readonly ca: string }
}

export interface ServerProcessShape {
  readonly baseUrl: string
  readonly port: number
  /** The gRPC port (`IDGEN_GRPC_PORT`), on 127.0.0.1. */
  readonly grpcPort: number
  /** `/metrics` on a port of its own, when `IDGEN_METRICS_PORT` is given (0: the kernel's pick). */
  readonly metricsPort: number | undefined
  readonly adminToken: string
  readonly databaseUrl: string
  /** Everything the process wrote to stdout and stderr so far (all incarnations). */
  readonly output: () => string
  /** The current process id. */
  readonly pid: () => number | undefined
  /** An HTTP request against the server; never fails on HTTP error statuses. */
  readonly request: (method: string, path: string, options?: RequestOptions) => Effect.Effect<Response>
  /** Sends `signal` (default SIGTERM) and waits for the exit and the last of its output; yields the exit code or signal. */
  readonly kill: (signal?: NodeJS.Signals) => Effect.Effect<number | string | null>
  /**
   * Kills (SIGTERM) and starts the process again with the same database, ports and data dir
   * (the ports it bound first, now given explicitly).
   */
  readonly restart: Effect.Effect<void, ServerStartError>
}

export class ServerProcess extends Context.Service<ServerProcess, ServerProcessShape>()("test/support/ServerProcess") {
  /** A server on a fresh database for the lifetime of the layer. */
  static readonly layer = (options: Options = {}): Layer.Layer<ServerProcess, ServerStartError> =>
    Layer.effect(
      ServerProcess,
      Effect.flatMap(TestDatabase.make, (databaseUrl) => make(databaseUrl, options)).pipe(
        Effect.catchTag("SqlError", (error) => Effect.fail(new ServerStartError({ message: String(error), output: "" })))
      )
    )
}

/** Real time, whatever clock the test runs with. */
export const wait = (millis: number): Effect.Effect<void> =>
  Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

/**
 * Asserts the contract's error shape: `status`, `{"error":{"code","message","details",
 * "timestamp","request_id"}}`, and the same id in `X-Request-Id`. Returns the error object.
 */
export const assertError = (response: Response, status: number, code: string) => {
  assert.strictEqual(response.status, status, `expected ${status} ${code}, got ${response.status}: ${response.text}`)
  const error = response.json?.error
  assert.isObject(error, `not an error body: ${response.text}`)
  assert.deepStrictEqual(Object.keys(error).sort(), ["code", "details", "message", "request_id", "timestamp"])
  assert.strictEqual(error.code, code, response.text)
  assert.isString(error.message)
  assert.isAbove(error.message.length, 0)
  assert.isObject(error.details)
  assert.match(error.timestamp, rfc3339)
  assert.isString(error.request_id)
  assert.strictEqual(response.headers.get("x-request-id"), error.request_id)
  assert.notInclude(response.text, "    at ", "a stack trace leaked")
  return error as { code: string; message: string; details: Record<string, any>; timestamp: string; request_id: string }
}

export const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

/** A `fetch`-like request over HTTPS that trusts `ca` (fetch itself cannot be given a CA). */
export const httpsFetch = (
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array },
  ca: string
): Promise<globalThis.Response> =>
  new Promise((resolveResponse, reject) => {
    const req = httpsRequest(url, { method: init.method ?? "GET", headers: init.headers ?? {}, ca }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () => {
        const headers = new Headers()
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value)
        }
        const status = res.statusCode ?? 0
        const body = status === 204 || status === 304 ? null : Buffer.concat(chunks)
        resolveResponse(new globalThis.Response(body, { status, headers }))
      })
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(init.body)
  })

/**
 * A port nobody listens on right now (the kernel's choice), for a process that cannot bind
 * port 0 itself; it may be taken again before it is used (a port that must stay closed:
 * `refusedPort`).
 */
export const freePort: Effect.Effect<number> = Effect.callback<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * A loopback port that refuses connections (ECONNREFUSED) for the scope: the local end of a
 * connection of ours, so it stays bound — no other process can listen there meanwhile, as
 * one could on a `freePort` — and nothing listens on it.
 */
export const refusedPort: Effect.Effect<number, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.callback<{ readonly server: Server; readonly socket: Socket }>((resume) => {
      const server = createServer()
      server.listen(0, "127.0.0.1", () => {
        const socket = connect((server.address() as AddressInfo).port, "127.0.0.1", () => resume(Effect.succeed({ server, socket })))
      })
    }),
    ({ server, socket }) =>
      Effect.sync(() => {
        socket.destroy()
        server.close()
      })
  ),
  ({ socket }) => socket.localPort!
)

/** Starts the server on `databaseUrl`; the process is killed and its data dir removed with the scope. */
export const make = (
  databaseUrl: string,
  options: Options = {}
): Effect.Effect<ServerProcessShape, ServerStartError, Scope.Scope> =>
  Effect.gen(function*() {
    const dataDir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "idgen-http-test-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
    const portFile = join(dataDir, "ports.json")
    const send = (url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array }) =>
      options.https === undefined ? fetch(url, init) : httpsFetch(url, init, options.https.ca)
    const env = {
      ...process.env,
      IDGEN_HTTP_HOST: "127.0.0.1",
      IDGEN_DATABASE_URL: databaseUrl,
      IDGEN_DATA_DIR: dataDir,
      IDGEN_ADMIN_TOKEN: ADMIN_TOKEN,
      IDGEN_PORT_FILE: portFile,
      // One process per server unless a test asks for workers (IDGEN_WORKERS): suites reason
      // about one node (its pid, its static worker id, its metrics), and the cores are shared.
      IDGEN_WORKERS: "1",
      ...options.env
    }
    let output = ""
    /**
     * The current process, and its exit code or signal once it exited and its output was read
     * to the end ('close': 'exit' may come before the last of the output is read).
     */
    let child: { readonly proc: ChildProcess; readonly closed: Promise<number | string | null> } | undefined
    /** The ports of the first start; a restart binds them again. */
    let bound: PortFile.BoundPorts | undefined
    let baseUrl = ""

    const exited = (proc: ChildProcess) => proc.exitCode !== null || proc.signalCode !== null

    const kill = (signal: NodeJS.Signals = "SIGTERM") =>
      Effect.callback<number | string | null>((resume) => {
        if (child === undefined) return resume(Effect.succeed(null))
        const { closed, proc } = child
        let timer: NodeJS.Timeout | undefined
        if (!exited(proc)) {
          timer = setTimeout(() => proc.kill("SIGKILL"), 10_000)
          proc.kill(signal)
        }
        void closed.then((end) => {
          clearTimeout(timer)
          resume(Effect.succeed(end))
        })
      })

    const request = (method: string, path: string, req: RequestOptions = {}): Effect.Effect<Response> =>
      Effect.promise(async () => {
        const headers: Record<string, string> = { ...req.headers }
        if (req.json !== undefined) headers["content-type"] ??= "application/json"
        if (req.apiKey !== undefined) headers["x-api-key"] = req.apiKey
        if (req.admin !== undefined && req.admin !== false) {
          headers["authorization"] = `Bearer ${req.admin === true ? ADMIN_TOKEN : req.admin}`
        }
        const body = req.json !== undefined ? JSON.stringify(req.json) : req.body
        const response = await send(baseUrl + path, { method, headers, ...(body === undefined ? {} : { body }) })
        const text = await response.text()
        let json: unknown = undefined
        try {
          json = text === "" ? undefined : JSON.parse(text)
        } catch {
          json = undefined
        }
        return { status: response.status, headers: response.headers, text, json }
      })

    const start: Effect.Effect<PortFile.BoundPorts, ServerStartError> = Effect.gen(function*() {
      rmSync(portFile, { force: true })
      const ports = {
        IDGEN_HTTP_PORT: String(bound?.http ?? 0),
        IDGEN_GRPC_PORT: String(bound?.grpc ?? 0),
        ...(bound?.metrics === undefined ? {} : { IDGEN_METRICS_PORT: String(bound.metrics) })
      }
      const proc = spawn(process.execPath, [...startFlags(), mainPath], { cwd: repoRoot, env: { ...env, ...ports }, stdio: ["ignore", "pipe", "pipe"] })
      proc.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()))
      proc.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
      const closed = new Promise<number | string | null>((resolve) => proc.once("close", (code, sig) => resolve(code ?? sig)))
      child = { proc, closed }
      const deadline = Date.now() + (options.readyTimeoutMillis ?? 60_000)
      let listening: PortFile.BoundPorts | undefined
      while (true) {
        if (exited(proc)) {
          const end = yield* Effect.promise(() => closed)
          return yield* new ServerStartError({ message: `server exited (${end}) before becoming ready`, output })
        }
        listening ??= PortFile.read(portFile)
        if (listening !== undefined) {
          bound = listening
          baseUrl = `${options.https ? "https" : "http"}://127.0.0.1:${listening.http}`
          const ready = yield* Effect.promise(() =>
            send(`${baseUrl}/${options.waitFor ?? "ready"}`, {}).then((r) => r.status === 200, () => false)
          )
          if (ready) return listening
        }
        if (Date.now() > deadline) {
          return yield* new ServerStartError({
            message: listening !== undefined
              ? `server not ready within the deadline on ${baseUrl}`
              : `server did not report its ports (${portFile}) within the deadline`,
            output
          })
        }
        yield* wait(100)
      }
    })

    yield* Effect.addFinalizer(() => kill("SIGTERM"))
    const ports = yield* start.pipe(Effect.onError(() => kill("SIGKILL")))

    return {
      baseUrl,
      port: ports.http,
      grpcPort: ports.grpc,
      metricsPort: ports.metrics,
      adminToken: ADMIN_TOKEN,
      databaseUrl,
      output: () => output,
      pid: () => child?.proc.pid,
      request,
      kill,
      restart: Effect.andThen(kill("SIGTERM"), Effect.asVoid(start))
    } satisfies ServerProcessShape
  })

/** Creates a workspace through the operator API (asserting 201) and an API key for it. */
export const workspaceWithKey = (
  server: ServerProcessShape,
  workspace: Record<string, unknown> & { readonly name: string }
) =>
  Effect.gen(function*() {
    const created = yield* server.request("POST", "/api/v1/admin/workspaces", { admin: true, json: workspace })
    assert.strictEqual(created.status, 201, created.text)
    const key = yield* server.request("POST", `/api/v1/admin/workspaces/${workspace.name}/api-keys`, { admin: true })
    assert.strictEqual(key.status, 201, key.text)
    return key.json.key as string
  })

/** Creates a biz_tag through the operator API, asserting 201. */
export const createBizTag = (server: ServerProcessShape, workspace: string, body: Record<string, unknown>) =>
  Effect.map(
    server.request("POST", `/api/v1/admin/workspaces/${workspace}/biz-tags`, { admin: true, json: body }),
    (response) => {
      assert.strictEqual(response.status, 201, response.text)
      return response
    }
  )
