/**
 * The ports a server process bound, from the file it writes once listening
 * (`IDGEN_PORT_FILE`, see packages/server/src/ports/BoundPorts.ts). Servers under test bind
 * port 0 and report the kernel's pick there: a port probed free beforehand can be taken by
 * another process before the server binds it.
 */
import type { BoundPorts } from "@idgen/server/ports/BoundPorts"
import { readFileSync } from "node:fs"

export type { BoundPorts }

/** The reported ports, or undefined while the server has not written the file yet. */
export const readPortFile = (path: string): BoundPorts | undefined => {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as BoundPorts
  } catch {
    return undefined
  }
}
