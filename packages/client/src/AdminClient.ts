/**
 * The typed client of idgen's operator API (`Authorization: Bearer <admin token>`),
 * derived from the HTTP contract with `HttpApiClient.make(Api)`: workspaces, biz_tags, API
 * keys and the audit log (`admin`), the degradation state machine (`degradation`), the
 * configuration and alerts (`operations`). Requests and answers have the contract's
 * snake_case shapes.
 *
 *   const program = Effect.gen(function*() {
 *     const idgen = yield* IdgenAdminClient
 *     yield* idgen.admin.createWorkspace({ payload: { name: "shop" } })
 *     const page = yield* idgen.admin.listApiKeys({ params: { ws: "shop" }, query: {} })
 *   }).pipe(Effect.provide(IdgenAdminClient.layer({ url: "http://127.0.0.1:8080", adminToken })))
 *
 * A call fails with the IDGEN error the server answered (`error.code`, e.g.
 * "IDGEN-COMMON-0008", as well as `_tag`), or `AdminRequestFailed` when no answer came or the
 * answer is not the contract's. The server is the one judge of a request: names and limits are
 * sent as given, and a bad one comes back as its 400 naming the field. Only a value of a type
 * the contract cannot encode at all (a string for a number) fails here, before anything is
 * sent, as `InvalidRequest` naming the field.
 */
import { Errors } from "@idgen/core"
import { Api, WireError } from "@idgen/protocol/http"
import { Context, Duration, Effect, Layer, Schema, type Brand } from "effect"
import { FetchHttpClient, HttpClient, HttpClientError, HttpClientRequest } from "effect/http"
import { HttpApi, HttpApiClient, type HttpApiEndpoint, type HttpApiGroup } from "effect/http-api"
import { AdminRequestFailed } from "./ClientErrors.ts"

export interface AdminClientOptions {
  /** Base URL of one server, e.g. `http://127.0.0.1:8080`. */
  readonly url: string
  /** The server's admin token (`admin.token`, `IDGEN_ADMIN_TOKEN`). */
  readonly adminToken: string
  /** Bound of one call (default 10 s). */
  readonly timeout?: Duration.Input | undefined
}

export type AdminError = Errors.IdgenError | AdminRequestFailed

/** The groups of the operator API. */
export type AdminGroups = "admin" | "degradation" | "operations"

type Groups = typeof Api extends HttpApi.HttpApi<infer _Id, infer G> ? G : never
type EndpointsOf<Group extends AdminGroups> = HttpApiGroup.WithIdentifier<Groups, Group>["endpoints"]
type EndpointOf<Group extends AdminGroups, Id> = Extract<EndpointsOf<Group>[Id & keyof EndpointsOf<Group>], HttpApiEndpoint.ConstraintRequest>

/** Names are branded once decoded; a caller gives them as plain strings (the server checks them). */
type Unbranded<T> = T extends string & Brand.Brand<any> ? string
  : T extends ReadonlyArray<infer I> ? ReadonlyArray<Unbranded<I>>
  : T extends object ? { readonly [K in keyof T]: Unbranded<T[K]> }
  : T

/** What a call takes: `params`, `query`, `payload` as the endpoint declares them. */
export type AdminRequest<E extends HttpApiEndpoint.ConstraintRequest> = Unbranded<
  HttpApiEndpoint.ClientRequest<E["~Params"], E["~Query"], E["~Payload"], E["~Headers"], "decoded-only">
>
/** What a call answers. */
export type AdminResponse<E extends HttpApiEndpoint.ConstraintRequest> = HttpApiClient.SuccessType<E["~Success"]>

export type IdgenAdminClientShape = {
  readonly [Group in AdminGroups]: {
    readonly [Id in keyof EndpointsOf<Group>]: (
      request: AdminRequest<EndpointOf<Group, Id>>
    ) => Effect.Effect<AdminResponse<EndpointOf<Group, Id>>, AdminError>
  }
}

export class IdgenAdminClient extends Context.Service<IdgenAdminClient, IdgenAdminClientShape>()(
  "@idgen/client/IdgenAdminClient"
) {
  static readonly layer = (options: AdminClientOptions): Layer.Layer<IdgenAdminClient> =>
    Layer.effect(IdgenAdminClient, make(options))
}

