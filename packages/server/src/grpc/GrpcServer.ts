/**
 * The gRPC port (`ServerConfig.grpc.port`, on the HTTP host): `idgen.v1.IdService`, the
 * standard `grpc.health.v1.Health` (SERVING while the node is ready) and server reflection.
 *
 * Why @grpc/grpc-js with ts-proto's generated codecs, not Connect + protobuf-es: the target
 * is ≥ 3 M IDs/s of batch-1000 calls to one client, i.e. ≥ 3 000 calls/s of ~20 kB each on
 * a 2-core machine. grpc-js served ~4× the calls/s of connect-node there (notes §10:
 * 6.4 k vs 1.7 k with 50 in flight), and ts-proto's straight-line encoder is at least as fast
 * as protobuf-es' reflective one (~115 vs ~125 µs per 1000-ID response). Codegen still gives
 * typed messages and bigint int64s (`npm run generate`, buf.gen.yaml).
 *
 * Handlers run their Effect with `Effect.runCallbackWith` on the layer's context (no fiber
 * hop, no scope per call) and interrupt it when the call is cancelled or its deadline passes.
 * Shutdown stops accepting calls, lets the ones in flight finish (bounded by `drainMillis`),
 * then closes what is left.
 */
import * as Grpc from "@grpc/grpc-js"
import * as ProtoLoader from "@grpc/proto-loader"
import { ReflectionService } from "@grpc/reflection"
import { Errors } from "@idgen/core"
import { IdgenV1, IdServiceDefinition } from "@idgen/protocol/grpc"
import { Context, Effect, Exit, Layer, Schedule, type Scope } from "effect"
import type { Headers } from "effect/http"
import { HealthImplementation, protoPath as healthProtoPath } from "grpc-health-check"
import { dirname, resolve } from "node:path"
import { ServerConfig } from "../config/ServerConfig.ts"
import { type Caller, IdRequests } from "../requests/IdRequests.ts"
import * as Outcome from "../requests/Outcome.ts"
import type { GenerateResult, ParsedId } from "../generate/IdService.ts"
import { Health } from "../health/Health.ts"
import * as Tls from "../tls/Tls.ts"
import * as StartFailure from "../StartFailure.ts"
import * as RequestMetrics from "../generate/RequestMetrics.ts"
import * as Tracing from "../observability/Tracing.ts"
import { Admission } from "../requests/Admission.ts"
import * as GrpcAdmission from "./GrpcAdmission.ts"
import * as GrpcListener from "./GrpcListener.ts"
import { toStatus } from "./StatusMapping.ts"

/** The port the server listens on (the configured one, or the kernel's pick for port 0). */
export class GrpcServer extends Context.Service<GrpcServer, { readonly port: number }>()(
  "@idgen/server/grpc/GrpcServer"
) {
  static readonly layer: Layer.Layer<GrpcServer, StartFailure.StartFailure, IdRequests | Admission | Health | ServerConfig> = Layer.effect(
    GrpcServer,
    Effect.suspend(() => make)
  )
}

/** The service name the standard health service reports for, besides the whole server (""). */
export const idServiceName = "idgen.v1.IdService"

/** How long shutdown waits for calls in flight before closing the connections. */
const drainMillis = 10_000

type MakeContext = IdRequests | Admission | Health | ServerConfig | Scope.Scope

/** The calls that need an API key (checked by `GrpcAdmission` before their message is read). */
const keyedPaths = new Set(["Generate", "BatchGenerate", "Parse"].map((method) => `/${idServiceName}/${method}`))

