/**
 * The served HTTP stack: the HttpApi routes, `/openapi.json`, `/docs` (Scalar),
 * `/metrics` (`MetricsEndpoint.ts`, unless it has a port of its own), all behind one global middleware that assigns the request
 * id and turns anything unanswered into an IDGEN error body. Node's `http` server listens
 * on `ServerConfig.http`; the per-request logger is off (hot path).
 */
import { Api } from "@idgen/protocol/http"
import { Clock, Effect, Layer, Scope } from "effect"
import { HttpRouter } from "effect/http"
import { HttpApiBuilder, HttpApiScalar } from "effect/http-api"
import * as NodeServer from "../net/NodeServer.ts"
import * as MetricsEndpoint from "../observability/MetricsEndpoint.ts"
import { ServerConfig } from "../config/ServerConfig.ts"
import * as FrameLimit from "../rpc/FrameLimit.ts"
import * as RpcRoutes from "../rpc/RpcRoutes.ts"
import * as AdminHttp from "./AdminHttp.ts"
import * as ClientErrors from "./ClientErrors.ts"
import { closeUnread } from "./CloseUnread.ts"
import * as DegradationHttp from "./DegradationHttp.ts"
import { recover } from "./ErrorBoundary.ts"
import * as IdsFastPath from "./IdsFastPath.ts"
import * as IdsHttp from "./IdsHttp.ts"
import { withRequestId } from "../net/RequestId.ts"
import * as OperationsHttp from "./OperationsHttp.ts"
import * as SystemHttp from "./SystemHttp.ts"
import * as Tls from "../tls/Tls.ts"

/**
 * Request id on every response; error bodies for whatever no route answered; the
 * connection closed after an error answered before the request body arrived.
 */
const requestBoundary = HttpRouter.middleware((app) => withRequestId(closeUnread(recover(app))), { global: true })

/** The HttpApi endpoints and `/openapi.json`. */
const apiRoutes = HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide([IdsHttp.layer, AdminHttp.layer, DegradationHttp.layer, OperationsHttp.layer, SystemHttp.layer])
)

/**
 * `/docs`, Scalar's API reference page. Its script is a 3 MB module whose source and inlined
 * copy take 12 MB of the heap for the node's lifetime, so it is loaded by the first request
 * for the page (in the node's scope, once), not when the node starts: most nodes never
 * serve it.
 */
const docsRoute = HttpRouter.use((router) =>
  Effect.gen(function*() {
    const scope = yield* Scope.Scope
    const page = yield* Effect.cached(
      HttpRouter.toHttpEffect(HttpApiScalar.layer(Api, { path: "/docs" })).pipe(Scope.provide(scope))
    )
    yield* router.add("GET", "/docs", Effect.flatten(page))
  })
)

/** Every route of the HTTP port, to be served by `HttpRouter.serve` (add RPC routes next to it). */
export const layerRoutes = Layer.mergeAll(
  apiRoutes,
  docsRoute,
  MetricsEndpoint.layerRoute,
  requestBoundary
)

/**
 * Node's `http` server (`https` when TLS is configured, see `Tls.ts`) on `ServerConfig.http.host:port`, with the generate fast path
 * (`IdsFastPath`) in front of the router unless `fastPath` is false, and the limits of
 * `http.*`: header and request timeouts, a connection cap, the WebSocket frame size.
 */
export const makeNodeServer = (options: { readonly fastPath: boolean }) =>
  Layer.unwrap(
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const fastPath = options.fastPath ? yield* IdsFastPath.make : undefined
      const server = yield* Tls.nodeServer(config, {
        keepAliveTimeout: 65_000,
        // Slow clients: the headers, then the whole request, within a few seconds; Node
        // checks every connection against these every `connectionsCheckingInterval`.
        headersTimeout: config.http.headersTimeoutMillis,
        requestTimeout: config.http.requestTimeoutMillis,
        connectionsCheckingInterval: Math.min(1000, config.http.headersTimeoutMillis)
      })
      // Connections past the cap are closed as soon as they are accepted.
      server.maxConnections = config.http.maxConnections
      ClientErrors.install(server, yield* Clock.Clock, {
        headersMillis: config.http.headersTimeoutMillis,
        requestMillis: config.http.requestTimeoutMillis
      })
      return NodeServer.layer(
        "HTTP",
        () => (fastPath === undefined ? server : IdsFastPath.install(server, fastPath)),
        // `/rpc/ws` frames are bounded like bodies (larger ones close the socket with 1009, `FrameLimit`).
        {
          host: config.http.host,
          port: config.http.port,
          websocket: { maxPayload: config.http.maxBodyBytes, WebSocket: FrameLimit.webSocketClass(config.http.maxBodyBytes) }
        }
      )
    })
  )

/**
 * Serves `routes` (default: `layerRoutes`) on `ServerConfig.http`, and provides the bound
 * `HttpServer` (its address: the kernel's pick for port 0). The front door (`IdRequests`,
 * `Admission`, `AdminToken`) comes from where the node is wired (`App.ts`), shared with gRPC.
 */
export const serve = <E, R>(routes: Layer.Layer<never, E, R>, options: { readonly fastPath: boolean } = { fastPath: true }) =>
  HttpRouter.serve(routes, { disableLogger: true }).pipe(Layer.provideMerge(makeNodeServer(options)))

/** The HTTP port: the HttpApi routes and the Effect RPC endpoints (`/rpc`, `/rpc/ws`). */
export const layer = serve(Layer.mergeAll(layerRoutes, RpcRoutes.layer))