/** The contract with requests encoded unchecked: the server validates them and names the field. */
const ClientApi = Api
  .annotate(HttpApi.ParamsParseOptions, { disableChecks: true })
  .annotate(HttpApi.QueryParseOptions, { disableChecks: true })
  .annotate(HttpApi.PayloadParseOptions, { disableChecks: true })

const groups: ReadonlyArray<AdminGroups> = ["admin", "degradation", "operations"]

export type Calls<F> = Readonly<Record<string, Readonly<Record<string, F>>>>
export type AnyCall = (request: unknown) => Effect.Effect<unknown, unknown>

/** `f` applied to every call of every group. */
export const mapCalls = <F, G>(client: Calls<F>, f: (call: F) => G): Calls<G> =>
  Object.fromEntries(
    Object.entries(client).map(([group, calls]) => [group, Object.fromEntries(Object.entries(calls).map(([name, call]) => [name, f(call)]))])
  )

export const make = (options: AdminClientOptions): Effect.Effect<IdgenAdminClientShape> => {
  const url = options.url.replace(/\/+$/, "")
  const timeout = Duration.fromInputUnsafe(options.timeout ?? "10 seconds")
  const noAnswer = () => Effect.fail(new AdminRequestFailed({ message: `no answer from ${url} within ${Duration.format(timeout)}`, url }))
  return HttpApiClient.make(ClientApi, {
    baseUrl: url,
    transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(options.adminToken)),
    // An answer the contract cannot decode is the server's; any other SchemaError is the request's.
    transformResponse: Effect.mapError((error) =>
      Schema.isSchemaError(error) ? new AdminRequestFailed({ message: `unexpected answer from ${url}: ${error.message}`, url }) : error
    )
  }).pipe(
    Effect.map((client) => {
      const all = client as unknown as Calls<AnyCall>
      const admin = Object.fromEntries(groups.map((group) => [group, all[group]!]))
      return mapCalls(admin, (call): AnyCall => (request) =>
        call(request).pipe(
          Effect.timeoutOrElse({ duration: timeout, orElse: noAnswer }),
          Effect.catch((error) => toAdminError(error, url))
        )) as unknown as IdgenAdminClientShape
    }),
    Effect.provide(FetchHttpClient.layer)
  )
}

const isIdgenError = Schema.is(Errors.IdgenError)
const isErrorBody = Schema.is(WireError.ErrorBody)

/**
 * Every failure as an IDGEN error or `AdminRequestFailed`. An IDGEN body is read whatever
 * status carried it (a status the contract does not list for the endpoint included).
 */
const toAdminError = (error: unknown, url: string): Effect.Effect<never, AdminError> => {
  if (isIdgenError(error) || error instanceof AdminRequestFailed) return Effect.fail(error)
  const failed = (message: string): Effect.Effect<never, AdminError> => Effect.fail(new AdminRequestFailed({ message, url }))
  // The caller's input has a type the contract cannot encode (checks are the server's): not sent.
  if (Schema.isSchemaError(error)) return Effect.fail(new Errors.InvalidRequest({ message: `request not sent: ${error.message}` }))
  if (!HttpClientError.isHttpClientError(error)) return failed(`unexpected answer from ${url}: ${String(error)}`)
  const response = error.response
  if (response === undefined) {
    // fetch says only "fetch failed"; the cause (ECONNREFUSED, ...) is what the caller needs.
    const cause = (error.reason as { readonly cause?: { readonly cause?: { code?: string; message?: string } } }).cause?.cause
    return failed(`request to ${url} failed: ${cause?.code ?? cause?.message ?? error.message}`)
  }
  return response.text.pipe(
    Effect.orElseSucceed(() => ""),
    Effect.flatMap((text) => {
      const idgenError = idgenErrorOf(text)
      return idgenError !== undefined
        ? Effect.fail(idgenError)
        : failed(`unexpected answer from ${url}: HTTP ${response.status} ${text.slice(0, 200)}`.trimEnd())
    })
  )
}

const idgenErrorOf = (text: string): Errors.IdgenError | undefined => {
  try {
    const body: unknown = JSON.parse(text)
    return isErrorBody(body) ? WireError.fromBody(body) : undefined
  } catch {
    return undefined
  }
}
