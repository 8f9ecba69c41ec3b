/**
 * Child processes of the bench: every one is tracked and killed when the bench ends,
 * whether it ends normally, by an exception or by a signal.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import { parseResult } from "./protocol.ts"

const live = new Set<ChildProcess>()

/** Processes started in a group of their own (`group`): signals go to the whole group. */
const groups = new WeakSet<ChildProcess>()

const signal = (child: ChildProcess, name: NodeJS.Signals) => {
  if (child.pid === undefined) return
  try {
    process.kill(groups.has(child) ? -child.pid : child.pid, name)
  } catch {
    // already gone
  }
}

const killAll = () => {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) signal(child, "SIGKILL")
  }
  live.clear()
}

let hooked = false
const hookExit = () => {
  if (hooked) return
  hooked = true
  process.on("exit", killAll)
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      killAll()
      process.exit(130)
    })
  }
}

/** The node binary running the bench (node_modules/.bin/node, v24, under npm/npx). */
export const NODE = process.execPath

export interface Started {
  readonly child: ChildProcess
  /** Everything written to stdout so far. */
  readonly stdout: () => string
  readonly exited: Promise<number | null>
  /** SIGTERM, then SIGKILL after `graceMs`. */
  readonly stop: (graceMs?: number) => Promise<void>
}

/**
 * Starts `command ...args`. Its stderr (and stdout) are appended to `logFile` when given, so
 * a failing server can be diagnosed after the run. With `group`, in a process group of its
 * own that `stop` signals as a whole (a wrapper such as `npm start` and the node it runs).
 */
export const startProcess = (
  command: string,
  args: ReadonlyArray<string>,
  options: { env?: NodeJS.ProcessEnv; logFile?: string; cwd?: string; group?: boolean } = {}
): Started => {
  hookExit()
  const child = spawn(command, args, {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.group === true
  })
  if (options.group === true) groups.add(child)
  live.add(child)
  let out = ""
  const log = options.logFile === undefined ? undefined : Fs.createWriteStream(options.logFile, { flags: "a" })
  child.stdout!.on("data", (chunk: Buffer) => {
    out += chunk.toString()
    log?.write(chunk)
  })
  child.stderr!.on("data", (chunk: Buffer) => {
    if (log) log.write(chunk)
    else process.stderr.write(chunk)
  })
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => {
      live.delete(child)
      log?.end()
      resolve(code)
    })
    child.on("error", () => resolve(-1))
  })
  const stop = async (graceMs = 3000) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    signal(child, "SIGTERM")
    const timer = setTimeout(() => signal(child, "SIGKILL"), graceMs)
    await exited
    clearTimeout(timer)
  }
  return { child, stdout: () => out, exited, stop }
}

/** Starts `node <script> ...args` (see `startProcess`). */
export const startNode = (
  script: string,
  args: ReadonlyArray<string>,
  options: { env?: NodeJS.ProcessEnv; logFile?: string; cwd?: string } = {}
): Started => startProcess(NODE, [script, ...args], options)

/** Runs a bench script to completion and returns its `BENCH_RESULT`. */
export const runNode = async <A>(
  script: string,
  args: ReadonlyArray<string> = [],
  options: { env?: NodeJS.ProcessEnv; logFile?: string; timeoutMs?: number } = {}
): Promise<A> => {
  const started = startNode(script, args, options)
  const timer = setTimeout(() => void started.stop(1000), options.timeoutMs ?? 120_000)
  const code = await started.exited
  clearTimeout(timer)
  const result = parseResult<A>(started.stdout())
  if (code !== 0 || result === undefined) {
    throw new Error(
      `${script} ${args.join(" ")} failed (exit ${code})${options.logFile ? `; see ${options.logFile}` : ""}`
    )
  }
  return result
}

/** A TCP port that was free a moment ago. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