const make: Effect.Effect<GrpcServer["Service"], StartFailure.StartFailure, MakeContext> = Effect.gen(function*() {
  const requests = yield* IdRequests
  const admission = yield* Admission
  const health = yield* Health
  const config = yield* ServerConfig
  const context = yield* Effect.context<never>()
  const run = Effect.runCallbackWith(context)
  // Decided once: without an exporter a call costs no span, no metadata read.
  const tracing = Tracing.isEnabled(context)

  /** gRPC's outcome mapper: the error's status; DEADLINE_EXCEEDED when interrupted; a defect logged, INTERNAL. */
  const failedStatus = Outcome.answer<undefined, Grpc.StatusObject>({
    error: (_, error) => toStatus(error),
    interrupted: () => ({ code: Grpc.status.DEADLINE_EXCEEDED, details: "Deadline exceeded", metadata: new Grpc.Metadata() }),
    defect: (_, cause) => {
      run(Effect.logError("gRPC call failed", cause))
      return toStatus(Outcome.internalError)
    }
  })

  /**
   * A unary handler from an Effect: the API key from metadata `x-api-key` (and the peer's
   * address, for per-IP rate limits), IDGEN errors as
   * their contract status (StatusMapping), defects as INTERNAL (logged, never shown).
   * When traces are exported, the call runs inside a server span whose parent is the
   * caller's (`traceparent` metadata), so the services' spans nest beneath it.
   */
  const unary = <Req, Res>(
    handle: (request: Req, caller: Caller) => Effect.Effect<Res, Errors.IdgenError>
  ): Grpc.handleUnaryCall<Req, Res> =>
  (call, reply) => {
    const key = call.metadata.get("x-api-key")[0]
    const caller = { apiKey: typeof key === "string" ? key : "", clientIp: ipOf(call.getPeer()) }
    let settled = false
    let timer: ReturnType<typeof setTimeout> | undefined
    let effect = handle(call.request, caller)
    let callback = reply
    if (tracing) {
      const span = Tracing.grpcServerSpan(context, call.getPath(), call.metadata.getMap() as Headers.Headers)
      effect = Effect.withParentSpan(effect, span)
      callback = (error, value) => {
        Tracing.endGrpcServerSpan(context, span, error?.code ?? Grpc.status.OK, error?.details)
        reply(error, value)
      }
    }
    const interrupt = run(effect, {
      onExit: (exit) => {
        settled = true
        if (timer !== undefined) clearTimeout(timer)
        if (Exit.isSuccess(exit)) return callback(null, exit.value)
        callback(failedStatus(undefined, exit.cause))
      }
    })
    if (settled) return
    // The work stops with the call: cancelled by the client, or past its deadline.
    call.once("cancelled", () => interrupt())
    const deadline = call.getDeadline()
    const remaining = (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now()
    if (Number.isFinite(remaining)) timer = setTimeout(() => interrupt(), Math.max(0, remaining))
  }

  // Latency, IDs and errors by interface, as HTTP and RPC record them.
  const observed = RequestMetrics.observe("grpc")
  const idService: IdgenV1.IdServiceServer = {
    generate: unary((request: IdgenV1.GenerateRequest, caller) =>
      Effect.map(observed(requests.generate(caller, request)), (result): IdgenV1.GenerateResponse => ({
        id: result.ids[0]!,
        algorithm: result.algorithm,
        timestamp: BigInt(result.timestampMs)
      }))
    ),
    batchGenerate: unary((request: IdgenV1.BatchGenerateRequest, caller) =>
      Effect.map(observed(requests.batchGenerate(caller, request)), batchResponse)
    ),
    parse: unary((request: IdgenV1.ParseRequest, caller) =>
      Effect.map(requests.parse(caller, parseRequest(request)), idInfo)
    ),
    healthCheck: unary<IdgenV1.HealthCheckRequest, IdgenV1.HealthCheckResponse>(() =>
      Effect.map(health.report, (report): IdgenV1.HealthCheckResponse => ({
        status: report.status,
        checks: Object.fromEntries(
          Object.entries(report.checks).map(([name, check]) => [name, {
            status: check.status,
            message: check.message ?? ""
          }])
        )
      }))
    )
  }

  const standardHealth = new HealthImplementation({ "": "NOT_SERVING", [idServiceName]: "NOT_SERVING" })
  const setServing = (serving: boolean) => {
    const status = serving ? "SERVING" : "NOT_SERVING"
    standardHealth.setStatus("", status)
    standardHealth.setStatus(idServiceName, status)
  }

  const server = new Grpc.Server({
    // Limits before any work: message size, calls per connection; the key before the message.
    "grpc.max_receive_message_length": config.http.maxBodyBytes,
    "grpc.max_concurrent_streams": config.grpc.maxConcurrentStreams,
    interceptors: [
      GrpcAdmission.interceptor({
        admission,
        maxMessageBytes: config.http.maxBodyBytes,
        keyed: keyedPaths,
        clientIp: ipOf,
        run: (effect, onExit) => void run(effect, { onExit }),
        failedStatus: (cause) => failedStatus(undefined, cause),
        onRefused: (path, metadata, status) => {
          if (!tracing) return
          const span = Tracing.grpcServerSpan(context, path, metadata.getMap() as Headers.Headers)
          Tracing.endGrpcServerSpan(context, span, status.code, status.details)
        },
      })
    ]
  })
  server.addService(IdServiceDefinition, idService)
  standardHealth.addToServer(server)
  new ReflectionService(reflectionDefinition()).addToServer(server)

  const { port } = yield* Effect.acquireRelease(
    // TLS from the same files as HTTP (tls.*), reloaded when they change.
    GrpcListener.listen(server, Tls.grpcServerCredentials(config), {
      host: config.http.host,
      port: config.grpc.port,
      maxConnections: config.grpc.maxConnections,
      firstBytesMillis: config.http.headersTimeoutMillis
    }).pipe(
      Effect.mapError((error) => StartFailure.cannotListen("gRPC", config.http.host, config.grpc.port, error))
    ),
    ({ listener }) =>
      Effect.callback<void>((resume) => {
        setServing(false)
        const force = setTimeout(() => server.forceShutdown(), drainMillis)
        // grpc-js closes its sessions gracefully (no new calls); the listener's close
        // completes once every connection it accepted has ended, i.e. the calls finished.
        server.tryShutdown(() => {})
        listener.close(() => {
          clearTimeout(force)
          resume(Effect.void)
        })
      })
  )

  // The standard health service follows readiness (storage reachable, worker id held).
  yield* health.ready.pipe(
    Effect.tap((ready) => Effect.sync(() => setServing(ready))),
    Effect.repeat(Schedule.spaced("1 second")),
    Effect.forkScoped
  )

  return GrpcServer.of({ port })
})

const batchResponse = (result: GenerateResult): IdgenV1.BatchGenerateResponse => ({
  ids: result.ids as Array<string>,
  algorithm: result.algorithm,
  count: result.ids.length
})

/** proto3 has no absent strings: an empty workspace, group or biz_tag means "not given". */
const parseRequest = (request: IdgenV1.ParseRequest) => ({
  id: request.id,
  ...(request.workspace === "" ? {} : { workspace: request.workspace }),
  ...(request.group === "" ? {} : { group: request.group }),
  ...(request.biz_tag === "" ? {} : { biz_tag: request.biz_tag })
})

const int = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined)

