/**
 * The port file (`node.port_file`, `IDGEN_PORT_FILE`): the JSON `{"http":…,"grpc":…}` (and
 * `"metrics"` with `metrics.port`) of the
 * ports a node bound, written by the node (`BoundPorts.ts`) and read by whoever started it.
 * Only `node:fs` here, so a supervisor or a test harness can read it without loading the server.
 */
import { Effect, Schema } from "effect"
import { readFileSync, renameSync, writeFileSync } from "node:fs"
import { osReason } from "../StartFailure.ts"

export interface BoundPorts {
  readonly http: number
  readonly grpc: number
  /** `/metrics` on a port of its own (`metrics.port`), when set. */
  readonly metrics?: number
}

/** The port file cannot be written; the node does not start, since whoever waits for the file would wait forever. */
export class PortFileError extends Schema.TaggedError<PortFileError>()("PortFileError", {
  message: Schema.String
}) {}

/** Replaces the file in one step (a reader never sees a partial one): a sibling temporary file, renamed over it. */
export const write = (path: string, ports: BoundPorts): Effect.Effect<void, PortFileError> =>
  Effect.try({
    try: () => {
      const temporary = `${path}.${process.pid}.tmp`
      writeFileSync(temporary, JSON.stringify(ports))
      renameSync(temporary, path)
    },
    catch: (error) => new PortFileError({ message: `cannot write the port file ${path} (node.port_file, IDGEN_PORT_FILE): ${osReason(error)}` })
  })

/** The ports in the file, or undefined until the node has written it. */
export const read = (path: string): BoundPorts | undefined => {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as BoundPorts
  } catch {
    return undefined
  }
}
