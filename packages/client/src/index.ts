/**
 * The idgen client: a typed Effect client (`IdgenClient`) and a Promise facade
 * (`IdgenPromiseClient`) over the server's Effect RPC, with failover and local prefetch;
 * and the operator API's typed client (`IdgenAdminClient`, `IdgenAdminPromiseClient`).
 */
export {
  type AdminClientOptions,
  type AdminError,
  type AdminGroups,
  type AdminRequest,
  type AdminResponse,
  IdgenAdminClient,
  type IdgenAdminClientShape
} from "./AdminClient.ts"
export { IdgenAdminPromiseClient, type IdgenAdminPromiseClientShape } from "./AdminPromiseClient.ts"
export { AdminRequestFailed, AllServersUnavailable, NotNumericId } from "./ClientErrors.ts"
export { type ClientError, type ClientOptions, IdgenClient, type IdgenClientShape } from "./IdgenClient.ts"
export { type PrefetchOptions, type PrefetchStats } from "./Prefetch.ts"
export { IdgenPromiseClient } from "./PromiseClient.ts"
export { type TagRef } from "./TagRef.ts"
