/**
 * The operator API client for code that does not use Effect: the calls of
 * `IdgenAdminClient`, as Promises that reject with the same errors (`instanceof
 * Errors.Conflict`, or `error.code === "IDGEN-COMMON-0008"`; `AdminRequestFailed`).
 *
 *   const idgen = IdgenAdminPromiseClient.make({ url: "http://127.0.0.1:8080", adminToken })
 *   await idgen.admin.createWorkspace({ payload: { name: "shop" } })
 *   const { key } = await idgen.admin.createApiKey({ params: { ws: "shop" }, payload: { name: "checkout" } })
 *
 * It holds no connections (each call is one HTTP request), so there is nothing to close.
 */
import { Effect } from "effect"
import {
  type AdminClientOptions,
  type AdminGroups,
  type AnyCall,
  type Calls,
  type IdgenAdminClientShape,
  make,
  mapCalls
} from "./AdminClient.ts"
import { settle } from "./Settle.ts"

type Promised<F> = F extends (request: infer R) => Effect.Effect<infer A, infer _E> ? (request: R) => Promise<A> : never

export type IdgenAdminPromiseClientShape = {
  readonly [Group in AdminGroups]: {
    readonly [Id in keyof IdgenAdminClientShape[Group]]: Promised<IdgenAdminClientShape[Group][Id]>
  }
}

export const IdgenAdminPromiseClient = {
  make: (options: AdminClientOptions): IdgenAdminPromiseClientShape =>
    mapCalls(
      Effect.runSync(make(options)) as unknown as Calls<AnyCall>,
      (call) => (request: unknown) => Effect.runPromiseExit(call(request)).then(settle)
    ) as unknown as IdgenAdminPromiseClientShape
}
