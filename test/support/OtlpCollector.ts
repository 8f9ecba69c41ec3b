/**
 * An in-memory OTLP/HTTP trace collector for tests: accepts `POST /v1/traces` (OTLP JSON,
 * as Effect's exporter sends it) on a free loopback port and keeps every span, flattened
 * with its resource attributes. Closed with the scope.
 */
import { Data, Effect, type Scope } from "effect"
import { createServer } from "node:http"
import { listenLocal } from "./LocalListener.ts"
import { wait } from "./ServerProcess.ts"

export interface CollectedSpan {
  readonly traceId: string
  readonly spanId: string
  /** "" for a root span. */
  readonly parentSpanId: string
  readonly name: string
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  readonly kind: number
  readonly attributes: Readonly<Record<string, unknown>>
  readonly resource: Readonly<Record<string, unknown>>
  readonly status: { readonly code?: number }
}

export class CollectorTimeout extends Data.TaggedError("CollectorTimeout")<{ readonly message: string }> {}

const attributeValue = (value: any): unknown =>
  value?.stringValue ?? value?.intValue ?? value?.doubleValue ?? value?.boolValue ??
    (value?.arrayValue ? value.arrayValue.values?.map(attributeValue) : undefined)

const attributes = (list: ReadonlyArray<any> | undefined) =>
  Object.fromEntries((list ?? []).map((a) => [a.key, attributeValue(a.value)]))

export interface OtlpCollector {
  /** The base endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`). */
  readonly endpoint: string
  readonly spans: () => ReadonlyArray<CollectedSpan>
  /** Polls the collected spans until `find` returns something (bounded). */
  readonly waitFor: <A>(find: (spans: ReadonlyArray<CollectedSpan>) => A | undefined, timeoutMillis?: number) => Effect.Effect<A, CollectorTimeout>
}

export const make: Effect.Effect<OtlpCollector, never, Scope.Scope> = Effect.gen(function*() {
  const collected: Array<CollectedSpan> = []
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      if (req.url !== "/v1/traces") return res.writeHead(404).end()
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString())
        for (const resourceSpans of body.resourceSpans ?? []) {
          const resource = attributes(resourceSpans.resource?.attributes)
          for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
            for (const span of scopeSpans.spans ?? []) {
              collected.push({
                traceId: span.traceId,
                spanId: span.spanId,
                parentSpanId: span.parentSpanId ?? "",
                name: span.name,
                kind: span.kind,
                attributes: attributes(span.attributes),
                resource,
                status: span.status ?? {}
              })
            }
          }
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      } catch {
        res.writeHead(400).end()
      }
    })
  })
  const port = yield* listenLocal(server)
  const waitFor = <A>(find: (spans: ReadonlyArray<CollectedSpan>) => A | undefined, timeoutMillis = 20_000) =>
    Effect.gen(function*() {
      const end = Date.now() + timeoutMillis
      while (true) {
        const found = find(collected)
        if (found !== undefined) return found
        if (Date.now() > end) {
          return yield* new CollectorTimeout({
            message: `not collected within ${timeoutMillis} ms; have ${collected.map((s) => s.name).join(", ")}`
          })
        }
        yield* wait(50)
      }
    })
  return { endpoint: `http://127.0.0.1:${port}`, spans: () => collected, waitFor }
})