const idInfo = (parsed: ParsedId): IdgenV1.IdInfo => {
  const timestampMs = int(parsed["timestamp_ms"])
  return {
    id: parsed.id,
    algorithm: parsed.algorithm,
    timestamp: typeof parsed["timestamp"] === "string" ? parsed["timestamp"] : undefined,
    timestamp_ms: timestampMs === undefined ? undefined : BigInt(timestampMs),
    datacenter_id: int(parsed["datacenter_id"]),
    worker_id: int(parsed["worker_id"]),
    sequence: int(parsed["sequence"]),
    version: int(parsed["version"])
  }
}

/**
 * The address of a grpc-js peer, for per-IP rate limits: `<address>:<port>` (grpc-js 1.14:
 * `127.0.0.1:5000`, `::1:5000` — the port is the last `:digits`), or the older
 * `ipv4:127.0.0.1:5000`, `ipv6:[::1]:5000`.
 */
const ipOf = (peer: string): string | undefined => {
  const match = /^(?:ipv[46]:)?\[?(.+?)\]?:\d+$/.exec(peer)
  return match === null ? undefined : match[1]
}

/** The repository's `proto/` (the server runs from its checkout; the image copies it). */
const protoDir = resolve(import.meta.dirname, "../../../../proto")

/** What reflection describes: the contract's `.proto` and the standard health service. */
const reflectionDefinition = () =>
  ProtoLoader.loadSync(["idgen/v1/idgen.proto", "health/v1/health.proto"], {
    includeDirs: [protoDir, dirname(dirname(dirname(healthProtoPath)))]
  })
