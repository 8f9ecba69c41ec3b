/**
 * The servers a client talks to, with failover.
 *
 * Each endpoint (`http://host:port`) has an RPC client over WebSocket (`/rpc/ws`, the fast
 * one) and one over HTTP (`/rpc`), used when the WebSocket fails while plain HTTP still
 * answers (a proxy that does not pass upgrades, say). A call goes to the first endpoint
 * that is up, in the configured order; when it breaks the connection, times out or answers
 * "unavailable" (an error whose `retryElsewhere` trait is set: IDGEN-COMMON-0005,
 * IDGEN-SEG-1003, IDGEN-SNOW-2003), that endpoint is
 * marked down and the call is retried on the next, until the call's timeout. A background
 * probe (the `HealthCheck` RPC) brings endpoints marked down back once they answer healthy
 * or degraded. Any other IDGEN error is the server's answer and is returned as is.
 *
 * Retrying elsewhere never duplicates an ID: servers share the store, a lost response only
 * leaves a gap.
 */
import { Errors } from "@idgen/core"
import { IdRpcs, Rpcs } from "@idgen/protocol"
import { Cause, Clock, Duration, Effect, Exit, Fiber, Layer, Option, Schedule, type Scope } from "effect"
import { FetchHttpClient, Headers } from "effect/http"
import { RpcClient, type RpcClientError, type RpcGroup, RpcSerialization } from "effect/rpc"
import { Socket } from "effect/socket"
import { AllServersUnavailable } from "./ClientErrors.ts"

export type Client = RpcClient.RpcClient<RpcGroup.Rpcs<typeof IdRpcs>, RpcClientError.RpcClientError>

export interface EndpointOptions {
  readonly endpoints: ReadonlyArray<string>
  readonly apiKey: string
  /** Bound of one call, all retries included. */
  readonly timeout: Duration.Duration
  /** Bound of one attempt on one endpoint. */
  readonly attemptTimeout: Duration.Duration
  /** How often endpoints marked down are probed. */
  readonly healthInterval: Duration.Duration
  /** `websocket` (default): WebSocket first, HTTP when only HTTP answers; `http`: HTTP only. */
  readonly transport: "websocket" | "http"
}

interface Endpoint {
  readonly url: string
  readonly ws: Client | undefined
  readonly http: Client
  /** Whether calls go over HTTP (the WebSocket failed while HTTP answered). */
  useHttp: boolean
  /** Failed and not yet seen healthy again by the probe. */
  down: boolean
  /** While down, calls skip the endpoint until this Unix ms (then try it unprobed). */
  retryAt: number
  lastError: string
}

export interface Endpoints {
  /** Runs `f` on the first endpoint that is up, failing over as described above. */
  readonly call: <A>(
    f: (client: Client, headers: Headers.Headers) => Effect.Effect<A, Errors.IdgenError | RpcClientError.RpcClientError>
  ) => Effect.Effect<A, Errors.IdgenError | AllServersUnavailable>
  /** Endpoint URLs and whether each is currently considered up. */
  readonly status: Effect.Effect<ReadonlyArray<{ readonly url: string; readonly up: boolean; readonly lastError: string }>>
}

/** How long a failed endpoint is skipped before calls try it again without waiting for the probe. */
const downMillis = 5_000

/** Pause between rounds when every endpoint failed, so a call does not spin until its deadline. */
const roundPauseMillis = 50

/**
 * Node's own WebSocket (undici), which — unlike the standard constructor Effect's global
 * layer insists on — takes handshake headers: the server wants the API key on the upgrade.
 */
const nodeWebSocket = Layer.succeed(Socket.WebSocketConstructor)((url, options) =>
  new globalThis.WebSocket(url, options as string | Array<string> | undefined)
)

/**
 * The WebSocket upgrade carries the API key: the server upgrades no one without a valid
 * one. Over HTTP the key stays in each request message, so a refusal is the typed error of
 * each request (a key in the HTTP header would be refused for the whole POST, untyped).
 */
