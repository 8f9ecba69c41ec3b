/**
 * Memory of a server process from outside (Linux `/proc`), for floods whose point is that
 * the node's memory stays bounded.
 */
import { Effect } from "effect"
import { readFile } from "node:fs/promises"

/** The resident set size of process `pid` in bytes. */
export const rssBytes = (pid: number): Effect.Effect<number> =>
  Effect.promise(async () => {
    const status = await readFile(`/proc/${pid}/status`, "utf8")
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status)
    return match === null ? 0 : Number(match[1]) * 1024
  })
