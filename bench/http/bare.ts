/** Starts the bare node:http baseline (`bare-server.ts`, `workers` > 1: node:cluster) as a child process on a free port. */
import * as Path from "node:path"
import { freePort, sleep, startNode, type Started } from "../lib/children.ts"

export interface BareServer {
  readonly baseUrl: string
  readonly pid: number
  readonly process: Started
}

export const startBare = async (logFile: string, workers = 1): Promise<BareServer> => {
  const port = await freePort()
  const child = startNode(Path.join(import.meta.dirname, "bare-server.ts"), [String(port), String(workers)], { logFile })
  for (let i = 0; i < 200 && !child.stdout().includes("LISTENING"); i++) await sleep(50)
  if (!child.stdout().includes("LISTENING")) throw new Error("bare server did not start")
  return { baseUrl: `http://127.0.0.1:${port}`, pid: child.child.pid ?? -1, process: child }
}
