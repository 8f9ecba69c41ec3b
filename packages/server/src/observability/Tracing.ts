/**
 * Traces. With `tracing.otlp_endpoint` (`OTEL_EXPORTER_OTLP_ENDPOINT`) set, spans are
 * exported over OTLP/HTTP (JSON) to `{endpoint}/v1/traces` by Effect's native exporter;
 * without it the native tracer stays in place, which the HTTP server treats as "tracing
 * off" (no server spans, the single-frame request path).
 *
 * Where spans come from: the HTTP router's tracer middleware (one server span per request,
 * parent taken from W3C `traceparent` / B3 headers), `serverSpan` below for requests the
 * generate fast path answers outside the router, and `Effect.fn` / `withSpan` in the
 * services underneath (TagResolver, repositories, SQL statements, segment refills).
 */
import { Clock, Context, Effect, Exit, Layer, Option, Tracer } from "effect"
import { FetchHttpClient, type Headers, HttpMiddleware, HttpTraceContext } from "effect/http"
import { OtlpExporter, OtlpSerialization, OtlpTracer } from "effect/observability"
import type { IncomingHttpHeaders } from "node:http"
import { ServerConfig } from "../config/ServerConfig.ts"

/** The exporting tracer when an endpoint is configured, else nothing (the native tracer). */
export const TracingLive = Layer.unwrap(
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
  const tracer = Context.get(context, Tracer.Tracer)
  const parent = HttpTraceContext.fromHeaders(headers as Headers.Headers)
  const span = tracer.span({
    name: `${method} ${route}`,
    parent,
    annotations: Context.empty(),
    links: [],
    startTime: Context.get(context, Clock.Clock).currentTimeNanosUnsafe(),
    kind: "server",
    root: false,
    sampled: Option.isSome(parent) ? parent.value.sampled : true
  })
  span.attribute("http.request.method", method)
  span.attribute("http.route", route)
  span.attribute("url.path", route)
  const userAgent = headers["user-agent"]
  if (userAgent !== undefined) span.attribute("user_agent.original", userAgent)
  return span
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
