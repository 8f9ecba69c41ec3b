/**
 * The validated, effective configuration of one node (TOML file overlaid by environment).
 * Loading and validation live in `ConfigLoader.ts`.
 */
import { Context, type Redacted } from "effect"

export interface ServerConfigShape {
  readonly http: {
    readonly host: string
    readonly port: number
    /** Request bodies above this are refused with IDGEN-COMMON-0001. */
    readonly maxBodyBytes: number
  }
  readonly grpc: { readonly port: number }
  readonly admin: {
    /** Unset → generated at start-up and printed once (embedded default only). */
    readonly token: Redacted.Redacted<string> | undefined
  }
  readonly database: {
    /** Unset → embedded PostgreSQL-compatible store under `dataDir`. */
    readonly url: Redacted.Redacted<string> | undefined
    readonly dataDir: string
    readonly maxConnections: number
  }
  readonly redis: { readonly url: Redacted.Redacted<string> | undefined }
  readonly etcd: { readonly endpoints: ReadonlyArray<string> }
  readonly node: {
    /** Identifies this process in audit rows and logs. */
    readonly name: string
    readonly datacenterId: number
    readonly workerId: number
  }
  readonly snowflake: {
    /** Unix ms of the layout's epoch; a cluster must share one. */
    readonly epochMs: number
  }
  readonly segment: {
    /** R: datacenter d owns [d*R + 1, (d+1)*R]. */
    readonly rangeSize: number
    /** Base step of new biz_tags. */
    readonly defaultStep: number
    /** Fraction of the current segment consumed that triggers preloading the next one. */
    readonly preloadThreshold: number
    /** A segment should last about this long at the observed rate. */
    readonly targetSegmentSeconds: number
    /** Upper bound of the dynamic step. */
    readonly maxStep: number
  }
  readonly auth: {
    /** How long a verified key is trusted locally; bounds revocation delay on this node. */
    readonly cacheTtlMillis: number
  }
}

export class ServerConfig extends Context.Service<ServerConfig, ServerConfigShape>()(
  "@idgen/server/config/ServerConfig"
) {}