const rpcLayer = (url: string, transport: "websocket" | "http", apiKey: string) =>
  transport === "websocket"
    ? RpcClient.layerProtocolSocket({ pingInterval: "2 seconds" }).pipe(
      Layer.provide(Socket.layerWebSocket(`${url.replace(/^http/, "ws")}/rpc/ws`, { headers: { [Rpcs.apiKeyHeader]: apiKey } })),
      Layer.provide(nodeWebSocket)
    )
    : RpcClient.layerProtocolHttp({ url: `${url}/rpc` }).pipe(Layer.provide(FetchHttpClient.layer))

/** An RPC client for `url`, living as long as the current scope. */
const makeClient = (url: string, transport: "websocket" | "http", apiKey: string) =>
  Effect.flatMap(
    Layer.build(rpcLayer(url, transport, apiKey).pipe(Layer.provide(RpcSerialization.layerNdjson))),
    (context) => RpcClient.make(IdRpcs).pipe(Effect.provideContext(context))
  ) as Effect.Effect<Client, never, Scope.Scope>

export const make = (options: EndpointOptions): Effect.Effect<Endpoints, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const headers = Headers.fromInput({ [Rpcs.apiKeyHeader]: options.apiKey })
    const endpoints: Array<Endpoint> = []
    for (const raw of options.endpoints) {
      const url = raw.replace(/\/+$/, "")
      endpoints.push({
        url,
        ws: options.transport === "websocket" ? yield* makeClient(url, "websocket", options.apiKey) : undefined,
        http: yield* makeClient(url, "http", options.apiKey),
        useHttp: options.transport === "http",
        down: false,
        retryAt: 0,
        lastError: ""
      })
    }

    const markDown = (endpoint: Endpoint, reason: string) => {
      endpoint.down = true
      endpoint.retryAt = clock.currentTimeMillisUnsafe() + downMillis
      endpoint.lastError = reason
    }

    const markUp = (endpoint: Endpoint) => {
      endpoint.down = false
      endpoint.retryAt = 0
    }

    const describe = (cause: Cause.Cause<unknown>): string => {
      const error = Cause.squash(cause)
      return error instanceof Error ? error.message : String(error)
    }

    const scope = yield* Effect.scope

    /**
     * `effect` on a fiber of the client's scope which the caller joins: interrupting the caller
     * (an attempt timing out) interrupts that fiber without waiting for it. An RPC still queued
     * on a WebSocket that never opened takes up to 1 s to be interrupted (its Interrupt message
     * waits for the socket), which would carry the call past its deadline.
     */
    const detached = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          Effect.forkIn(effect, scope, { startImmediately: true }),
          (fiber) => restore(Fiber.join(fiber)).pipe(Effect.onInterrupt(() => Effect.forkIn(Fiber.interrupt(fiber), scope)))
        )
      )

    /**
     * One attempt on one endpoint, over the WebSocket and then maybe HTTP, each bounded by the
     * attempt timeout and by what is left until the call's deadline (Unix ms): the answer, or
     * why the endpoint should be skipped.
     */
    const attempt = <A>(
      endpoint: Endpoint,
      f: (client: Client, headers: Headers.Headers) => Effect.Effect<A, Errors.IdgenError | RpcClientError.RpcClientError>,
      deadline: number
    ): Effect.Effect<Exit.Exit<A, Errors.IdgenError> | string> => {
      const via = (client: Client) =>
        Effect.suspend(() => {
          const remaining = deadline - clock.currentTimeMillisUnsafe()
          if (remaining <= 0) return Effect.succeed(`not tried, the call's timeout had passed`)
          const budget = Duration.millis(Math.min(remaining, Duration.toMillis(options.attemptTimeout)))
          return detached(f(client, headers)).pipe(
            Effect.timeoutOption(budget),
            Effect.exit,
            Effect.map((exit): Exit.Exit<A, Errors.IdgenError> | string => {
              if (Exit.isSuccess(exit)) {
                return Option.isSome(exit.value) ? Exit.succeed(exit.value.value) : `no answer within ${Duration.format(budget)}`
              }
              const failure = Cause.findErrorOption(exit.cause)
              if (failure._tag === "Some") {
                const error = failure.value
                if (error._tag === "RpcClientError") return error.message
                if (Errors.traitsOf(error).retryElsewhere) return `${error._tag}: ${error.message}`
                return Exit.fail(error)
              }
              return describe(exit.cause)
            })
          )
        })
      if (endpoint.useHttp || endpoint.ws === undefined) return via(endpoint.http)
      return Effect.flatMap(via(endpoint.ws), (result) => {
        if (typeof result !== "string") return Effect.succeed(result)
        // The WebSocket failed: if plain HTTP answers, use it for this endpoint from now on.
        return Effect.map(via(endpoint.http), (viaHttp) => {
          if (typeof viaHttp !== "string") endpoint.useHttp = true
          return typeof viaHttp === "string" ? `${result}; over HTTP: ${viaHttp}` : viaHttp
        })
      })
    }

    const call = <A>(
      f: (client: Client, headers: Headers.Headers) => Effect.Effect<A, Errors.IdgenError | RpcClientError.RpcClientError>
    ): Effect.Effect<A, Errors.IdgenError | AllServersUnavailable> =>
      Effect.suspend(() => {
        const deadline = clock.currentTimeMillisUnsafe() + Duration.toMillis(options.timeout)
        const attempts = new Map<string, string>()
        const round = (): Effect.Effect<A, Errors.IdgenError | AllServersUnavailable> => {
          const now = clock.currentTimeMillisUnsafe()
          const up = endpoints.filter((endpoint) => !endpoint.down || endpoint.retryAt <= now)
          // All marked down: try them all anyway; the deadline bounds the call.
          const candidates = up.length > 0 ? up : endpoints
          const next = (i: number): Effect.Effect<A, Errors.IdgenError | AllServersUnavailable> => {
            const remaining = deadline - clock.currentTimeMillisUnsafe()
            if (remaining <= 0) return Effect.fail(allDown(attempts))
            if (i >= candidates.length) {
              return Effect.sleep(Math.min(roundPauseMillis, remaining)).pipe(Effect.andThen(round))
            }
            const endpoint = candidates[i]!
            return Effect.flatMap(attempt(endpoint, f, deadline), (result) => {
              if (typeof result !== "string") {
                if (endpoint.down) markUp(endpoint)
                return result
              }
              attempts.set(endpoint.url, result)
              markDown(endpoint, result)
              return next(i + 1)
            })
          }
          return next(0)
        }
        return round()
      })

    const allDown = (attempts: Map<string, string>) =>
      new AllServersUnavailable({
        message: `No idgen server answered within ${Duration.format(options.timeout)}: ` +
          endpoints.map((e) => `${e.url} (${attempts.get(e.url) ?? (e.lastError || "not tried")})`).join(", "),
        endpoints: endpoints.map((e) => e.url),
        attempts: endpoints.map((e) => ({ endpoint: e.url, error: attempts.get(e.url) ?? e.lastError }))
      })

    const healthy = (client: Client) =>
      client.HealthCheck().pipe(
        Effect.timeoutOption(options.attemptTimeout),
        Effect.map((report) => Option.isSome(report) && report.value.status !== "unhealthy"),
        Effect.catchCause(() => Effect.succeed(false))
      )

    // Health-based recovery: probe what is marked down (healthy or degraded brings it back),
    // and move endpoints that fell back to HTTP back to their WebSocket once it answers.
    const probe = Effect.forEach(endpoints, (endpoint) =>
      Effect.gen(function*() {
        if (endpoint.useHttp && endpoint.ws !== undefined && (yield* healthy(endpoint.ws))) {
          endpoint.useHttp = false
          markUp(endpoint)
        } else if (endpoint.down && (yield* healthy(endpoint.useHttp ? endpoint.http : endpoint.ws ?? endpoint.http))) {
          markUp(endpoint)
        }
      }), { concurrency: "unbounded", discard: true })
    yield* probe.pipe(Effect.repeat(Schedule.spaced(options.healthInterval)), Effect.forkScoped)

    const status = Effect.sync(() => endpoints.map((e) => ({ url: e.url, up: !e.down, lastError: e.lastError })))

    return { call, status }
  })
