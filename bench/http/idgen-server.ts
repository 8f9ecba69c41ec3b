/**
 * The idgen server under test, as a child process: a fresh store (throw-away PostgreSQL
 * database or temp data dir), an admin token from the environment, a workspace and an API
 * key created through the operator API.
 */
import * as PortFile from "@idgen/server/ports/PortFile"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { startFlags } from "../../scripts/start-flags.ts"
import { NODE, sleep, startProcess, type Started } from "../lib/children.ts"

export interface IdgenServer {
  readonly baseUrl: string
  /** The gRPC port, on 127.0.0.1. */
  readonly grpcPort: number
  readonly apiKey: string
  readonly workspace: string
  readonly pid: number
  readonly stop: () => Promise<void>
}

export interface StartOptions {
  readonly repoRoot: string
  readonly databaseUrl: string | undefined
  readonly dataDir: string
  readonly logFile: string
  readonly readyTimeoutMs: number
  /** Extra environment (e.g. OTEL_EXPORTER_OTLP_ENDPOINT for the tracing bench). */
  readonly env?: NodeJS.ProcessEnv
  /** Node options instead of `npm start`'s (`BENCH_IDGEN_NODE_FLAGS`, space-separated, for every idgen server of a run). */
  readonly nodeFlags?: ReadonlyArray<string>
  /** The store served an earlier start: its workspace exists already (a new API key is made). */
  readonly restart?: boolean
}

const WORKSPACE = "bench"

const describe = async (response: Response) => `${response.status} ${(await response.text()).slice(0, 300)}`

const waitReady = async (portFile: string, started: Started, timeoutMs: number, logFile: string) => {
  const deadline = Date.now() + timeoutMs
  let exitCode: number | null | undefined
  void started.exited.then((code) => (exitCode = code))
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`idgen server exited (code ${exitCode}) before serving; see ${logFile}`)
    const ports = PortFile.read(portFile)
    if (ports !== undefined) {
      const baseUrl = `http://127.0.0.1:${ports.http}`
      for (const path of ["/ready", "/health"]) {
        try {
          const response = await fetch(baseUrl + path, { signal: AbortSignal.timeout(1000) })
          if (response.status === 200) return { baseUrl, grpcPort: ports.grpc }
        } catch {
          // not ready yet
        }
      }
    }
    await sleep(250)
  }
  throw new Error(`idgen server not ready after ${timeoutMs} ms; see ${logFile}`)
}

export const startIdgen = async (options: StartOptions): Promise<IdgenServer> => {
  const adminToken = randomBytes(24).toString("hex")
  const portFile = Path.join(options.dataDir, "ports.json")
  Fs.rmSync(portFile, { force: true })
  const env: NodeJS.ProcessEnv = {
    IDGEN_HTTP_HOST: "127.0.0.1",
    IDGEN_HTTP_PORT: "0",
    IDGEN_GRPC_PORT: "0",
    IDGEN_PORT_FILE: portFile,
    IDGEN_ADMIN_TOKEN: adminToken,
    IDGEN_DATA_DIR: options.dataDir,
    IDGEN_NODE_NAME: "bench",
    IDGEN_CONFIG: "",
    // One process unless asked (the workers section): the other sections measure one node.
    IDGEN_WORKERS: "1",
    ...options.env
  }
  const fromEnvironment = process.env.BENCH_IDGEN_NODE_FLAGS?.split(/\s+/).filter((flag) => flag !== "")
  if (options.databaseUrl !== undefined) env.IDGEN_DATABASE_URL = options.databaseUrl
  else env.IDGEN_DATABASE_URL = ""
  // As `npm start` runs it: the same Node options (its young-generation size among them).
  const flags = options.nodeFlags ?? fromEnvironment ?? startFlags()
  const started = startProcess(NODE, [...flags, Path.join(options.repoRoot, "packages/server/src/main.js")], {
    env,
    logFile: options.logFile,
    cwd: options.repoRoot
  })
  try {
    const { baseUrl, grpcPort } = await waitReady(portFile, started, options.readyTimeoutMs, options.logFile)
    const admin = (path: string, body: unknown) =>
      fetch(baseUrl + path, {
        method: "POST",
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        body: JSON.stringify(body)
      })
    const ws = await admin("/api/v1/admin/workspaces", { name: WORKSPACE })
    if (ws.status !== (options.restart === true ? 409 : 201)) throw new Error(`create workspace: ${await describe(ws)}`)
    const key = await admin(`/api/v1/admin/workspaces/${WORKSPACE}/api-keys`, { name: "bench" })
    if (key.status !== 201) throw new Error(`create api key: ${await describe(key)}`)
    const { key: apiKey } = (await key.json()) as { key: string }
    return { baseUrl, grpcPort, apiKey, workspace: WORKSPACE, pid: started.child.pid ?? -1, stop: () => started.stop() }
  } catch (error) {
    await started.stop()
    throw error
  }
}

/** One request, checked against the contract's response shape; returns the parsed body. */
export const checkResponse = async (
  url: string,
  headers: Record<string, string>,
  body: string,
  idsPerRequest: number
): Promise<void> => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body
  })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${text.slice(0, 300)}`)
  const json = JSON.parse(text) as { id?: unknown; ids?: unknown; timestamp?: unknown; count?: unknown }
  const ok = idsPerRequest === 1
    ? typeof json.id === "string" && typeof json.timestamp === "string"
    : Array.isArray(json.ids) && json.ids.length === idsPerRequest && json.count === idsPerRequest
  if (!ok) throw new Error(`${url}: unexpected response ${text.slice(0, 300)}`)
}
