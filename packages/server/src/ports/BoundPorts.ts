/**
 * The ports the node listens on, reported once all are bound (HTTP, gRPC and, with
 * `metrics.port`, metrics): a log line (`listening`, annotated with each) and, with `node.port_file`
 * (`IDGEN_PORT_FILE`), the port file (`PortFile.ts`). With port 0 the kernel picks a free
 * port at bind time, so a supervisor or a test reads the ports there instead of probing for
 * free ones first (another process can take a probed port before the node binds it).
 */
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { ServerConfig } from "../config/ServerConfig.ts"
import { GrpcServer } from "../grpc/GrpcServer.ts"
import * as EventLoopDelay from "../observability/EventLoopDelay.ts"
import { MetricsPort } from "../observability/MetricsEndpoint.ts"
import * as PortFile from "./PortFile.ts"

export const layer: Layer.Layer<never, PortFile.PortFileError, HttpServer.HttpServer | GrpcServer | MetricsPort | ServerConfig> =
  Layer.effectDiscard(
    Effect.gen(function*() {
      const { address } = yield* HttpServer.HttpServer
      const metrics = (yield* MetricsPort).port
      const ports: PortFile.BoundPorts = {
        http: address._tag === "UnixPathAddress" ? 0 : address.port,
        grpc: (yield* GrpcServer).port,
        ...(metrics === undefined ? {} : { metrics })
      }
      yield* Effect.logInfo("listening").pipe(Effect.annotateLogs({ ...ports }))
      EventLoopDelay.listening()
      const { portFile } = (yield* ServerConfig).node
      if (portFile !== undefined) yield* PortFile.write(portFile, ports)
    })
  )
