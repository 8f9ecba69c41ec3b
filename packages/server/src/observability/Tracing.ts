/**
 * Traces. With `tracing.otlp_endpoint` (`OTEL_EXPORTER_OTLP_ENDPOINT`) set, spans are
 * exported over OTLP/HTTP (JSON) to `{endpoint}/v1/traces` by Effect's native exporter;
 * without it the native tracer stays in place, which the HTTP server treats as "tracing
 * off" (no server spans, the single-frame request path).
 *
 * Where spans come from: the HTTP router's tracer middleware (one server span per request,
 * parent taken from W3C `traceparent` / B3 headers), `serverSpan` below for requests the
 * generate fast path answers outside the router, `grpcServerSpan` for gRPC calls (parent
 * from the same headers as call metadata), the RPC server's own span per request (parent
 * from the Effect client's message, see rpc/RpcRoutes.ts), and `Effect.fn` / `withSpan` in
 * the services underneath (TagResolver, repositories, SQL statements, segment refills).
 */
import { Clock, Context, Effect, Exit, Layer, Option, Tracer } from "effect"
import { FetchHttpClient, type Headers, HttpMiddleware, HttpTraceContext } from "effect/http"
import { OtlpExporter, OtlpSerialization, OtlpTracer } from "effect/observability"
import type { IncomingHttpHeaders } from "node:http"
import { ServerConfig } from "../config/ServerConfig.ts"

/** The exporting tracer when an endpoint is configured, else nothing (the native tracer). */
export const layer = Layer.unwrap(
  Effect.map(ServerConfig, (config) => {
    const tracing = config.tracing
    if (tracing.otlpEndpoint === undefined) return Layer.empty
    const tracer = OtlpTracer.make({
      url: tracesUrl(tracing.otlpEndpoint),
      resource: {
        serviceName: tracing.serviceName,
        attributes: {
          "service.instance.id": config.node.name,
          "idgen.datacenter_id": config.node.datacenterId
        }
      },
      headers: tracing.otlpHeaders,
      exportInterval: "1 second"
    })
    const exporter = Layer.effect(Tracer.Tracer, Effect.map(tracer, (t) => parentBasedRatio(t, tracing.sampleRatio))).pipe(
      Layer.provideMerge(OtlpExporter.layerFlusher),
      Layer.provide(OtlpSerialization.layerJson),
      Layer.provide(FetchHttpClient.layer)
    )
    // Scrapes and liveness probes every few seconds would drown the request traces.
    return Layer.merge(exporter, HttpMiddleware.layerTracerDisabledForUrls(untracedUrls))
  })
)

/** Paths whose requests get no server span (they have no child spans either). */
export const untracedUrls: ReadonlyArray<string> = ["/metrics", "/live"]

/**
 * OpenTelemetry's `parentbased_traceidratio` sampler: a span with a parent follows the
 * parent's decision (a caller's `traceparent` flags included); a root span is sampled with
 * probability `ratio`. Unsampled spans still carry the trace context but are not exported,
 * which is where the cost is.
 */
export const parentBasedRatio = (tracer: Tracer.Tracer, ratio: number): Tracer.Tracer =>
  ratio >= 1 ? tracer : Tracer.make({
    ...tracer,
    span(options) {
      const root = options.root || Option.isNone(options.parent)
      return tracer.span({ ...options, sampled: options.sampled && (!root || Math.random() < ratio) })
    }
  })

/** OTLP/HTTP convention: the base endpoint gets `/v1/traces`; a full traces URL is kept. */
export const tracesUrl = (endpoint: string): string =>
  /\/v1\/traces\/?$/.test(endpoint) ? endpoint : `${endpoint.replace(/\/+$/, "")}/v1/traces`

/** Whether spans recorded in `context` go anywhere (an exporter is installed). */
export const isEnabled = (context: Context.Context<never>): boolean =>
  Context.get(context, Tracer.Tracer) !== Tracer.nativeTracer

/**
 * A server span for a request handled outside the router, shaped like the router's (kind
 * server, caller's trace context honoured, the same HTTP attributes), so traces look the
 * same whichever path answered. End it with `endServerSpan`.
 */
export const serverSpan = (
  context: Context.Context<never>,
  method: string,
  route: string,
  headers: IncomingHttpHeaders
): Tracer.Span => {
  const span = startServerSpan(context, `${method} ${route}`, headers as Headers.Headers)
  span.attribute("http.request.method", method)
  span.attribute("http.route", route)
  span.attribute("url.path", route)
  const userAgent = headers["user-agent"]
  if (userAgent !== undefined) span.attribute("user_agent.original", userAgent)
  return span
}

/** A kind-server span named `name`, child of the caller's span found in `headers` (W3C or B3) when there is one. */
const startServerSpan = (context: Context.Context<never>, name: string, headers: Headers.Headers): Tracer.Span => {
  const parent = HttpTraceContext.fromHeaders(headers)
  return Context.get(context, Tracer.Tracer).span({
    name,
    parent,
    annotations: Context.empty(),
    links: [],
    startTime: Context.get(context, Clock.Clock).currentTimeNanosUnsafe(),
    kind: "server",
    root: false,
    sampled: Option.isSome(parent) ? parent.value.sampled : true
  })
}

/**
 * The server span of a gRPC call (`path` is grpc-js' `/idgen.v1.IdService/Generate`), with
 * OpenTelemetry's RPC attributes. `metadata` is the call's metadata as a header record
 * (`traceparent`, `tracestate`, B3 keys): gRPC carries W3C trace context as metadata entries
 * named like the HTTP headers. (Effect's external span keeps no `tracestate`; idgen makes no
 * outgoing call that would forward it.) End it with `endGrpcServerSpan`.
 */
export const grpcServerSpan = (context: Context.Context<never>, path: string, metadata: Headers.Headers): Tracer.Span => {
  const slash = path.lastIndexOf("/")
  const service = path.slice(1, slash)
  const method = path.slice(slash + 1)
  const span = startServerSpan(context, `grpc ${service}/${method}`, metadata)
  span.attribute("rpc.system", "grpc")
  span.attribute("rpc.service", service)
  span.attribute("rpc.method", method)
  return span
}

/**
 * gRPC status codes that mark a server span failed (OpenTelemetry's RPC conventions: the
 * server's own faults, not the caller's mistakes): UNKNOWN, DEADLINE_EXCEEDED,
 * UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS.
 */
const grpcServerErrors: ReadonlySet<number> = new Set([2, 4, 12, 13, 14, 15])

/** Ends a `grpcServerSpan` with the call's status code. */
export const endGrpcServerSpan = (
  context: Context.Context<never>,
  span: Tracer.Span,
  code: number,
  error?: unknown
): void => {
  span.attribute("rpc.grpc.status_code", code)
  span.end(
    Context.get(context, Clock.Clock).currentTimeNanosUnsafe(),
    grpcServerErrors.has(code) ? Exit.fail(error ?? `gRPC status ${code}`) : Exit.void
  )
}

/** Ends a `serverSpan`: 5xx answers mark it failed, as OpenTelemetry's HTTP conventions ask. */
export const endServerSpan = (
  context: Context.Context<never>,
  span: Tracer.Span,
  status: number,
  error?: unknown
): void => {
  span.attribute("http.response.status_code", status)
  span.end(
    Context.get(context, Clock.Clock).currentTimeNanosUnsafe(),
    status >= 500 ? Exit.fail(error ?? `HTTP ${status}`) : Exit.void
  )
}
