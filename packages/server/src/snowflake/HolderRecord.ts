/**
 * The holder token of a static worker id, recorded in the node's data directory with the
 * process and host that hold it, so that after a kill -9 the restarted node can prove the
 * holder recorded in the database is its own previous process, gone, and take the id back
 * at once instead of waiting out the heartbeat timeout.
 *
 * The proof: the record names the row's holder, was written on this host, and its pid no
 * longer runs (or is this process's own pid, a container's pid 1 restarted; our token is
 * new, so the recorder was another process). Another process with the same node name elsewhere,
 * or with another data directory, has another token; one on this data directory is alive.
 * Only this host's pid namespace can be checked: processes of other namespaces sharing a
 * data directory and a hostname cannot be told apart (as for `DataDirLock`).
 */
import * as Fs from "node:fs"
import { hostname } from "node:os"
import * as Path from "node:path"
import { isAlive } from "../storage/DataDirLock.ts"
import type { WorkerSlot } from "../storage/SnowflakeWorkerRepo.ts"

interface Recorded {
  readonly holder: string
  readonly pid: number
  readonly host: string
}

const fileOf = (dataDir: string, { datacenterId, workerId }: WorkerSlot) =>
  Path.join(dataDir, `snowflake-worker-${datacenterId}-${workerId}.json`)

/** The holder this data directory's previous process recorded for `slot`, if that process is gone. */
export const goneHolder = (dataDir: string, slot: WorkerSlot): string | undefined => {
  let recorded: Recorded
  try {
    recorded = JSON.parse(Fs.readFileSync(fileOf(dataDir, slot), "utf8"))
  } catch {
    // None, or unreadable: nothing proves anything, the heartbeat timeout applies.
    return undefined
  }
  if (typeof recorded.holder !== "string" || recorded.host !== hostname()) return undefined
  return recorded.pid === process.pid || !isAlive(recorded.pid) ? recorded.holder : undefined
}

/**
 * Records `holder` as this process's for `slot` (after the row was acquired). Best effort: a
 * record that cannot be written only means the next restart waits out the heartbeat timeout.
 */
export const record = (dataDir: string, slot: WorkerSlot, holder: string): void => {
  const file = fileOf(dataDir, slot)
  try {
    Fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    const temporary = `${file}.${process.pid}.tmp`
    Fs.writeFileSync(temporary, JSON.stringify({ holder, pid: process.pid, host: hostname() } satisfies Recorded))
    Fs.renameSync(temporary, file)
  } catch {
    // See above.
  }
}
