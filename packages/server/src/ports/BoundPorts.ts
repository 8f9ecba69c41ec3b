/**
 * The ports the node listens on, reported once HTTP and gRPC are both bound: a log line
 * (`listening`, annotated with `http` and `grpc`) and, with `node.port_file`
 * (`IDGEN_PORT_FILE`), the JSON file `{"http":…,"grpc":…}`. With port 0 the kernel picks a
 * free port at bind time, so a supervisor or a test reads the ports here instead of probing
 * for free ones first (another process can take a probed port before the node binds it).
 */
import { Effect, Layer, Schema } from "effect"
import { HttpServer } from "effect/http"
import { renameSync, writeFileSync } from "node:fs"
import { ServerConfig } from "../config/ServerConfig.ts"
import { GrpcServer } from "../grpc/GrpcServer.ts"

export interface BoundPorts {
  readonly http: number
  readonly grpc: number
}

/** `node.port_file` cannot be written; the node does not start, since whoever waits for the file would wait forever. */
export class PortFileError extends Schema.TaggedError<PortFileError>()("PortFileError", {
  message: Schema.String
}) {}

/** Replaces `path` in one step (a reader never sees a partial file): a sibling temporary file, renamed over it. */
const writeAtomically = (path: string, text: string) =>
  Effect.try({
    try: () => {
      const temporary = `${path}.${process.pid}.tmp`
      writeFileSync(temporary, text)
      renameSync(temporary, path)
    },
    catch: (error) => new PortFileError({ message: `node.port_file (IDGEN_PORT_FILE) ${path}: ${String(error)}` })
  })

export const layer: Layer.Layer<never, PortFileError, HttpServer.HttpServer | GrpcServer | ServerConfig> = Layer.effectDiscard(
  Effect.gen(function*() {
    const { address } = yield* HttpServer.HttpServer
    const ports: BoundPorts = {
      http: address._tag === "UnixPathAddress" ? 0 : address.port,
      grpc: (yield* GrpcServer).port
    }
    yield* Effect.logInfo("listening").pipe(Effect.annotateLogs({ ...ports }))
    const { portFile } = (yield* ServerConfig).node
    if (portFile !== undefined) yield* writeAtomically(portFile, JSON.stringify(ports))
  })
)
