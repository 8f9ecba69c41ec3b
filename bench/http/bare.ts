/** Starts the bare node:http baseline (`bare-server.ts`, `workers` > 1: node:cluster) as a child process on the port the kernel picks. */
import * as Path from "node:path"
import { sleep, startNode, type Started } from "../lib/children.ts"

export interface BareServer {
  readonly baseUrl: string
  readonly pid: number
  readonly process: Started
}

export const startBare = async (logFile: string, workers = 1): Promise<BareServer> => {
  const child = startNode(Path.join(import.meta.dirname, "bare-server.ts"), ["0", String(workers)], { logFile })
  const listening = () => /^LISTENING (\d+)$/m.exec(child.stdout())?.[1]
  for (let i = 0; i < 200 && listening() === undefined; i++) await sleep(50)
  const port = listening()
  if (port === undefined) throw new Error("bare server did not start")
  return { baseUrl: `http://127.0.0.1:${port}`, pid: child.child.pid ?? -1, process: child }
}
