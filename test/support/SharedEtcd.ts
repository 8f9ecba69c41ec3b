/**
 * The run's shared etcd cluster, started by the global setup (or given by
 * `IDGEN_TEST_ETCD_ENDPOINTS`). Suites sharing it keep to their own key prefix
 * (`uniquePrefix`), so they never see each other's worker ids.
 */
import { randomBytes } from "node:crypto"
import { inject } from "vitest"

declare module "vitest" {
  export interface ProvidedContext {
    etcdEndpoints: ReadonlyArray<string>
  }
}

/** Client URLs of the shared cluster. */
export const endpoints = (): ReadonlyArray<string> => inject("etcdEndpoints")

/** A key prefix no other suite uses, for `IDGEN_ETCD_PREFIX`. */
export const uniquePrefix = (name: string) => `/idgen-test/${name}-${randomBytes(4).toString("hex")}`
